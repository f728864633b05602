// The verbs of the data path, one per tool: chunk a byte stream into a CAR
// stream of Codex blocks, put a CAR stream into the repository, get a
// dataset's bytes back. Each checks everything it reads and reports what it
// did in a result struct; none prints.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codex/block_source.hpp"
#include "codex/bytes.hpp"
#include "codex/car.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/io.hpp"
#include "codex/manifest.hpp"
#include "codex/repository.hpp"

namespace codex {

inline constexpr std::uint64_t kDefaultBlockSize = 65536;
inline constexpr std::uint64_t kMaxBlockSize = 8u << 20;

// Told how many bytes have gone through so far, a batch at a time (for a
// progress display; never required).
using ProgressFn = std::function<void(std::uint64_t bytes)>;

struct ChunkOptions {
  std::uint64_t block_size = kDefaultBlockSize;
  std::optional<std::string> filename;
  std::optional<std::string> mimetype;
  ManifestFormat format = ManifestFormat::current;
  // Name manifest_root_placeholder() as the stream's root, for the caller to
  // patch (a seekable output); otherwise the roots are empty (a pipe).
  bool root_placeholder = false;
  ProgressFn on_progress;  // bytes of input read
};

struct ChunkResult {
  Cid manifest_cid;
  Manifest manifest;
  std::uint64_t blocks = 0;
};

// Reads `input` to its end, cuts it into blocks and writes a CAR stream of
// the blocks (index order) and the manifest (last) to `output`, or only
// computes the manifest when output is null. An empty input is one all-zero
// block with datasetSize 0.
Result<ChunkResult> chunk_stream(ByteSource& input, CarWriter* output, const ChunkOptions& options);

struct PutOptions {
  // Store only these slots of a protected dataset (bit i = slot i).
  std::optional<std::uint32_t> slots;
  ProgressFn on_progress;  // bytes of blocks received
};

struct PutResult {
  Cid manifest_cid;
  Manifest manifest;
  std::uint64_t blocks_received = 0;
  std::uint64_t blocks_stored = 0;   // new blocks written (others were already there)
  std::uint64_t bytes_written = 0;
  std::optional<std::uint32_t> held_slots;  // protected datasets: the slots now held from this stream
};

// Reads a dataset's CAR stream into the repository: every block is checked
// against its CID, the manifest against the tree of the blocks; all or
// nothing. Putting a dataset already held is harmless.
Result<PutResult> put_stream(Repository& repository, ByteSource& input, const PutOptions& options);

struct RebuiltBlock {
  std::uint64_t index;
  std::string reason;  // "missing" or "corrupt"
};

struct GetOptions {
  // Told of each block as it is rebuilt (for progress on long reads).
  std::function<void(const RebuiltBlock&)> on_rebuilt;
  ProgressFn on_progress;  // bytes written
};

struct GetResult {
  Manifest manifest;
  std::uint64_t bytes = 0;
  std::vector<RebuiltBlock> rebuilt;
};

// Looks a dataset up by manifest CID (Errc::not_found when not held).
Result<DatasetRecord> find_dataset(Repository& repository, const Cid& manifest_cid);

// Writes the dataset's original bytes (cut to the original size) to `output`,
// its blocks read from `source` (the repository's own, or a chain that asks
// peers too); the manifest and tree come from the repository.
// A protected dataset is decoded around missing or corrupt blocks; a plain one
// fails on the first bad block. Nothing is written for an EC group that cannot
// be rebuilt: the error names the groups and what is missing.
Result<GetResult> get_dataset(Repository& repository, BlockSource& source, const Cid& manifest_cid, ByteSink& output,
                              const GetOptions& options);

// The same with the manifest and tree given (a dataset the repository does
// not hold, its blocks from the network); temporary files go to spill_dir.
Result<GetResult> get_dataset(const DatasetRecord& record, std::span<const Digest> leaves, BlockSource& source,
                              const std::string& spill_dir, ByteSink& output, const GetOptions& options);

// The blocks get_dataset asks its source for, in the order it asks when
// nothing is damaged (for a source that reads ahead).
std::vector<Digest> get_read_order(const Manifest& manifest, std::span<const Digest> leaves, bool output_can_write_at);

// Writes what the repository holds of a dataset as a CAR stream with the
// manifest CID as root: when it holds every block, the dense stream codex-put
// reads (index order, manifest last); when it holds only some slots, a sparse
// stream: the tree's leaf list, the held blocks, the manifest. Every block is
// checked as it is read; a damaged held block is an error (run codex-repair).
Status export_dataset(Repository& repository, BlockSource& source, const Cid& manifest_cid, CarWriter& output);

}  // namespace codex
