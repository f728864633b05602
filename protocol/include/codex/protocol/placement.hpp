// Placement by XOR distance (Kademlia's rule, the Codex whitepaper's slot
// dispersal): slot i of dataset d goes to the live member whose point is
// closest to slot_point(d, i), skipping members that hold another slot of d.
//
// Ring keeps the live members' points sorted, so the m closest members to a
// key are found by descending the implicit binary trie over the sorted array
// (binary search per bit, O(m log m + 256 log N)), not by scanning N members.
// Because the rule depends only on the member set, a join or leave moves only
// the slots whose closest member changes: about (K+M)/N of them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "codex/protocol/directory.hpp"
#include "codex/protocol/types.hpp"

namespace codex::protocol {

// XOR distance between two points, compared as a big-endian 256-bit number.
Digest xor_distance(const Digest& a, const Digest& b);
// The claim order: smaller distance first, then smaller member id.
bool closer(const Digest& key, const Digest& a_point, const MemberId& a_id, const Digest& b_point,
            const MemberId& b_id);

class Ring {
 public:
  explicit Ring(const MemberDirectory& directory) : directory_(&directory) {}
  // Idempotent.
  void insert(MemberHandle member);
  // Many at once (one sort instead of one shift per member).
  void insert_many(std::span<const MemberHandle> members);
  void erase(MemberHandle member);
  bool contains(MemberHandle member) const;
  std::size_t size() const { return members_.size(); }
  std::span<const MemberHandle> members() const { return members_; }

  // The `count` members closest to `key`, closest first (fewer if the ring is smaller).
  std::vector<MemberHandle> closest(const Digest& key, std::size_t count) const;
  // The closest member to `key` that `skip` does not exclude.
  template <class Skip>
  std::optional<MemberHandle> closest_except(const Digest& key, Skip&& skip, std::size_t hint = 8) const {
    for (std::size_t want = hint;; want *= 4) {
      auto near = closest(key, want);
      for (MemberHandle h : near)
        if (!skip(h)) return h;
      if (near.size() < want) return std::nullopt;
    }
  }

 private:
  void closest_in(std::size_t begin, std::size_t end, unsigned bit, const Digest& key,
                  std::size_t count, std::vector<MemberHandle>& out) const;
  bool bit_of(MemberHandle h, unsigned bit) const;
  const MemberDirectory* directory_;
  std::vector<MemberHandle> members_;  // sorted by point
};

// Places every slot of a dataset on a distinct member: slot 0 first, each to
// the closest member not already chosen. Fewer members than slots: the
// remaining slots get nullopt. `exclude` (when given) is never chosen: a
// publisher that means to go offline places its dataset on the others.
std::vector<std::optional<MemberHandle>> place_dataset(const Ring& ring, const DatasetDescriptor& dataset,
                                                       std::optional<MemberHandle> exclude = std::nullopt);

}  // namespace codex::protocol
