// Reading and checking a dataset stream; see dataset_stream.hpp.
#include "dataset_stream.hpp"

#include <algorithm>
#include <cstring>

#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/parallel.hpp"
#include "codex/storage_proof.hpp"
#include "sha256_x16.hpp"
#include "read_ahead.hpp"

namespace codex {
namespace {

// A batch is at most 64 entries or about kBatchBytes of data, whichever comes
// first; buffers kept from earlier batches are let go past kBatchCapacity.
// With each entry checked against its limit before it is read, a hostile
// stream costs at most two batches of this size, whatever it claims.
constexpr std::size_t kEntriesPerBatch = 64;
constexpr std::size_t kBatchBytes = 8u << 20;
constexpr std::size_t kBatchCapacity = 32u << 20;
// A manifest is a few hundred bytes; its filename is the only free-form part.
constexpr std::uint64_t kMaxManifestBytes = 1u << 20;

struct Entry {
  Cid cid;
  Bytes data;
  std::uint64_t offset = 0;  // of data in the stream
};

struct EntryBatch {
  std::vector<Entry> entries = std::vector<Entry>(kEntriesPerBatch);
  std::size_t count = 0;
  bool manifest_seen = false;  // the last entry read is the manifest
  bool at_end = false;
};

// What an entry may be, told before its data is read: a sha2-256 codex-block
// of at most kMaxBlockSize bytes, the manifest, or (first entry only) a leaf
// list of a sparse stream.
Status admit_entry(const Cid& cid, std::uint64_t size, std::uint64_t entry) {
  if (cid.codec() == codec::block) {
    if (!cid.sha256_digest())
      return make_error(Errc::corrupt, "entry {} has CID '{}', not a sha2-256 codex-block", entry, cid.to_string());
    if (size > kMaxBlockSize)
      return make_error(Errc::corrupt, "block {} '{}' is {} bytes, larger than any block size ({})", entry,
                        cid.to_string(), size, kMaxBlockSize);
    return {};
  }
  if (cid.codec() == codec::manifest) {
    if (size > kMaxManifestBytes)
      return make_error(Errc::corrupt, "manifest '{}' is {} bytes, over the limit of {}", cid.to_string(), size,
                        kMaxManifestBytes);
    return {};
  }
  if (cid.codec() == codec::raw && entry == 0) return {};  // a leaf list, bounded by kMaxCarSection
  return make_error(Errc::corrupt, "entry {} has CID '{}' ({}), not a sha2-256 codex-block", entry, cid.to_string(),
                    codec_name(cid.codec()));
}

// Reads entries up to the batch size, the manifest, or the end.
Status fill(CarReader& reader, EntryBatch& batch, std::uint64_t& entries_read) {
  std::size_t capacity = 0;
  for (const Entry& e : batch.entries) capacity += e.data.capacity();
  if (capacity > kBatchCapacity)
    for (Entry& e : batch.entries) Bytes().swap(e.data);
  batch.count = 0;
  std::size_t bytes = 0;
  auto admit = [&entries_read](const Cid& cid, std::uint64_t size) { return admit_entry(cid, size, entries_read); };
  while (batch.count < kEntriesPerBatch && bytes < kBatchBytes) {
    Entry& entry = batch.entries[batch.count];
    CODEX_TRY_ASSIGN(bool got, reader.next(entry.cid, entry.data, admit));
    if (!got) {
      batch.at_end = true;
      return {};
    }
    entry.offset = reader.offset() - entry.data.size();
    ++entries_read;
    ++batch.count;
    bytes += entry.data.size();
    if (entry.cid.codec() == codec::manifest) {
      batch.manifest_seen = true;
      return {};
    }
  }
  return {};
}

Status check_entries(const EntryBatch& batch, std::size_t skip, std::size_t blocks, std::uint64_t first_index) {
  for (std::size_t i = 0; i < blocks; ++i) {
    const Entry& e = batch.entries[skip + i];
    if (e.cid.codec() != codec::block || !e.cid.sha256_digest())
      return make_error(Errc::corrupt, "entry {} of the stream has CID '{}' ({}), not a sha2-256 codex-block",
                        first_index + i, e.cid.to_string(), codec_name(e.cid.codec()));
    if (e.data.size() > kMaxBlockSize)
      return make_error(Errc::corrupt, "block {} '{}' is {} bytes, larger than any block size", first_index + i,
                        e.cid.to_string(), e.data.size());
  }
  return {};
}

// A sparse stream's first entry: the tree's leaves, checked against its CID
// here and against the manifest's tree later.
Status read_leaf_list(const Entry& entry, std::vector<Digest>& leaves) {
  const auto digest = entry.cid.sha256_digest();
  if (!digest || sha256(entry.data) != *digest)
    return make_error(Errc::corrupt, "the stream's leaf list '{}' does not match its CID", entry.cid.to_string());
  if (entry.data.empty() || entry.data.size() % 32 != 0)
    return make_error(Errc::corrupt, "the stream's leaf list is {} bytes, not a whole number of 32-byte digests",
                      entry.data.size());
  leaves.resize(entry.data.size() / 32);
  std::memcpy(leaves.data(), entry.data.data(), entry.data.size());
  return {};
}

// The manifest against the blocks the stream carried.
Status check_manifest(CheckedDataset& out, const std::vector<std::uint32_t>& sizes,
                      const std::vector<Digest>& received) {
  const Cid& cid = out.manifest_cid;
  Manifest& manifest = out.manifest;
  if (manifest.codec != codec::block || manifest.hcodec != multihash_code::sha2_256)
    return make_error(Errc::corrupt, "manifest '{}' uses block codec {} with hash {}; only codex-block/sha2-256 is supported",
                      cid.to_string(), codec_name(manifest.codec), manifest.hcodec);
  if (manifest.erasure && manifest.format != ManifestFormat::protected_v1)
    return make_error(Errc::corrupt,
                      "manifest '{}' is a nim-codex protected dataset (Leopard parity), which this toolkit cannot decode",
                      cid.to_string());
  if (manifest.block_size == 0 || manifest.block_size > kMaxBlockSize)
    return make_error(Errc::corrupt, "manifest '{}' has block size {} (supported: 1 to {})", cid.to_string(),
                      manifest.block_size, kMaxBlockSize);
  const std::vector<Digest>& leaves = out.leaves;
  if (leaves.size() != manifest.block_count())
    return make_error(Errc::corrupt, "the stream has {} blocks but manifest '{}' describes {} ({} bytes in blocks of {})",
                      leaves.size(), cid.to_string(), manifest.block_count(), manifest.dataset_size,
                      manifest.block_size);
  if (manifest.is_protected()) {
    CODEX_TRY_ASSIGN(out.layout, SteppedLayout::of(manifest));
  }
  if (out.sparse) {
    // Blocks are not positional: each must be a block of the tree, of the block size.
    std::vector<Digest> sorted = leaves;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < received.size(); ++i) {
      if (!std::binary_search(sorted.begin(), sorted.end(), received[i]))
        return make_error(Errc::corrupt, "block '{}' (entry {}) is not a block of manifest '{}'",
                          Cid::from_digest(codec::block, received[i]).to_string(), i, cid.to_string());
      if (received[i] != empty_digest() && sizes[i] != manifest.block_size)
        return make_error(Errc::corrupt, "block '{}' is {} bytes; manifest '{}' expects {}",
                          Cid::from_digest(codec::block, received[i]).to_string(), sizes[i], cid.to_string(),
                          manifest.block_size);
    }
  }
  for (std::uint64_t i = 0; i < leaves.size() && !out.sparse; ++i) {
    const bool padding = out.layout && out.layout->is_padding(i);
    if (padding ? (leaves[i] != empty_digest()) : (sizes[i] != manifest.block_size))
      return make_error(Errc::corrupt, "block {} '{}' is {} bytes; manifest '{}' expects {}", i,
                        Cid::from_digest(codec::block, leaves[i]).to_string(), sizes[i], cid.to_string(),
                        padding ? "the empty padding block" : fmt::format("{} bytes", manifest.block_size));
  }
  CODEX_TRY_ASSIGN(Digest root, codex_tree_root(leaves));
  if (Cid::from_digest(codec::root, root) != manifest.tree)
    return make_error(Errc::corrupt, "the stream's blocks do not form the tree '{}' of manifest '{}' (they give '{}')",
                      manifest.tree.to_string(), cid.to_string(), Cid::from_digest(codec::root, root).to_string());
  if (out.layout) {
    CODEX_TRY_ASSIGN(Digest original, codex_tree_root(std::span<const Digest>(leaves.data(), out.layout->blocks)));
    if (Cid::from_digest(codec::root, original) != manifest.erasure->original_tree)
      return make_error(Errc::corrupt, "the data blocks of protected manifest '{}' do not form its original tree '{}'",
                        cid.to_string(), manifest.erasure->original_tree.to_string());
  }
  return {};
}

}  // namespace

Result<CheckedDataset> read_dataset_stream(ByteSource& input, bool tolerate_corrupt,
                                           const std::function<Status(std::span<const StreamBlock>)>& on_batch,
                                           std::size_t cell_size) {
  CarReader reader(input);
  CODEX_TRY_ASSIGN(CarHeader header, reader.read_header());
  CheckedDataset out;
  std::vector<std::uint32_t> sizes;
  std::vector<Digest> received;  // entry digests, in stream order
  Entry manifest_entry;
  bool have_manifest = false;

  EntryBatch batches[2];
  std::vector<StreamBlock> blocks;
  std::uint64_t entries_read = 0;  // only the reading thread touches it
  std::vector<ByteView> views;  // each batch's entries, and what they hash to
  std::vector<Digest> hashed, cell_roots;
  CODEX_TRY(read_ahead(
      batches, [&reader, &entries_read](EntryBatch& b) { return fill(reader, b, entries_read); },
      [](const EntryBatch& b) { return b.manifest_seen || b.at_end; },
      [&](EntryBatch& b) -> Status {
        if (b.manifest_seen) {
          std::swap(manifest_entry, b.entries[b.count - 1]);
          have_manifest = true;
        }
        std::size_t skip = 0;
        if (received.empty() && !out.sparse && b.count > 0 && b.entries[0].cid.codec() == codec::raw) {
          CODEX_TRY(read_leaf_list(b.entries[0], out.leaves));
          out.sparse = true;
          skip = 1;
        }
        const std::size_t count = (b.manifest_seen ? b.count - 1 : b.count) - std::min(skip, b.count);
        CODEX_TRY(check_entries(b, skip, count, received.size()));
        blocks.resize(count);
        views.resize(count);
        hashed.resize(count);
        for (std::size_t i = 0; i < count; ++i) views[i] = b.entries[skip + i].data;
        if (cell_size == 0) {
          sha256_parallel(views, hashed);
        } else {
          // Digests and cell roots together, a run of blocks per task on every core.
          cell_roots.resize(count);
          const std::size_t width = sha256_run_per_task(count, default_pool().size());
          default_pool().for_each((count + width - 1) / width, [&](std::size_t task) {
            const std::size_t first = task * width, n = std::min(width, count - first);
            block_digests_and_cell_roots(std::span<const ByteView>(views).subspan(first, n), cell_size,
                                         std::span<Digest>(hashed).subspan(first, n),
                                         std::span<Digest>(cell_roots).subspan(first, n));
          });
        }
        for (std::size_t i = 0; i < count; ++i) {
          const Entry& e = b.entries[skip + i];
          const Digest digest = *e.cid.sha256_digest();
          blocks[i] = {received.size() + i, digest, e.data, hashed[i] == digest, e.offset,
                       cell_size == 0 ? Digest{} : cell_roots[i]};
        }
        for (const StreamBlock& block : blocks) {
          received.push_back(block.digest);
          sizes.push_back(static_cast<std::uint32_t>(block.data.size()));
          if (block.intact) continue;
          if (!tolerate_corrupt)
            return make_error(Errc::corrupt, "block {} '{}' does not match its CID (its bytes hash to another digest)",
                              block.index, Cid::from_digest(codec::block, block.digest).to_string());
          out.corrupt.push_back(block.digest);
        }
        return on_batch(blocks);
      }));

  if (!have_manifest)
    return make_error(Errc::corrupt, "the stream from '{}' ended after {} blocks without a manifest block (truncated?)",
                      input.name(), received.size());
  if (!out.sparse) out.leaves = received;
  {
    Cid extra;
    Bytes extra_data;
    CODEX_TRY_ASSIGN(bool more, reader.next(extra, extra_data));
    if (more)
      return make_error(Errc::corrupt, "the stream goes on after its manifest block (next entry '{}')",
                        extra.to_string());
  }
  out.manifest_cid = manifest_entry.cid;
  out.manifest_bytes = std::move(manifest_entry.data);
  const Cid& cid = out.manifest_cid;
  if (manifest_cid(out.manifest_bytes) != cid)
    return make_error(Errc::corrupt, "manifest block '{}' does not match its CID", cid.to_string());
  auto decoded = decode_manifest(out.manifest_bytes);
  if (!decoded)
    return make_error(Errc::corrupt, "manifest '{}' is malformed: {}", cid.to_string(), decoded.error().message);
  out.manifest = std::move(*decoded);
  if (!header.roots.empty() && (header.roots.size() != 1 || header.roots[0] != cid))
    return make_error(Errc::corrupt, "the stream's header names root '{}', but its manifest is '{}'",
                      header.roots[0].to_string(), cid.to_string());
  CODEX_TRY(check_manifest(out, sizes, received));
  return out;
}

}  // namespace codex
