// Reed-Solomon coding of one EC group (docs/codex-formats.md section 6): which
// backends exist, which geometries each can code, and ErasureCoder over the
// engines of erasure_engine.hpp.
#include "codex/erasure.hpp"

#include <fmt/format.h>

#include "codex/layout.hpp"
#include "erasure_engine.hpp"

namespace codex {

namespace internal = erasure_internal;

std::vector<std::string> known_backends() {
  std::vector<std::string> names;
  for (const internal::Backend& backend : internal::backend_table()) names.emplace_back(backend.name);
  return names;
}

std::vector<std::string> available_backends() {
  std::vector<std::string> names;
  for (const internal::Backend& backend : internal::backend_table())
    if (internal::backend_loads(backend)) names.emplace_back(backend.name);
  return names;
}

Result<std::string> default_backend() {
  // jerasure_rs_vand rather than jerasure_rs_cauchy: faster here, and free of
  // the latter's K+M <= 16 and 4096-byte block multiple.
  for (const char* name : {"isa_l_rs_cauchy", "jerasure_rs_vand", "liberasurecode_rs_vand"})
    if (internal::backend_loads(*internal::find_backend(name))) return std::string(name);
  return make_error(Errc::usage,
                    "no erasure backend is available: liberasurecode loaded none of isa_l_rs_cauchy (libisal2), "
                    "jerasure_rs_vand (libjerasure2), liberasurecode_rs_vand (liberasurecode1)");
}

struct ErasureCoder::State {
  std::string backend;
  std::uint32_t k = 0;
  std::uint32_t m = 0;
  std::size_t block_size = 0;
  std::unique_ptr<internal::CodingEngine> engine;
};

namespace {

Status check_geometry(const internal::Backend& backend, std::uint32_t k, std::uint32_t m, std::size_t block_size) {
  if (k < 1) return make_error(Errc::usage, "K must be at least 1 (got {})", k);
  if (m < 1) return make_error(Errc::usage, "M must be at least 1 (got {})", m);
  const std::uint64_t rows = std::uint64_t{k} + m;
  if (rows > kMaxFragments)
    return make_error(Errc::usage, "K+M must be at most {} with liberasurecode 1.6.2 (got {}+{}={})", kMaxFragments,
                      k, m, rows);
  // Its Vandermonde matrix has singular k x k submatrices once M >= 5, so some
  // losses of M blocks cannot be decoded (OpenStack Swift refuses it too).
  if (backend.id == EC_BACKEND_ISA_L_RS_VAND && m >= 5)
    return make_error(Errc::usage,
                      "backend 'isa_l_rs_vand' cannot rebuild every loss of {} blocks (with M >= 5 some "
                      "patterns are undecodable); use isa_l_rs_cauchy",
                      m);
  // It codes in GF(2^4) (w = 4), which has room for 16 rows.
  if (backend.id == EC_BACKEND_JERASURE_RS_CAUCHY && rows > 16)
    return make_error(Errc::usage,
                      "backend 'jerasure_rs_cauchy' supports K+M up to 16 (got {}+{}={}); use jerasure_rs_vand "
                      "or isa_l_rs_cauchy",
                      k, m, rows);
  if (block_size == 0 || block_size % 64 != 0)
    return make_error(Errc::usage, "block size {} is not a positive multiple of 64", block_size);
  return {};
}

const char* package_of(const internal::Backend& backend) {
  switch (backend.id) {
    case EC_BACKEND_ISA_L_RS_CAUCHY:
    case EC_BACKEND_ISA_L_RS_VAND: return "libisal2";
    case EC_BACKEND_JERASURE_RS_CAUCHY:
    case EC_BACKEND_JERASURE_RS_VAND: return "libjerasure2";
    default: return "liberasurecode1";
  }
}

}  // namespace

Result<ErasureCoder> ErasureCoder::open(std::string_view backend_name, std::uint32_t k, std::uint32_t m,
                                        std::size_t block_size) {
  const internal::Backend* backend = internal::find_backend(backend_name);
  if (backend == nullptr)
    return make_error(Errc::usage, "unknown erasure backend '{}' (known: {})", backend_name,
                      fmt::join(known_backends(), ", "));
  CODEX_TRY(check_geometry(*backend, k, m, block_size));
  if (!internal::backend_loads(*backend))
    return make_error(Errc::usage, "erasure backend '{}' is not available: liberasurecode could not load it ({})",
                      backend->name, package_of(*backend));
  CODEX_TRY_ASSIGN(auto engine,
                   internal::open_engine({backend, k, m, block_size}, internal::EngineKind::automatic));
  auto state = std::make_unique<State>();
  state->backend = backend->name;
  state->k = k;
  state->m = m;
  state->block_size = block_size;
  state->engine = std::move(engine);
  return ErasureCoder(std::move(state));
}

ErasureCoder::ErasureCoder(std::unique_ptr<State> state) : state_(std::move(state)) {}
ErasureCoder::ErasureCoder(ErasureCoder&&) noexcept = default;
ErasureCoder& ErasureCoder::operator=(ErasureCoder&&) noexcept = default;
ErasureCoder::~ErasureCoder() = default;

std::uint32_t ErasureCoder::k() const { return state_->k; }
std::uint32_t ErasureCoder::m() const { return state_->m; }
std::size_t ErasureCoder::block_size() const { return state_->block_size; }
const std::string& ErasureCoder::backend() const { return state_->backend; }

Status ErasureCoder::encode(std::span<const std::uint8_t* const> data, std::span<std::uint8_t* const> parity) {
  if (data.size() != state_->k || parity.size() != state_->m)
    return make_error(Errc::failure, "erasure encode takes {} data and {} parity blocks, got {} and {}", state_->k,
                      state_->m, data.size(), parity.size());
  for (std::size_t i = 0; i < data.size(); ++i)
    if (data[i] == nullptr) return make_error(Errc::failure, "erasure encode got no data block for row {}", i);
  for (std::size_t i = 0; i < parity.size(); ++i)
    if (parity[i] == nullptr)
      return make_error(Errc::failure, "erasure encode got no parity buffer for row {}", state_->k + i);
  return state_->engine->encode(data.data(), parity.data());
}

Status ErasureCoder::reconstruct(std::span<const std::uint8_t* const> fragments,
                                 std::span<std::uint8_t* const> out) {
  const std::size_t rows = std::size_t{state_->k} + state_->m;
  if (fragments.size() != rows || out.size() != rows)
    return make_error(Errc::failure, "erasure reconstruct takes {} rows, got {} blocks and {} outputs", rows,
                      fragments.size(), out.size());
  std::size_t present = 0;
  for (const std::uint8_t* fragment : fragments) present += fragment != nullptr;
  if (present < state_->k)
    return make_error(Errc::unrecoverable, "only {} of {} blocks present, need {}", present, rows, state_->k);
  return state_->engine->rebuild(fragments.data(), out.data());
}

}  // namespace codex
