// The portable engine: liberasurecode's documented API on header-prefixed
// copies of the blocks. Used when the library at run time is not the version
// we compiled against, and by the tests as the reference.
//
// Decoding needs whole fragments (80-byte header + payload). With CHKSUM_NONE
// a header depends only on the geometry and the row, so the headers of an
// encode of zeros, captured at open, can be put in front of stored blocks
// (checked at open, and by the tests against encodes of random data). The
// captured headers also carry valid row indices: liberasurecode 1.6.2 reads
// out of bounds on a header claiming index k+m.
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "erasure_engine.hpp"

namespace codex::erasure_internal {

namespace {

constexpr std::size_t kHeaderSize = sizeof(fragment_header_t);

// liberasurecode_encode allocates and frees k+m fragment buffers on every
// call. With glibc's defaults the freed top of the heap is trimmed (and large
// buffers are mmapped), so each call faults its pages in again: 1.9 GB/s
// instead of 16 (ISA-L, K=4 M=2, 64 KiB blocks). Raising both thresholds,
// process-wide and once, lets the heap keep that memory for the next call.
void keep_fragment_buffers_in_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  });
}

class FragmentsEngine final : public CodingEngine {
 public:
  FragmentsEngine(Instance instance, const Geometry& geometry)
      : instance_(std::move(instance)),
        geometry_(geometry),
        fragment_size_(kHeaderSize + geometry.block_size),
        input_(std::size_t{geometry.k} * geometry.block_size),
        headers_(std::size_t{geometry.k + geometry.m} * kHeaderSize) {}

  const char* kind() const override { return "fragments"; }

  // Captures the headers from an encode of zeros and checks what they say.
  Status capture_headers() {
    std::fill(input_.begin(), input_.end(), 0);
    char** data = nullptr;
    char** parity = nullptr;
    CODEX_TRY(encode_input(data, parity));
    const std::uint32_t n = geometry_.k + geometry_.m;
    for (std::uint32_t r = 0; r < n; ++r) {
      const char* fragment = r < geometry_.k ? data[r] : parity[r - geometry_.k];
      fragment_header_t header;
      std::memcpy(&header, fragment, kHeaderSize);
      const std::uint32_t index = header.meta.idx;  // copies: the header is packed
      const std::uint32_t size = header.meta.size;
      const std::uint64_t original_size = header.meta.orig_data_size;
      if (header.magic != LIBERASURECODE_FRAG_HEADER_MAGIC || index != r || size != geometry_.block_size ||
          original_size != std::uint64_t{geometry_.k} * geometry_.block_size) {
        release(data, parity);
        return make_error(Errc::failure,
                          "liberasurecode fragment header of row {} is not as expected (index {}, size {}, "
                          "original size {})",
                          r, index, size, original_size);
      }
      std::memcpy(headers_.data() + r * kHeaderSize, fragment, kHeaderSize);
    }
    release(data, parity);
    return {};
  }

  Status encode(const std::uint8_t* const* data, std::uint8_t* const* parity) override {
    for (std::uint32_t i = 0; i < geometry_.k; ++i)
      std::memcpy(input_.data() + i * geometry_.block_size, data[i], geometry_.block_size);
    char** data_fragments = nullptr;
    char** parity_fragments = nullptr;
    CODEX_TRY(encode_input(data_fragments, parity_fragments));
    for (std::uint32_t i = 0; i < geometry_.m; ++i)
      std::memcpy(parity[i], parity_fragments[i] + kHeaderSize, geometry_.block_size);
    release(data_fragments, parity_fragments);
    return {};
  }

  Status rebuild(const std::uint8_t* const* rows, std::uint8_t* const* out) override {
    const std::uint32_t n = geometry_.k + geometry_.m;
    std::uint32_t missing_count = 0;
    bool wanted = false;
    for (std::uint32_t r = 0; r < n; ++r) {
      if (rows[r] != nullptr) continue;
      ++missing_count;
      wanted = wanted || out[r] != nullptr;
    }
    if (!wanted) return {};
    if (missing_count > geometry_.m)
      return make_error(Errc::unrecoverable, "only {} of {} blocks present, need {}", n - missing_count, n,
                        geometry_.k);

    // The first k present rows are all liberasurecode uses.
    if (fragments_.empty()) {
      fragments_.resize(std::size_t{geometry_.k} * fragment_size_);
      rebuilt_.resize(fragment_size_);
    }
    char* present[EC_MAX_FRAGMENTS];
    std::uint32_t used = 0;
    for (std::uint32_t r = 0; r < n && used < geometry_.k; ++r) {
      if (rows[r] == nullptr) continue;
      std::uint8_t* fragment = fragments_.data() + used * fragment_size_;
      std::memcpy(fragment, headers_.data() + r * kHeaderSize, kHeaderSize);
      std::memcpy(fragment + kHeaderSize, rows[r], geometry_.block_size);
      present[used++] = reinterpret_cast<char*>(fragment);
    }
    for (std::uint32_t r = 0; r < n; ++r) {
      if (rows[r] != nullptr || out[r] == nullptr) continue;
      int rc = 0;
      {
        CallLock lock = instance_.lock_for_api();
        rc = liberasurecode_reconstruct_fragment(instance_.descriptor(), present, static_cast<int>(used),
                                                 fragment_size_, static_cast<int>(r),
                                                 reinterpret_cast<char*>(rebuilt_.data()));
      }
      clear_upper_vector_state();
      if (rc != 0)
        return make_error(Errc::failure, "liberasurecode could not rebuild row {} with backend '{}': {}", r,
                          geometry_.backend->name, describe_liberasurecode_error(rc));
      std::memcpy(out[r], rebuilt_.data() + kHeaderSize, geometry_.block_size);
    }
    return {};
  }

 private:
  // Encodes input_; on success the caller owns the fragments and must release them.
  Status encode_input(char**& data, char**& parity) {
    std::uint64_t fragment_size = 0;
    int rc = 0;
    {
      CallLock lock = instance_.lock_for_api();
      rc = liberasurecode_encode(instance_.descriptor(), reinterpret_cast<const char*>(input_.data()),
                                 input_.size(), &data, &parity, &fragment_size);
    }
    clear_upper_vector_state();
    if (rc != 0 || data == nullptr || parity == nullptr) {
      release(data, parity);
      return make_error(Errc::failure, "liberasurecode could not encode a group with backend '{}': {}",
                        geometry_.backend->name, describe_liberasurecode_error(rc));
    }
    if (fragment_size != fragment_size_) {
      release(data, parity);
      return make_error(Errc::failure, "liberasurecode made {}-byte fragments of {}-byte blocks, expected {}",
                        fragment_size, geometry_.block_size, fragment_size_);
    }
    return {};
  }

  void release(char** data, char** parity) {
    if (data == nullptr || parity == nullptr) return;
    CallLock lock = instance_.lock_for_api();
    liberasurecode_encode_cleanup(instance_.descriptor(), data, parity);
  }

  Instance instance_;
  Geometry geometry_;
  std::size_t fragment_size_;
  std::vector<std::uint8_t> input_;      // k blocks, contiguous, as liberasurecode_encode takes them
  std::vector<std::uint8_t> headers_;    // the captured header of each row
  std::vector<std::uint8_t> fragments_;  // k header-prefixed present rows
  std::vector<std::uint8_t> rebuilt_;    // one rebuilt fragment
};

}  // namespace

Result<std::unique_ptr<CodingEngine>> open_fragments_engine(Instance instance, const Geometry& geometry) {
  keep_fragment_buffers_in_heap();
  auto engine = std::make_unique<FragmentsEngine>(std::move(instance), geometry);
  CODEX_TRY(engine->capture_headers());
  return std::unique_ptr<CodingEngine>(std::move(engine));
}

}  // namespace codex::erasure_internal
