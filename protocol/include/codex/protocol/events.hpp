// What flows in and out of a Node besides peer messages: local facts the
// daemon reports (a dataset published, a slot stored or damaged, a repair
// finished or failed), and the actions the core asks of it (fetch, rebuild or
// drop a slot; cancel a repair; membership changes for its connection gate).
#pragma once

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/protocol/types.hpp"

namespace codex::protocol {

// --- Local events (daemon -> core) ------------------------------------------

// This node has just stored every slot of a dataset (codex-put) and wants it
// placed. A plain dataset is only recorded as held here.
struct DatasetPublished {
  DatasetDescriptor dataset;
  // false: place every slot on other members (the publisher keeps its full
  // copy only until they hold their slots, then may go offline for good).
  bool place_on_self = true;
};
// A slot this node was asked to fetch or rebuild is now stored and verified
// against the manifest (FetchSlot or RebuildSlot done).
struct SlotStored {
  DatasetId dataset{};
  std::uint32_t slot = 0;
};
// A slot this node holds is damaged or gone (codex-verify found it, the disk
// failed, the operator deleted it). Its watchers are told at once.
struct SlotDamaged {
  DatasetId dataset{};
  std::uint32_t slot = 0;
};
// A FetchSlot or RebuildSlot could not be done (no sources, decode failed).
struct SlotFailed {
  DatasetId dataset{};
  std::uint32_t slot = 0;
};
// This node (restarted) still stores slot `slot` of a dataset that nobody
// else holds in the community's view: it holds it again and heartbeats it to
// `holders` (index = slot; as the other members say).
struct SlotResumed {
  DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  std::vector<std::optional<MemberId>> holders;
};
// This node stops holding a plain dataset.
struct DatasetForgotten {
  DatasetId dataset{};
};
// After a restart: this node reported slot `slot` of a dataset damaged `age`
// ms ago (a DropSlot with damaged set). As before the restart, it ignores
// requests to rebuild that slot for what is left of Config::repair_timeout
// (docs/protocol.md, Repair: a damaged slot is rebuilt elsewhere).
struct DamageRemembered {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  Time age = 0;
};
using LocalEvent = std::variant<DatasetPublished, SlotStored, SlotDamaged, SlotFailed, DatasetForgotten, SlotResumed,
                                DamageRemembered>;

// --- Actions (core -> daemon) -----------------------------------------------

// Copy slot `slot` of the dataset from one of `sources` (members holding it,
// best first), verify it against the manifest, store it, then report
// SlotStored (or SlotFailed).
struct FetchSlot {
  DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  std::vector<MemberId> sources;
};
// Rebuild lost slot `slot` by erasure decoding from any K of the other slots,
// held by `holders` (index = slot; absent where unknown or lost), check every
// rebuilt block against the manifest, store, then report SlotStored (or SlotFailed).
struct RebuildSlot {
  DatasetDescriptor dataset;
  std::uint32_t slot = 0;
  std::vector<std::optional<MemberId>> holders;
};
// Stop holding this slot and reclaim its space (handed over, or a better
// claimant won the repair, or it is damaged).
struct DropSlot {
  DatasetId dataset{};
  std::uint32_t slot = 0;
  // Dropped because this node reported it damaged (SlotDamaged, or a proof
  // it could not make): the daemon keeps that across restarts and tells a
  // restarted node (DamageRemembered).
  bool damaged = false;
};
// Abandon a FetchSlot/RebuildSlot in progress (a better claimant won).
struct CancelSlot {
  DatasetId dataset{};
  std::uint32_t slot = 0;
};
// A member's standing changed in this node's view (the daemon's admission
// gate and connection manager follow it).
struct MemberChanged {
  MemberId member{};
  MemberStatus status = MemberStatus::alive;
  std::vector<Bytes> addresses;  // as the member announced them (opaque to the core)
};
using Action = std::variant<FetchSlot, RebuildSlot, DropSlot, CancelSlot, MemberChanged>;

// One encoded protocol message for one member.
struct Outgoing {
  MemberId to{};
  Bytes payload;
};

// What one call into the Node produced. The caller sends the messages, does
// the actions, and clears it (calls append).
struct Output {
  std::vector<Outgoing> messages;
  std::vector<Action> actions;
  void clear() {
    messages.clear();
    actions.clear();
  }
};

}  // namespace codex::protocol
