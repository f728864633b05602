// Putting a CAR stream into the repository.
//
// Every entry is checked as it arrives (CID codec, digest of the bytes) and
// appended to the batch's pack; nothing is visible until the manifest, which
// ends the stream, has been checked against the tree of the entries' CIDs.
// Only then does the batch commit. With --slots the held slots are known only
// once the manifest is read, so the batch keeps the blocks of those slots and
// drops the rest at commit; a corrupt block outside them is not an error.
#include <cstring>
#include <future>
#include <unordered_set>

#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/layout.hpp"
#include "codex/parallel.hpp"

namespace codex {
namespace {

constexpr std::size_t kEntriesPerBatch = 64;

struct Entry {
  Cid cid;
  Bytes data;
  bool intact = false;
};

struct EntryBatch {
  std::vector<Entry> entries = std::vector<Entry>(kEntriesPerBatch);
  std::size_t count = 0;
  bool manifest_seen = false;  // the last entry read is the manifest
  bool at_end = false;
};

// Reads entries up to the batch size, the manifest, or the end.
Result<bool> fill(CarReader& reader, EntryBatch& batch) {
  batch.count = 0;
  while (batch.count < kEntriesPerBatch) {
    Entry& entry = batch.entries[batch.count];
    CODEX_TRY_ASSIGN(bool got, reader.next(entry.cid, entry.data));
    if (!got) {
      batch.at_end = true;
      return true;
    }
    ++batch.count;
    if (entry.cid.codec() == codec::manifest) {
      batch.manifest_seen = true;
      return true;
    }
  }
  return true;
}

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

}  // namespace

Result<PutResult> put_stream(Repository& repository, ByteSource& input, const PutOptions& options) {
  CarReader reader(input);
  CODEX_TRY_ASSIGN(CarHeader header, reader.read_header());
  CODEX_TRY_ASSIGN(auto batch, repository.begin_batch());

  std::vector<Digest> leaves;       // claimed digests, in stream (= index) order
  std::vector<std::uint32_t> sizes;
  std::vector<std::uint64_t> corrupt;  // indices whose bytes do not match their CID
  Entry manifest_entry;
  bool have_manifest = false;

  EntryBatch batches[2];
  int current = 0;
  CODEX_TRY(fill(reader, batches[0]));
  WorkerPool& pool = default_pool();
  for (;;) {
    EntryBatch& b = batches[current];
    const bool last = b.manifest_seen || b.at_end;
    std::future<Result<bool>> next;
    if (!last) next = std::async(std::launch::async, [&reader, &batches, current] {
      return fill(reader, batches[1 - current]);
    });
    const std::size_t blocks = b.manifest_seen ? b.count - 1 : b.count;
    Status checked;
    for (std::size_t i = 0; i < blocks && checked.ok(); ++i) {
      const Cid& cid = b.entries[i].cid;
      if (cid.codec() != codec::block || !cid.sha256_digest())
        checked = make_error(Errc::corrupt, "entry {} of the stream has CID '{}' ({}), not a sha2-256 codex-block",
                             leaves.size() + i, cid.to_string(), codec_name(cid.codec()));
    }
    if (checked.ok()) {
      pool.for_each(blocks, [&](std::size_t i) {
        Entry& e = b.entries[i];
        e.intact = sha256(e.data) == *e.cid.sha256_digest();
      });
      for (std::size_t i = 0; i < blocks && checked.ok(); ++i) {
        Entry& e = b.entries[i];
        const std::uint64_t index = leaves.size();
        if (e.data.size() > kMaxBlockSize) {
          checked = make_error(Errc::corrupt, "block {} '{}' is {} bytes, larger than any block size", index,
                               e.cid.to_string(), e.data.size());
          break;
        }
        const Digest digest = *e.cid.sha256_digest();
        leaves.push_back(digest);
        sizes.push_back(static_cast<std::uint32_t>(e.data.size()));
        if (!e.intact) {
          if (!options.slots) {
            checked = make_error(Errc::corrupt, "block {} '{}' does not match its CID (its bytes hash to another digest)",
                                 index, e.cid.to_string());
            break;
          }
          corrupt.push_back(index);
          continue;
        }
        checked = batch->add_block(digest, e.data);
      }
    }
    if (b.manifest_seen) {
      std::swap(manifest_entry, b.entries[b.count - 1]);
      have_manifest = true;
    }
    if (last) {
      CODEX_TRY(checked);
      break;
    }
    auto filled = next.get();
    CODEX_TRY(checked);
    CODEX_TRY(filled);
    current = 1 - current;
  }

  if (!have_manifest)
    return make_error(Errc::corrupt, "the stream from '{}' ended after {} blocks without a manifest block (truncated?)",
                      input.name(), leaves.size());
  {
    Cid extra;
    Bytes extra_data;
    CODEX_TRY_ASSIGN(bool more, reader.next(extra, extra_data));
    if (more)
      return make_error(Errc::corrupt, "the stream goes on after its manifest block (next entry '{}')",
                        extra.to_string());
  }
  const Cid& cid = manifest_entry.cid;
  if (manifest_cid(manifest_entry.data) != cid)
    return make_error(Errc::corrupt, "manifest block '{}' does not match its CID", cid.to_string());
  auto decoded = decode_manifest(manifest_entry.data);
  if (!decoded)
    return make_error(Errc::corrupt, "manifest '{}' is malformed: {}", cid.to_string(), decoded.error().message);
  Manifest& manifest = *decoded;
  if (!header.roots.empty() && (header.roots.size() != 1 || header.roots[0] != cid))
    return make_error(Errc::corrupt, "the stream's header names root '{}', but its manifest is '{}'",
                      header.roots[0].to_string(), cid.to_string());
  if (manifest.codec != codec::block || manifest.hcodec != multihash_code::sha2_256)
    return make_error(Errc::corrupt, "manifest '{}' uses block codec {} with hash {}; only codex-block/sha2-256 is supported",
                      cid.to_string(), codec_name(manifest.codec), manifest.hcodec);
  if (manifest.block_size == 0 || manifest.block_size > kMaxBlockSize)
    return make_error(Errc::corrupt, "manifest '{}' has block size {} (supported: 1 to {})", cid.to_string(),
                      manifest.block_size, kMaxBlockSize);
  const std::uint64_t expected_blocks = manifest.block_count();
  if (leaves.size() != expected_blocks)
    return make_error(Errc::corrupt, "the stream has {} blocks but manifest '{}' describes {} ({} bytes in blocks of {})",
                      leaves.size(), cid.to_string(), expected_blocks, manifest.dataset_size, manifest.block_size);

  std::optional<SteppedLayout> layout;
  if (manifest.is_protected()) {
    const ErasureInfo& ec = *manifest.erasure;
    std::uint64_t data_blocks = std::max<std::uint64_t>(
        1, (ec.original_dataset_size + manifest.block_size - 1) / manifest.block_size);
    CODEX_TRY_ASSIGN(layout, SteppedLayout::make(data_blocks, ec.k, ec.m));
  }
  static const Digest kEmpty = sha256(ByteView());
  for (std::uint64_t i = 0; i < leaves.size(); ++i) {
    const bool padding = layout && layout->is_padding(i);
    if (padding ? (leaves[i] != kEmpty) : (sizes[i] != manifest.block_size))
      return make_error(Errc::corrupt, "block {} '{}' is {} bytes; manifest '{}' expects {}", i,
                        Cid::from_digest(codec::block, leaves[i]).to_string(), sizes[i], cid.to_string(),
                        padding ? "the empty padding block" : fmt::format("{} bytes", manifest.block_size));
  }
  CODEX_TRY_ASSIGN(Digest root, codex_tree_root(leaves));
  if (Cid::from_digest(codec::root, root) != manifest.tree)
    return make_error(Errc::corrupt, "the stream's blocks do not form the tree '{}' of manifest '{}' (they give '{}')",
                      manifest.tree.to_string(), cid.to_string(), Cid::from_digest(codec::root, root).to_string());
  if (layout) {
    CODEX_TRY_ASSIGN(Digest original, codex_tree_root(std::span<const Digest>(leaves.data(), layout->blocks)));
    if (Cid::from_digest(codec::root, original) != manifest.erasure->original_tree)
      return make_error(Errc::corrupt, "the data blocks of protected manifest '{}' do not form its original tree '{}'",
                        cid.to_string(), manifest.erasure->original_tree.to_string());
  }

  std::function<bool(const Digest&)> keep;
  std::unordered_set<Digest, DigestHash> held;
  if (options.slots) {
    if (!layout)
      return make_error(Errc::usage, "--slots applies to protected datasets; '{}' is a plain dataset", cid.to_string());
    const std::uint32_t slots = *options.slots;
    if (slots == 0 || (layout->slots() < 32 && (slots >> layout->slots()) != 0))
      return make_error(Errc::usage, "--slots names a slot past the {} slots of '{}'", layout->slots(), cid.to_string());
    for (std::uint64_t index : corrupt)
      if (slots >> layout->slot_of(index) & 1u)
        return make_error(Errc::corrupt, "block {} '{}' of held slot {} does not match its CID", index,
                          Cid::from_digest(codec::block, leaves[index]).to_string(), layout->slot_of(index));
    for (std::uint64_t i = 0; i < leaves.size(); ++i)
      if (slots >> layout->slot_of(i) & 1u) held.insert(leaves[i]);
    keep = [&held](const Digest& d) { return held.count(d) != 0; };
  }

  PutResult result;
  result.manifest_cid = cid;
  result.blocks_received = leaves.size();
  batch->add_tree(manifest.tree, leaves);
  DatasetRecord record;
  record.manifest_cid = cid;
  record.manifest_bytes = manifest_entry.data;
  record.manifest = manifest;
  if (options.slots && layout && *options.slots != (layout->slots() == 32 ? ~0u : (1u << layout->slots()) - 1))
    record.held_slots = *options.slots;
  batch->add_dataset(std::move(record));
  CODEX_TRY(batch->commit(keep));
  result.bytes_written = batch->bytes_written();
  result.blocks_stored = batch->blocks_written();
  result.manifest = std::move(manifest);
  return result;
}

}  // namespace codex
