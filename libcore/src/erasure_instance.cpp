// liberasurecode instances, their backends and errors, and the choice of the
// engine that codes with them (erasure_engine.hpp).
#include <climits>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

#include <erasurecode_version.h>

#include "erasure_engine.hpp"

namespace codex::erasure_internal {

namespace {

// Measured here (64 KiB blocks, K=4 M=2): ISA-L 15-30 GB/s, jerasure_rs_vand
// ~11, jerasure_rs_cauchy ~4, liberasurecode_rs_vand ~1.
constexpr Backend kBackends[] = {
    {"isa_l_rs_cauchy", EC_BACKEND_ISA_L_RS_CAUCHY},
    {"isa_l_rs_vand", EC_BACKEND_ISA_L_RS_VAND},
    {"jerasure_rs_vand", EC_BACKEND_JERASURE_RS_VAND},
    {"jerasure_rs_cauchy", EC_BACKEND_JERASURE_RS_CAUCHY},
    {"liberasurecode_rs_vand", EC_BACKEND_LIBERASURECODE_RS_VAND},
};

// Only liberasurecode_rs_vand keeps global state its instances share.
bool is_shared_backend(const Backend& backend) {
  return backend.id == EC_BACKEND_LIBERASURECODE_RS_VAND;
}

// Shared instances by (backend, k, m); guarded by liberasurecode_mutex().
std::map<std::tuple<int, std::uint32_t, std::uint32_t>, int>& shared_instances() {
  static auto* instances = new std::map<std::tuple<int, std::uint32_t, std::uint32_t>, int>();
  return *instances;
}

Errc errc_for(int rc) {
  switch (-rc) {
    case EBACKENDINITERR:
    case EINVALIDPARAMS:
    case EBACKENDNOTAVAIL:
    case EBACKENDNOTSUPP: return Errc::usage;
    default: return Errc::failure;
  }
}

}  // namespace

std::span<const Backend> backend_table() { return kBackends; }

const Backend* find_backend(std::string_view name) {
  for (const Backend& backend : kBackends)
    if (name == backend.name) return &backend;
  return nullptr;
}

std::mutex& liberasurecode_mutex() {
  static auto* mutex = new std::mutex();  // never destroyed: instances outlive statics
  return *mutex;
}

bool backend_loads(const Backend& backend) {
  // liberasurecode_backend_available dlopens and dlcloses the backend's library.
  static int known[EC_BACKENDS_MAX] = {};  // 0 unknown, 1 loads, -1 does not
  std::lock_guard lock(liberasurecode_mutex());
  int& answer = known[backend.id];
  if (answer == 0) answer = liberasurecode_backend_available(backend.id) == 1 ? 1 : -1;
  return answer == 1;
}

std::string describe_liberasurecode_error(int rc) {
  struct Meaning {
    int code;
    const char* name;
    const char* text;
  };
  static constexpr Meaning kMeanings[] = {
      {EBACKENDNOTSUPP, "EBACKENDNOTSUPP", "backend not supported"},
      {EECMETHODNOTIMPL, "EECMETHODNOTIMPL", "method not implemented"},
      {EBACKENDINITERR, "EBACKENDINITERR", "the backend refused to initialise with these parameters"},
      {EBACKENDINUSE, "EBACKENDINUSE", "backend in use"},
      {EBACKENDNOTAVAIL, "EBACKENDNOTAVAIL", "backend library not available"},
      {EBADCHKSUM, "EBADCHKSUM", "bad checksum"},
      {EINVALIDPARAMS, "EINVALIDPARAMS", "invalid parameters"},
      {EBADHEADER, "EBADHEADER", "bad fragment header"},
      {EINSUFFFRAGS, "EINSUFFFRAGS", "insufficient fragments"},
  };
  for (const Meaning& meaning : kMeanings)
    if (-rc == meaning.code) return fmt::format("{} {} ({})", rc, meaning.name, meaning.text);
  if (rc < 0 && -rc < 200) return fmt::format("{} ({})", rc, std::strerror(-rc));
  return fmt::format("{}", rc);
}

Result<Instance> Instance::create(const Backend& backend, std::uint32_t k, std::uint32_t m) {
  std::lock_guard lock(liberasurecode_mutex());
  const bool shared = is_shared_backend(backend);
  auto key = std::make_tuple(static_cast<int>(backend.id), k, m);
  if (shared) {
    auto found = shared_instances().find(key);
    if (found != shared_instances().end()) return Instance(found->second, true);
  }
  ec_args args{};
  args.k = static_cast<int>(k);
  args.m = static_cast<int>(m);
  args.hd = static_cast<int>(m);
  args.ct = CHKSUM_NONE;  // so fragment headers depend on the geometry alone
  int descriptor = liberasurecode_instance_create(backend.id, &args);
  if (descriptor <= 0)
    return make_error(errc_for(descriptor), "liberasurecode refused backend '{}' with K={} M={}: {}",
                      backend.name, k, m, describe_liberasurecode_error(descriptor));
  if (shared) shared_instances().emplace(key, descriptor);
  return Instance(descriptor, shared);
}

Instance::Instance(Instance&& other) noexcept
    : descriptor_(std::exchange(other.descriptor_, -1)), shared_(other.shared_) {}

Instance& Instance::operator=(Instance&& other) noexcept {
  if (this != &other) {
    Instance dropped(std::move(*this));
    descriptor_ = std::exchange(other.descriptor_, -1);
    shared_ = other.shared_;
  }
  return *this;
}

Instance::~Instance() {
  if (descriptor_ <= 0 || shared_) return;
  std::lock_guard lock(liberasurecode_mutex());
  liberasurecode_instance_destroy(descriptor_);
}

std::unique_lock<std::mutex> Instance::lock() const {
  if (!shared_) return {};
  return std::unique_lock(liberasurecode_mutex());
}

bool backend_calls_supported() {
  return liberasurecode_get_version() == static_cast<std::uint32_t>(LIBERASURECODE_VERSION);
}

namespace {

// liberasurecode splits k*block_size bytes into k fragments padded to the
// backend's alignment; a fragment payload is a block only if no padding is
// needed.
Status check_block_size(const Instance& instance, const Geometry& geometry) {
  const std::uint64_t data_len = std::uint64_t{geometry.k} * geometry.block_size;
  if (geometry.block_size == 0 || data_len > INT_MAX)
    return make_error(Errc::usage, "block size {} is out of range for K={} (K x block size must be below 2 GiB)",
                      geometry.block_size, geometry.k);
  const int descriptor = instance.descriptor();
  const int aligned = liberasurecode_get_aligned_data_size(descriptor, data_len);
  const int minimum = liberasurecode_get_minimum_encode_size(descriptor);
  if (aligned < 0 || minimum < 0)
    return make_error(Errc::failure, "liberasurecode could not size fragments for backend '{}': {}",
                      geometry.backend->name, describe_liberasurecode_error(aligned < 0 ? aligned : minimum));
  if (static_cast<std::uint64_t>(aligned) != data_len || data_len < static_cast<std::uint64_t>(minimum)) {
    const int per_k = liberasurecode_get_aligned_data_size(descriptor, geometry.k);
    const std::uint64_t multiple = per_k > 0 ? static_cast<std::uint64_t>(per_k) / geometry.k : 0;
    return make_error(Errc::usage, "block size {} does not suit backend '{}': it needs a multiple of {} bytes",
                      geometry.block_size, geometry.backend->name, multiple);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<CodingEngine>> open_engine(const Geometry& geometry, EngineKind kind) {
  CODEX_TRY_ASSIGN(Instance instance, Instance::create(*geometry.backend, geometry.k, geometry.m));
  CODEX_TRY(check_block_size(instance, geometry));
  if (kind == EngineKind::fragments || (kind == EngineKind::automatic && !backend_calls_supported()))
    return open_fragments_engine(std::move(instance), geometry);
  auto engine = open_backend_calls_engine(std::move(instance), geometry);
  if (engine.ok() || kind == EngineKind::backend_calls) return engine;
  // The backend struct did not look as compiled: fall back to the documented API.
  CODEX_TRY_ASSIGN(Instance again, Instance::create(*geometry.backend, geometry.k, geometry.m));
  return open_fragments_engine(std::move(again), geometry);
}

}  // namespace codex::erasure_internal
