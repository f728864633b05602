// The fast engine: the backend's encode/decode stubs called on the caller's
// blocks. liberasurecode_encode does exactly this after copying the data into
// fresh header-prefixed buffers; skipping the copies and the per-call
// allocations makes ISA-L coding 2x to 15x faster here (bench/erasure_bench.cpp).
//
// What the stubs expect from their caller, as liberasurecode 1.6.2 provides it:
//  - output buffers start zeroed: liberasurecode_rs_vand XORs into them;
//  - every missing row has a buffer, wanted or not: jerasure rebuilds all
//    missing rows when asked for parity;
//  - inputs are only read (tested: present rows come back unchanged).
#include <cstring>
#include <vector>

#include "erasure_engine.hpp"

// Last: it defines macros (str, INIT, ENCODE, ...) that break other headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <erasurecode_backend.h>
#pragma GCC diagnostic pop
#undef str
#undef FN_NAME
#undef INIT
#undef EXIT
#undef ENCODE
#undef DECODE
#undef FRAGSNEEDED
#undef RECONSTRUCT
#undef ELEMENTSIZE
#undef ISCOMPATIBLEWITH
#undef GETMETADATASIZE
#undef GETENCODEOFFSET
#undef MAX_LEN
#undef dl_restrict

namespace codex::erasure_internal {

namespace {

constexpr std::size_t kMaxRows = EC_MAX_FRAGMENTS;

char* as_row(const std::uint8_t* block) {
  // The stubs take char** for inputs and outputs alike; they do not write inputs.
  return const_cast<char*>(reinterpret_cast<const char*>(block));
}

class BackendCallsEngine final : public CodingEngine {
 public:
  BackendCallsEngine(Instance instance, const Geometry& geometry, ec_backend_t backend)
      : instance_(std::move(instance)), geometry_(geometry), backend_(backend) {}

  const char* kind() const override { return "backend_calls"; }

  Status encode(const std::uint8_t* const* data, std::uint8_t* const* parity) override {
    char* data_rows[kMaxRows];
    char* parity_rows[kMaxRows];
    for (std::uint32_t i = 0; i < geometry_.k; ++i) data_rows[i] = as_row(data[i]);
    for (std::uint32_t i = 0; i < geometry_.m; ++i) {
      std::memset(parity[i], 0, geometry_.block_size);
      parity_rows[i] = reinterpret_cast<char*>(parity[i]);
    }
    auto lock = instance_.lock();
    const int rc = backend_->common.ops->encode(backend_->desc.backend_desc, data_rows, parity_rows,
                                                static_cast<int>(geometry_.block_size));
    if (rc < 0)
      return make_error(Errc::failure, "backend '{}' failed to encode a group: {}", geometry_.backend->name,
                        describe_liberasurecode_error(rc));
    return {};
  }

  Status rebuild(const std::uint8_t* const* rows, std::uint8_t* const* out) override {
    const std::uint32_t n = geometry_.k + geometry_.m;
    int missing[kMaxRows + 1];
    std::uint32_t missing_count = 0;
    bool wanted = false;
    for (std::uint32_t r = 0; r < n; ++r) {
      if (rows[r] != nullptr) continue;
      missing[missing_count++] = static_cast<int>(r);
      wanted = wanted || out[r] != nullptr;
    }
    missing[missing_count] = -1;
    if (!wanted) return {};
    if (missing_count > geometry_.m)
      return make_error(Errc::unrecoverable, "only {} of {} blocks present, need {}", n - missing_count, n,
                        geometry_.k);

    char* data_rows[kMaxRows];
    char* parity_rows[kMaxRows];
    std::uint32_t scratch_used = 0;
    for (std::uint32_t r = 0; r < n; ++r) {
      char* row = as_row(rows[r]);
      if (row == nullptr) {
        std::uint8_t* target = out[r] != nullptr ? out[r] : scratch_row(scratch_used++);
        std::memset(target, 0, geometry_.block_size);
        row = reinterpret_cast<char*>(target);
      }
      (r < geometry_.k ? data_rows[r] : parity_rows[r - geometry_.k]) = row;
    }
    auto lock = instance_.lock();
    const int rc = backend_->common.ops->decode(backend_->desc.backend_desc, data_rows, parity_rows, missing,
                                                static_cast<int>(geometry_.block_size));
    if (rc < 0)
      return make_error(Errc::failure, "backend '{}' failed to rebuild {} missing block(s) of a group: {}",
                        geometry_.backend->name, missing_count, describe_liberasurecode_error(rc));
    return {};
  }

 private:
  // Room for missing rows nobody asked for; allocated on first need, kept.
  std::uint8_t* scratch_row(std::uint32_t index) {
    if (scratch_.empty()) scratch_.resize(std::size_t{geometry_.m} * geometry_.block_size);
    return scratch_.data() + std::size_t{index} * geometry_.block_size;
  }

  Instance instance_;
  Geometry geometry_;
  ec_backend_t backend_;
  std::vector<std::uint8_t> scratch_;
};

}  // namespace

Result<std::unique_ptr<CodingEngine>> open_backend_calls_engine(Instance instance, const Geometry& geometry) {
  ec_backend_t backend = nullptr;
  {
    std::lock_guard lock(liberasurecode_mutex());
    backend = liberasurecode_backend_instance_get_by_desc(instance.descriptor());
  }
  // Cheap signs that struct ec_backend is laid out as erasurecode_backend.h says.
  const bool as_compiled = backend != nullptr && backend->common.id == geometry.backend->id &&
                           backend->args.uargs.k == static_cast<int>(geometry.k) &&
                           backend->args.uargs.m == static_cast<int>(geometry.m) &&
                           backend->common.ops != nullptr && backend->common.ops->encode != nullptr &&
                           backend->common.ops->decode != nullptr && backend->desc.backend_desc != nullptr;
  if (!as_compiled)
    return make_error(Errc::failure,
                      "liberasurecode instance of backend '{}' does not look as compiled against (version {:#x}); "
                      "cannot call the backend directly",
                      geometry.backend->name, liberasurecode_get_version());
  return std::unique_ptr<CodingEngine>(new BackendCallsEngine(std::move(instance), geometry, backend));
}

}  // namespace codex::erasure_internal
