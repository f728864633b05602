// Putting a CAR stream into the repository.
//
// Every block is checked as it arrives (dataset_stream) and appended to the
// batch's pack; nothing is visible until the manifest, which ends the stream,
// has been checked against the blocks. Only then does the batch commit. With
// --slots the held slots are known only once the manifest is read, so the
// batch keeps the blocks of those slots and drops the rest at commit; a
// corrupt block outside them is not an error (it is not kept). A sparse
// stream (a partial holder's export) must complete the slots it is put for,
// with what it carries and what is already stored.
#include <cstring>
#include <unordered_set>

#include "codex/dataset.hpp"
#include "dataset_stream.hpp"

namespace codex {
namespace {

std::uint32_t all_slots(const SteppedLayout& layout) {
  return layout.slots() == 32 ? ~0u : (1u << layout.slots()) - 1;
}

// The slots a stream leaves this repository holding: those asked for, which
// must then be complete; or, without --slots, every slot (a dense stream) or
// every slot a sparse stream completes.
Result<std::uint32_t> held_slots(const CheckedDataset& dataset, const PutOptions& options,
                                 const std::function<Result<bool>(const Digest&)>& available) {
  const SteppedLayout& layout = *dataset.layout;
  const Cid& cid = dataset.manifest_cid;
  std::uint32_t slots = options.slots.value_or(all_slots(layout));
  if ((slots & ~all_slots(layout)) != 0)
    return make_error(Errc::usage, "--slots names a slot past the {} slots (0-{}) of '{}'", layout.slots(),
                      layout.slots() - 1, cid.to_string());
  std::uint32_t complete = 0;
  std::string first_gap;
  for (std::uint32_t slot = 0; slot < layout.slots(); ++slot) {
    if (!(slots >> slot & 1u)) continue;
    bool whole = true;
    for (std::uint64_t i = layout.slot_begin(slot); i < layout.slot_end(slot) && whole; ++i) {
      if (layout.is_padding(i)) continue;
      CODEX_TRY_ASSIGN(whole, available(dataset.leaves[i]));
      if (!whole && first_gap.empty())
        first_gap = fmt::format("block {} '{}' of slot {}", i,
                                Cid::from_digest(codec::block, dataset.leaves[i]).to_string(), slot);
    }
    if (whole) complete |= 1u << slot;
  }
  if (options.slots ? complete != slots : complete == 0)
    return make_error(Errc::corrupt, "the stream does not carry all of {} of '{}': {} is neither in it nor stored",
                      options.slots ? "the slots asked for" : "any slot", cid.to_string(), first_gap);
  return complete;
}

}  // namespace

Result<PutResult> put_stream(Repository& repository, ByteSource& input, const PutOptions& options) {
  CODEX_TRY_ASSIGN(auto batch, repository.begin_batch());
  std::unordered_set<Digest, DigestHash> received;  // intact blocks of this stream
  std::uint64_t received_bytes = 0;
  CODEX_TRY_ASSIGN(CheckedDataset dataset,
                   read_dataset_stream(input, options.slots.has_value(), [&](std::span<const StreamBlock> blocks) -> Status {
                     for (const StreamBlock& block : blocks) {
                       received_bytes += block.data.size();
                       if (!block.intact) continue;
                       received.insert(block.digest);
                       CODEX_TRY(batch->add_block(block.digest, block.data));
                     }
                     if (options.on_progress) options.on_progress(received_bytes);
                     return Status();
                   }));
  const Cid& cid = dataset.manifest_cid;
  const auto& layout = dataset.layout;
  const auto& leaves = dataset.leaves;
  auto available = [&](const Digest& digest) -> Result<bool> {
    if (digest == empty_digest() || received.count(digest)) return true;
    CODEX_TRY_ASSIGN(auto location, repository.locate_block(digest));
    return location.has_value();
  };

  std::optional<std::uint32_t> slots;
  std::function<bool(const Digest&)> keep;
  std::unordered_set<Digest, DigestHash> held;
  if (!layout) {
    if (options.slots)
      return make_error(Errc::usage, "--slots applies to protected datasets; '{}' is a plain dataset", cid.to_string());
    for (std::uint64_t i = 0; i < leaves.size(); ++i) {
      CODEX_TRY_ASSIGN(bool here, available(leaves[i]));
      if (!here)
        return make_error(Errc::corrupt, "the stream lacks block {} '{}' of plain dataset '{}'", i,
                          Cid::from_digest(codec::block, leaves[i]).to_string(), cid.to_string());
    }
  } else {
    CODEX_TRY_ASSIGN(slots, held_slots(dataset, options, available));
    for (const Digest& bad : dataset.corrupt)
      for (std::uint64_t i = 0; i < leaves.size(); ++i)
        if (leaves[i] == bad && (*slots >> layout->slot_of(i) & 1u))
          return make_error(Errc::corrupt, "block {} '{}' of held slot {} does not match its CID", i,
                            Cid::from_digest(codec::block, bad).to_string(), layout->slot_of(i));
    if (*slots != all_slots(*layout)) {
      for (std::uint64_t i = 0; i < leaves.size(); ++i)
        if (*slots >> layout->slot_of(i) & 1u) held.insert(leaves[i]);
      keep = [&held](const Digest& d) { return held.count(d) != 0; };
    }
  }

  batch->add_tree(dataset.manifest.tree, leaves);
  DatasetRecord record;
  record.manifest_cid = cid;
  record.manifest_bytes = dataset.manifest_bytes;
  record.manifest = dataset.manifest;
  if (slots && *slots != all_slots(*layout)) record.held_slots = *slots;
  batch->add_dataset(std::move(record));
  CODEX_TRY(batch->commit(keep));

  PutResult result;
  result.manifest_cid = cid;
  result.blocks_received = received.size();
  result.blocks_stored = batch->blocks_written();
  result.bytes_written = batch->bytes_written();
  result.held_slots = slots;
  result.manifest = std::move(dataset.manifest);
  return result;
}

}  // namespace codex
