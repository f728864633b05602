// The fast engine: the backend's encode/decode stubs called on the caller's
// blocks. liberasurecode_encode does exactly this after copying the data into
// fresh header-prefixed buffers; skipping the copies and the per-call
// allocations, ISA-L encodes a K=4 M=2 group of cached 64 KiB blocks at ~35
// GB/s here, against ~16 through liberasurecode_encode with malloc tuned and
// ~2 without (bench/erasure_bench.cpp).
//
// What the stubs expect from their caller, as liberasurecode 1.6.2 provides it:
//  - output buffers start zeroed: liberasurecode_rs_vand XORs into them
//    (ISA-L's encode and decode write every byte of their outputs with
//    ec_encode_data, so theirs are not cleared first: 2 % of an encode's
//    time, about 4 % of a get with lost slots);
//  - every missing row has a buffer, wanted or not: jerasure rebuilds all
//    missing rows when asked for parity;
//  - inputs are only read (tested: present rows come back unchanged);
//  - buffers are 16-byte aligned: gf-complete, under jerasure, aborts the
//    process on rows misaligned to each other. ISA-L does not care; for the
//    other backends, rows at other addresses are staged through aligned copies.
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
constexpr std::uintptr_t kAlignment = 16;

bool is_aligned(const void* pointer) { return reinterpret_cast<std::uintptr_t>(pointer) % kAlignment == 0; }

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
    for (std::uint32_t i = 0; i < geometry_.k; ++i) data_rows[i] = input_row(data[i], i);
    for (std::uint32_t i = 0; i < geometry_.m; ++i)
      parity_rows[i] = output_row(parity[i], geometry_.k + i, !writes_whole_outputs_);
    int rc = 0;
    {
      CallLock lock = instance_.lock_for_backend();
      rc = backend_->common.ops->encode(backend_->desc.backend_desc, data_rows, parity_rows,
                                        static_cast<int>(geometry_.block_size));
    }
    clear_upper_vector_state();
    if (rc < 0)
      return make_error(Errc::failure, "backend '{}' failed to encode a group: {}", geometry_.backend->name,
                        describe_liberasurecode_error(rc));
    for (std::uint32_t i = 0; i < geometry_.m; ++i) copy_out(parity_rows[i], parity[i]);
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
    std::uint32_t unwanted = 0;
    for (std::uint32_t r = 0; r < n; ++r) {
      char* row = nullptr;
      if (rows[r] != nullptr)
        row = input_row(rows[r], r);
      else if (out[r] != nullptr)
        row = output_row(out[r], r, !writes_whole_outputs_);
      else
        row = output_row(nullptr, n + unwanted++, !writes_whole_outputs_);
      (r < geometry_.k ? data_rows[r] : parity_rows[r - geometry_.k]) = row;
    }
    int rc = 0;
    {
      CallLock lock = instance_.lock_for_backend();
      rc = backend_->common.ops->decode(backend_->desc.backend_desc, data_rows, parity_rows, missing,
                                        static_cast<int>(geometry_.block_size));
    }
    clear_upper_vector_state();
    if (rc < 0)
      return make_error(Errc::failure, "backend '{}' failed to rebuild {} missing block(s) of a group: {}",
                        geometry_.backend->name, missing_count, describe_liberasurecode_error(rc));
    for (std::uint32_t r = 0; r < n; ++r)
      if (rows[r] == nullptr && out[r] != nullptr)
        copy_out(r < geometry_.k ? data_rows[r] : parity_rows[r - geometry_.k], out[r]);
    return {};
  }

 private:
  // A row the backend reads: the block itself, or an aligned copy in slot
  // `slot` if the backend needs alignment the block lacks.
  char* input_row(const std::uint8_t* block, std::uint32_t slot) {
    if (!needs_alignment_ || is_aligned(block)) return as_row(block);
    std::uint8_t* copy = staging_slot(slot);
    std::memcpy(copy, block, geometry_.block_size);
    return reinterpret_cast<char*>(copy);
  }

  // A zeroed row the backend writes: the caller's buffer, or slot `slot`
  // (always for buffer == nullptr, a missing row nobody asked for).
  char* output_row(std::uint8_t* buffer, std::uint32_t slot, bool zeroed = true) {
    std::uint8_t* row = buffer;
    if (buffer == nullptr || (needs_alignment_ && !is_aligned(buffer))) row = staging_slot(slot);
    if (zeroed) std::memset(row, 0, geometry_.block_size);
    return reinterpret_cast<char*>(row);
  }

  void copy_out(const char* row, std::uint8_t* buffer) {
    if (reinterpret_cast<const std::uint8_t*>(row) != buffer) std::memcpy(buffer, row, geometry_.block_size);
  }

  // k+m slots for staged rows, then m for unwanted missing rows; allocated on
  // first need and kept.
  std::uint8_t* staging_slot(std::uint32_t slot) {
    if (staging_.empty())
      staging_.resize(std::size_t{geometry_.k + 2 * geometry_.m} * geometry_.block_size + kAlignment);
    const auto base = reinterpret_cast<std::uintptr_t>(staging_.data());
    auto* aligned = reinterpret_cast<std::uint8_t*>((base + kAlignment - 1) / kAlignment * kAlignment);
    return aligned + std::size_t{slot} * geometry_.block_size;
  }

  Instance instance_;
  Geometry geometry_;
  ec_backend_t backend_;
  bool needs_alignment_ = backend_->common.id != EC_BACKEND_ISA_L_RS_CAUCHY &&
                          backend_->common.id != EC_BACKEND_ISA_L_RS_VAND;
  bool writes_whole_outputs_ = !needs_alignment_;  // ISA-L: ec_encode_data writes every output byte
  std::vector<std::uint8_t> staging_;
};

}  // namespace

Result<std::unique_ptr<CodingEngine>> open_backend_calls_engine(Instance instance, const Geometry& geometry) {
  ec_backend_t backend = nullptr;
  {
    CallLock lock = instance.lock_for_api();
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
