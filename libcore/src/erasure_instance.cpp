// liberasurecode instances, their backends and errors, and the choice of the
// engine that codes with them (erasure_engine.hpp).
#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <erasurecode_version.h>

#include "erasure_engine.hpp"

namespace codex::erasure_internal {

namespace {

// Encode rates here (64 KiB blocks in cache, K=4 M=2, bench/erasure_bench.cpp):
// ISA-L ~35 GB/s, jerasure_rs_vand ~11, jerasure_rs_cauchy ~7,
// liberasurecode_rs_vand ~1.
constexpr Backend kBackends[] = {
    {"isa_l_rs_cauchy", EC_BACKEND_ISA_L_RS_CAUCHY},
    {"isa_l_rs_vand", EC_BACKEND_ISA_L_RS_VAND},
    {"jerasure_rs_vand", EC_BACKEND_JERASURE_RS_VAND},
    {"jerasure_rs_cauchy", EC_BACKEND_JERASURE_RS_CAUCHY},
    {"liberasurecode_rs_vand", EC_BACKEND_LIBERASURECODE_RS_VAND},
};

// Backends whose instances share global tables (see erasure_engine.hpp).
bool has_global_state(const Backend& backend) {
  return backend.id != EC_BACKEND_ISA_L_RS_CAUCHY && backend.id != EC_BACKEND_ISA_L_RS_VAND;
}

// Pooled instances by (backend, k, m); guarded by liberasurecode_mutex().
std::map<std::tuple<int, std::uint32_t, std::uint32_t>, int>& pooled_instances() {
  static auto* instances = new std::map<std::tuple<int, std::uint32_t, std::uint32_t>, int>();
  return *instances;
}

// Backend libraries initialise global tables lazily on their first coding
// calls (gf-complete's fields under jerasure, ISA-L's CPU dispatch), and
// first calls in two threads race (helgrind: gf_t pointers published before
// they are filled). So every new instance codes and decodes one small group
// while liberasurecode_mutex() is held exclusively; the library stays loaded,
// with its tables, as long as any instance lives.
void warm_up(int descriptor, std::uint32_t k, std::uint32_t m) {
  const int per_k = liberasurecode_get_aligned_data_size(descriptor, k);
  const int minimum = liberasurecode_get_minimum_encode_size(descriptor);
  if (per_k <= 0 || minimum < 0) return;
  const std::uint64_t block_size = std::max<std::uint64_t>(64, static_cast<std::uint64_t>(per_k) / k);
  const std::vector<char> input(std::max<std::uint64_t>(k * block_size, static_cast<std::uint64_t>(minimum)), 7);
  char** data = nullptr;
  char** parity = nullptr;
  std::uint64_t fragment_size = 0;
  if (liberasurecode_encode(descriptor, input.data(), input.size(), &data, &parity, &fragment_size) != 0 ||
      data == nullptr || parity == nullptr)
    return;
  // Without data row 0 and, if there are two parity rows, parity row k: both
  // the data and the parity paths of the backend run once.
  const std::uint32_t lost_parity = m >= 2 ? k : 0;
  std::vector<char*> kept;
  for (std::uint32_t r = 1; r < k + m && kept.size() < k; ++r)
    if (r != lost_parity) kept.push_back(r < k ? data[r] : parity[r - k]);
  char* decoded = nullptr;
  std::uint64_t decoded_size = 0;
  if (liberasurecode_decode(descriptor, kept.data(), static_cast<int>(k), fragment_size, 0, &decoded,
                            &decoded_size) == 0)
    liberasurecode_decode_cleanup(descriptor, decoded);
  std::vector<char> rebuilt(fragment_size);
  liberasurecode_reconstruct_fragment(descriptor, kept.data(), static_cast<int>(k), fragment_size,
                                      static_cast<int>(lost_parity), rebuilt.data());
  clear_upper_vector_state();
  liberasurecode_encode_cleanup(descriptor, data, parity);
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

std::shared_mutex& liberasurecode_mutex() {
  static auto* mutex = new std::shared_mutex();  // never destroyed: instances outlive statics
  return *mutex;
}

CallLock::CallLock(Mode mode) : mode_(mode) {
  if (mode_ == Mode::shared) liberasurecode_mutex().lock_shared();
  if (mode_ == Mode::exclusive) liberasurecode_mutex().lock();
}

CallLock::~CallLock() {
  if (mode_ == Mode::shared) liberasurecode_mutex().unlock_shared();
  if (mode_ == Mode::exclusive) liberasurecode_mutex().unlock();
}

#if defined(__x86_64__)
__attribute__((target("avx"))) static void zero_upper() { _mm256_zeroupper(); }

void clear_upper_vector_state() {
  static const bool has_avx = __builtin_cpu_supports("avx");
  if (has_avx) zero_upper();
}
#else
void clear_upper_vector_state() {}
#endif

bool backend_loads(const Backend& backend) {
  // liberasurecode_backend_available dlopens and dlcloses the backend's library.
  static int known[EC_BACKENDS_MAX] = {};  // 0 unknown, 1 loads, -1 does not
  CallLock lock(CallLock::Mode::exclusive);
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
  CallLock lock(CallLock::Mode::exclusive);
  const bool pooled = has_global_state(backend);
  auto key = std::make_tuple(static_cast<int>(backend.id), k, m);
  if (pooled) {
    auto found = pooled_instances().find(key);
    if (found != pooled_instances().end()) return Instance(found->second, true);
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
  warm_up(descriptor, k, m);
  if (pooled) pooled_instances().emplace(key, descriptor);
  return Instance(descriptor, pooled);
}

Instance::Instance(Instance&& other) noexcept
    : descriptor_(std::exchange(other.descriptor_, -1)), pooled_(other.pooled_) {}

Instance& Instance::operator=(Instance&& other) noexcept {
  if (this != &other) {
    Instance dropped(std::move(*this));
    descriptor_ = std::exchange(other.descriptor_, -1);
    pooled_ = other.pooled_;
  }
  return *this;
}

Instance::~Instance() {
  if (descriptor_ <= 0 || pooled_) return;
  CallLock lock(CallLock::Mode::exclusive);
  liberasurecode_instance_destroy(descriptor_);
}

CallLock Instance::lock_for_api() const {
  return CallLock(pooled_ ? CallLock::Mode::exclusive : CallLock::Mode::shared);
}

CallLock Instance::lock_for_backend() const {
  return CallLock(pooled_ ? CallLock::Mode::exclusive : CallLock::Mode::none);
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
  CallLock lock = instance.lock_for_api();
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
