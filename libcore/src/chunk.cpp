// Chunking: bytes in, Codex blocks and manifest out.
//
// The input is read in batches of blocks; while the pool hashes one batch,
// a reader thread fills the next (read_ahead.hpp), so reading, hashing (on every core) and
// writing overlap and memory stays at a few batches whatever the input size.
// The last block is zero-padded to the block size and hashed padded, as Codex
// does; the manifest records the real byte count.
#include <cstring>

#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/parallel.hpp"
#include "read_ahead.hpp"

namespace codex {
namespace {

constexpr std::size_t kBatchBytes = 4 << 20;

struct Batch {
  Bytes data;
  std::size_t bytes = 0;  // bytes read into data
  std::vector<ByteView> views;  // its blocks
  std::vector<Digest> digests;
};

}  // namespace

Result<ChunkResult> chunk_stream(ByteSource& input, CarWriter* output, const ChunkOptions& options) {
  const std::uint64_t block_size = options.block_size;
  if (block_size == 0 || block_size > kMaxBlockSize)
    return make_error(Errc::usage, "block size {} is out of range (1 to {} bytes)", block_size, kMaxBlockSize);
  if (options.format != ManifestFormat::current && options.format != ManifestFormat::legacy)
    return make_error(Errc::usage, "manifests can be written only in the current or legacy format");
  const std::size_t per_batch = std::max<std::size_t>(1, kBatchBytes / block_size);
  const std::size_t batch_capacity = per_batch * block_size;

  if (output) {
    const Cid placeholder[] = {manifest_root_placeholder()};
    CODEX_TRY(output->write_header(options.root_placeholder ? std::span<const Cid>(placeholder) : std::span<const Cid>()));
  }

  Batch batches[2];
  for (auto& b : batches) b.data.resize(batch_capacity);
  WorkerPool& pool = default_pool();
  std::vector<Digest> leaves;
  std::uint64_t total = 0;
  CODEX_TRY(read_ahead(
      batches,
      [&input, batch_capacity](Batch& batch) -> Status {
        CODEX_TRY_ASSIGN(batch.bytes, input.read_full(MutableByteView(batch.data.data(), batch_capacity)));
        return {};
      },
      [batch_capacity](const Batch& batch) { return batch.bytes < batch_capacity; },
      [&](Batch& batch) -> Status {
        std::size_t blocks = (batch.bytes + block_size - 1) / block_size;
        if (blocks == 0 && total == 0 && batch.bytes < batch_capacity) blocks = 1;  // empty input: one zero block
        // Zero-pad the last, partial block in place.
        std::memset(batch.data.data() + batch.bytes, 0, blocks * block_size - batch.bytes);
        batch.digests.resize(blocks);
        batch.views.resize(blocks);
        for (std::size_t i = 0; i < blocks; ++i) batch.views[i] = ByteView(batch.data.data() + i * block_size, block_size);
        sha256_parallel(batch.views, batch.digests, pool);
        leaves.insert(leaves.end(), batch.digests.begin(), batch.digests.end());
        total += batch.bytes;
        if (options.on_progress) options.on_progress(total);
        if (!output) return {};
        for (std::size_t i = 0; i < blocks; ++i)
          CODEX_TRY(output->write_block(Cid::from_digest(codec::block, batch.digests[i]),
                                        ByteView(batch.data.data() + i * block_size, block_size)));
        return {};
      }));

  ChunkResult result;
  result.blocks = leaves.size();
  CODEX_TRY_ASSIGN(Digest root, codex_tree_root(leaves));
  Manifest& manifest = result.manifest;
  manifest.tree = Cid::from_digest(codec::root, root);
  manifest.block_size = block_size;
  manifest.dataset_size = total;
  manifest.filename = options.filename;
  manifest.mimetype = options.mimetype;
  manifest.format = options.format;
  CODEX_TRY_ASSIGN(Bytes encoded, encode_manifest(manifest, options.format));
  result.manifest_cid = manifest_cid(encoded);
  if (output) CODEX_TRY(output->write_block(result.manifest_cid, encoded));
  return result;
}

}  // namespace codex
