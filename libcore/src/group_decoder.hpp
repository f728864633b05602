// Rebuilding the bad blocks of one EC group of a protected dataset: read every
// row of the group from a block source (each checked against its CID), and
// when some are missing or corrupt, decode them from the good ones and check
// each rebuilt block against the dataset tree's leaf. Used by get (data rows)
// and repair (the rows of held slots).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/erasure.hpp"
#include "codex/layout.hpp"
#include "codex/sha256.hpp"

namespace codex {

struct GroupRebuild {
  std::uint64_t group = 0;
  struct Row {
    std::uint32_t row;
    std::uint64_t index;
    Errc why;      // not_found or corrupt
    Bytes block;   // the rebuilt bytes (empty if the row was not wanted)
  };
  std::vector<Row> bad;  // rows that were missing or corrupt, rebuilt where wanted
};

// `wanted(row)`: rebuild this bad row. Errc::unrecoverable when fewer than K
// rows of the group are intact, naming them; Errc::corrupt if a rebuilt block
// fails its leaf (the decoder returned wrong bytes).
Result<GroupRebuild> rebuild_group(BlockSource& source, const SteppedLayout& layout, std::span<const Digest> leaves,
                                   ErasureCoder& coder, std::uint64_t group,
                                   const std::function<bool(std::uint32_t row)>& wanted);

// Buffers of one block size that rebuilt blocks are decoded into, given back
// once their blocks are written or spilled, so that a caller decoding group
// after group reuses memory already faulted in (a new buffer is zeroed and
// faulted in page by page: 4 % of a get with two slots lost). Shared by the
// threads decoding at once; keeps at most `most` buffers.
class BlockBuffers {
 public:
  BlockBuffers(std::size_t block_size, std::size_t most) : block_size_(block_size), most_(most) {}
  // A buffer of block_size bytes (contents undefined).
  Bytes take();
  // Keeps `buffer` for a later take() (if it can hold a block and fewer than `most` are kept).
  void give(Bytes buffer);

 private:
  std::size_t block_size_, most_;
  std::mutex mutex_;
  std::vector<Bytes> free_;
};

// The same from rows already read by the caller: blocks[row] and status[row]
// for each of the K + M rows (as BlockSource::read_many left them; padding
// rows' entries are ignored). Touches no source, so callers may decode many
// groups at once, one coder per thread. With check_rebuilt false the rebuilt
// blocks are not checked against their leaves here: the caller must check
// them with check_rebuilt() before using them. With `buffers`, rebuilt blocks
// are decoded into buffers taken from it (else into new ones).
Result<GroupRebuild> decode_group(const SteppedLayout& layout, std::span<const Digest> leaves, ErasureCoder& coder,
                                  std::uint64_t group, std::span<const Bytes> blocks, std::span<const Status> status,
                                  const std::function<bool(std::uint32_t row)>& wanted, bool check_rebuilt = true,
                                  BlockBuffers* buffers = nullptr);

// The rebuilt blocks of many decoded groups against their leaves, hashed
// together on every core (sixteen at a time where the CPU has AVX-512; one
// group alone has only M of them). Errc::corrupt for the first that fails.
Status check_rebuilt(std::span<const GroupRebuild> rebuilds, std::span<const Digest> leaves);

// Coders for decoding on many threads: one per task at a time, reused.
class CoderPool {
 public:
  CoderPool(std::string backend, std::uint32_t k, std::uint32_t m, std::size_t block_size)
      : backend_(std::move(backend)), k_(k), m_(m), block_size_(block_size) {}
  Result<std::unique_ptr<ErasureCoder>> acquire();
  void release(std::unique_ptr<ErasureCoder> coder);
  std::size_t block_size() const { return block_size_; }

 private:
  std::string backend_;
  std::uint32_t k_, m_;
  std::size_t block_size_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ErasureCoder>> free_;
};

// A one-line account of a group's bad rows, e.g. "rows 1 (index 4) missing, 3 (index 10) corrupt".
std::string describe_bad_rows(const GroupRebuild& rebuild);

}  // namespace codex
