// Putting a CAR stream into the repository.
//
// Every block is checked as it arrives (dataset_stream) and appended to the
// batch's pack; nothing is visible until the manifest, which ends the stream,
// has been checked against the blocks. Only then does the batch commit. With
// --slots the held slots are known only once the manifest is read, so the
// batch keeps the blocks of those slots and drops the rest at commit; a
// corrupt block outside them is not an error (it is not kept).
#include <cstring>
#include <unordered_set>

#include "codex/dataset.hpp"
#include "dataset_stream.hpp"

namespace codex {
namespace {

struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept {
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};

std::uint32_t all_slots(const SteppedLayout& layout) {
  return layout.slots() == 32 ? ~0u : (1u << layout.slots()) - 1;
}

}  // namespace

Result<PutResult> put_stream(Repository& repository, ByteSource& input, const PutOptions& options) {
  CODEX_TRY_ASSIGN(auto batch, repository.begin_batch());
  CODEX_TRY_ASSIGN(CheckedDataset dataset,
                   read_dataset_stream(input, options.slots.has_value(), [&](std::span<const StreamBlock> blocks) -> Status {
                     for (const StreamBlock& block : blocks)
                       if (block.intact) CODEX_TRY(batch->add_block(block.digest, block.data));
                     return Status();
                   }));
  const Cid& cid = dataset.manifest_cid;
  const auto& layout = dataset.layout;
  const auto& leaves = dataset.leaves;

  std::function<bool(const Digest&)> keep;
  std::unordered_set<Digest, DigestHash> held;
  if (options.slots) {
    if (!layout)
      return make_error(Errc::usage, "--slots applies to protected datasets; '{}' is a plain dataset", cid.to_string());
    const std::uint32_t slots = *options.slots;
    if ((slots & ~all_slots(*layout)) != 0)
      return make_error(Errc::usage, "--slots names a slot past the {} slots (0-{}) of '{}'", layout->slots(),
                        layout->slots() - 1, cid.to_string());
    for (std::uint64_t index : dataset.corrupt)
      if (slots >> layout->slot_of(index) & 1u)
        return make_error(Errc::corrupt, "block {} '{}' of held slot {} does not match its CID", index,
                          Cid::from_digest(codec::block, leaves[index]).to_string(), layout->slot_of(index));
    for (std::uint64_t i = 0; i < leaves.size(); ++i)
      if (slots >> layout->slot_of(i) & 1u) held.insert(leaves[i]);
    keep = [&held](const Digest& d) { return held.count(d) != 0; };
  }

  batch->add_tree(dataset.manifest.tree, leaves);
  DatasetRecord record;
  record.manifest_cid = cid;
  record.manifest_bytes = dataset.manifest_bytes;
  record.manifest = dataset.manifest;
  if (options.slots && *options.slots != all_slots(*layout)) record.held_slots = *options.slots;
  batch->add_dataset(std::move(record));
  CODEX_TRY(batch->commit(keep));

  PutResult result;
  result.manifest_cid = cid;
  result.blocks_received = leaves.size();
  result.blocks_stored = batch->blocks_written();
  result.bytes_written = batch->bytes_written();
  result.manifest = std::move(dataset.manifest);
  return result;
}

}  // namespace codex
