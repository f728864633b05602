// Interning of member identities: each MemberId met gets a small dense handle,
// its placement point is computed once, and the signed records members make
// about themselves (alive with certificate, left) are kept once, with the
// admission facts their certificate gave. A node's own tables then hold 4-byte handles instead of 32-byte
// ids. A daemon's node owns its directory; the simulator shares one directory
// among all its nodes so that 10,000 full membership views fit in memory.
// Sharing is sound because the directory only remembers facts about bytes
// (id -> point, certificate bytes); every node still verifies what it is
// told before acting on it. Not thread-safe: one thread drives all nodes
// sharing a directory.
#pragma once

#include <cstdint>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/protocol/crypto.hpp"
#include "codex/protocol/types.hpp"

namespace codex::protocol {

using MemberHandle = std::uint32_t;

class MemberDirectory {
 public:
  MemberHandle intern(const MemberId& id);
  // The handle of a known id, or nullopt-like kNone.
  static constexpr MemberHandle kNone = UINT32_MAX;
  MemberHandle find(const MemberId& id) const;
  const MemberId& id(MemberHandle h) const { return entries_[h].id; }
  const Digest& point(MemberHandle h) const { return entries_[h].point; }
  std::size_t size() const { return entries_.size(); }

  // A member's own signed record (alive or left) at one incarnation, as some
  // node accepted it after checking signature and certificate. Nodes pass on
  // records they accepted without each keeping a copy. A few recent
  // incarnations are kept per member.
  struct Record {
    std::uint32_t incarnation = 0;
    bool left = false;
    std::vector<Bytes> addresses;
    Bytes certificate;
    Bytes signature;
    Admission admission;
  };
  void remember(MemberHandle h, Record record);
  // The record at exactly this incarnation (alive or left as asked), or nullptr.
  const Record* record(MemberHandle h, std::uint32_t incarnation, bool left) const;
  // The newest record of this member, or nullptr.
  const Record* newest(MemberHandle h) const;

 private:
  struct Entry {
    MemberId id;
    Digest point;
    std::vector<Record> records;  // newest last, at most kRecordsKept
  };
  static constexpr std::size_t kRecordsKept = 4;
  // Open addressing over a power-of-two table of (id prefix, handle + 1)
  // pairs, linear probing, at most half full: a lookup (one per message
  // received, in a daemon and for each of a simulator's 10,000 nodes) costs
  // one cache miss in the table and one in the entry it finds, where a
  // node-based map cost three or four.
  struct Slot {
    std::uint64_t prefix = 0;
    std::uint32_t handle_plus_one = 0;  // 0: empty
  };
  std::size_t slot_of(const MemberId& id, std::uint64_t prefix) const;
  void grow();
  std::vector<Entry> entries_;
  std::vector<Slot> index_;
};

}  // namespace codex::protocol
