// The sorted ring of live members and XOR-closest queries over it.
//
// Sorted by point, the ring is the leaf order of a binary trie: the members
// sharing a prefix with a key form one contiguous range, split at each bit by
// a binary search. Descending along the key's bits, every member in the
// "near" half (same bit as the key) is closer than every member in the "far"
// half, so the `count` closest are: all of the near half if it is smaller
// than `count`, topped up from the far half, recursively.
#include "codex/protocol/placement.hpp"

#include <algorithm>

namespace codex::protocol {

Digest xor_distance(const Digest& a, const Digest& b) {
  Digest d;
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = a[i] ^ b[i];
  return d;
}

bool closer(const Digest& key, const Digest& a_point, const MemberId& a_id, const Digest& b_point,
            const MemberId& b_id) {
  for (std::size_t i = 0; i < key.size(); ++i) {
    std::uint8_t da = a_point[i] ^ key[i], db = b_point[i] ^ key[i];
    if (da != db) return da < db;
  }
  return a_id < b_id;
}

void Ring::insert(MemberHandle member) {
  const Digest& p = directory_->point(member);
  auto it = std::lower_bound(members_.begin(), members_.end(), p,
                             [&](MemberHandle h, const Digest& key) { return directory_->point(h) < key; });
  if (it != members_.end() && *it == member) return;
  // Equal points (the same id) cannot be two handles; insert before the first larger.
  members_.insert(it, member);
}

void Ring::insert_many(std::span<const MemberHandle> members) {
  const auto by_point = [&](MemberHandle a, MemberHandle b) { return directory_->point(a) < directory_->point(b); };
  const std::size_t old = members_.size();
  members_.insert(members_.end(), members.begin(), members.end());
  // Members given in point order (a simulator restoring 10,000 views of the
  // same community) are merged in linear time instead of sorted again.
  if (std::is_sorted(members_.begin() + std::ptrdiff_t(old), members_.end(), by_point))
    std::inplace_merge(members_.begin(), members_.begin() + std::ptrdiff_t(old), members_.end(), by_point);
  else
    std::sort(members_.begin(), members_.end(), by_point);
  members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
}

void Ring::erase(MemberHandle member) {
  const Digest& p = directory_->point(member);
  auto it = std::lower_bound(members_.begin(), members_.end(), p,
                             [&](MemberHandle h, const Digest& key) { return directory_->point(h) < key; });
  if (it != members_.end() && *it == member) members_.erase(it);
}

bool Ring::contains(MemberHandle member) const {
  const Digest& p = directory_->point(member);
  auto it = std::lower_bound(members_.begin(), members_.end(), p,
                             [&](MemberHandle h, const Digest& key) { return directory_->point(h) < key; });
  return it != members_.end() && *it == member;
}

bool Ring::bit_of(MemberHandle h, unsigned bit) const {
  return (directory_->point(h)[bit / 8] >> (7 - bit % 8)) & 1;
}

void Ring::closest_in(std::size_t begin, std::size_t end, unsigned bit, const Digest& key,
                      std::size_t count, std::vector<MemberHandle>& out) const {
  while (count > 0 && begin < end) {
    if (end - begin <= count || bit >= 256) {
      std::size_t first = out.size();
      out.insert(out.end(), members_.begin() + begin, members_.begin() + end);
      std::sort(out.begin() + first, out.end(), [&](MemberHandle a, MemberHandle b) {
        return closer(key, directory_->point(a), directory_->id(a), directory_->point(b), directory_->id(b));
      });
      if (out.size() - first > count) out.resize(first + count);
      return;
    }
    // First member in [begin, end) with this bit set (members share the prefix above it).
    std::size_t lo = begin, hi = end;
    while (lo < hi) {
      std::size_t mid = lo + (hi - lo) / 2;
      if (bit_of(members_[mid], bit)) hi = mid; else lo = mid + 1;
    }
    bool key_bit = (key[bit / 8] >> (7 - bit % 8)) & 1;
    std::size_t near_begin = key_bit ? lo : begin, near_end = key_bit ? end : lo;
    std::size_t far_begin = key_bit ? begin : lo, far_end = key_bit ? lo : end;
    std::size_t near_size = near_end - near_begin;
    if (near_size >= count) {
      begin = near_begin;
      end = near_end;
    } else {
      closest_in(near_begin, near_end, bit + 1, key, near_size, out);
      count -= near_size;
      begin = far_begin;
      end = far_end;
    }
    ++bit;
  }
}

std::vector<MemberHandle> Ring::closest(const Digest& key, std::size_t count) const {
  std::vector<MemberHandle> out;
  out.reserve(std::min(count, members_.size()));
  closest_in(0, members_.size(), 0, key, count, out);
  return out;
}

std::vector<std::optional<MemberHandle>> place_dataset(const Ring& ring, const DatasetDescriptor& dataset,
                                                       std::optional<MemberHandle> exclude) {
  std::vector<std::optional<MemberHandle>> holders(dataset.slots());
  std::vector<MemberHandle> chosen;
  for (std::uint32_t slot = 0; slot < dataset.slots(); ++slot) {
    auto pick = ring.closest_except(slot_point(dataset.id, slot), [&](MemberHandle h) {
      return h == exclude || std::find(chosen.begin(), chosen.end(), h) != chosen.end();
    }, dataset.slots() + 2);
    if (!pick) break;
    holders[slot] = *pick;
    chosen.push_back(*pick);
  }
  return holders;
}

}  // namespace codex::protocol
