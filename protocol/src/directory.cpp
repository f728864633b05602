// Interning of member ids (see directory.hpp for why it may be shared).
#include "codex/protocol/directory.hpp"

#include <algorithm>

namespace codex::protocol {

namespace {

std::uint64_t id_prefix(const MemberId& id) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | id[i];
  return v;
}

}  // namespace

// The slot holding `id`, or the empty slot where it would go. Ids are
// public keys (uniform), but a sender may choose which ids it names: the
// probe position mixes all 32 bytes, so that ids sharing a prefix do not
// pile up in one run.
std::size_t MemberDirectory::slot_of(const MemberId& id, std::uint64_t prefix) const {
  std::uint64_t h = prefix;
  for (int i = 8; i < 32; i += 8) {
    std::uint64_t w = 0;
    for (int j = 0; j < 8; ++j) w = w << 8 | id[i + j];
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
  }
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = std::size_t(h) & mask;; i = (i + 1) & mask) {
    const Slot& s = index_[i];
    if (s.handle_plus_one == 0) return i;
    if (s.prefix == prefix && entries_[s.handle_plus_one - 1].id == id) return i;
  }
}

void MemberDirectory::grow() {
  std::vector<Slot> old = std::move(index_);
  index_.assign(std::max<std::size_t>(64, old.size() * 2), Slot{});
  for (const Slot& s : old)
    if (s.handle_plus_one != 0) {
      const MemberId& id = entries_[s.handle_plus_one - 1].id;
      index_[slot_of(id, s.prefix)] = s;
    }
}

MemberHandle MemberDirectory::intern(const MemberId& id) {
  if ((entries_.size() + 1) * 2 > index_.size()) grow();
  const std::uint64_t prefix = id_prefix(id);
  Slot& s = index_[slot_of(id, prefix)];
  if (s.handle_plus_one == 0) {
    s = Slot{prefix, std::uint32_t(entries_.size() + 1)};
    entries_.push_back(Entry{id, member_point(id), {}});
  }
  return s.handle_plus_one - 1;
}

MemberHandle MemberDirectory::find(const MemberId& id) const {
  if (index_.empty()) return kNone;
  const Slot& s = index_[slot_of(id, id_prefix(id))];
  return s.handle_plus_one == 0 ? kNone : s.handle_plus_one - 1;
}

void MemberDirectory::remember(MemberHandle h, Record record) {
  auto& records = entries_[h].records;
  for (auto& r : records)
    if (r.incarnation == record.incarnation && r.left == record.left) return;
  auto at = std::find_if(records.begin(), records.end(), [&](const Record& r) {
    return r.incarnation > record.incarnation || (r.incarnation == record.incarnation && r.left);
  });
  records.insert(at, std::move(record));
  if (records.size() > kRecordsKept) records.erase(records.begin());
}

const MemberDirectory::Record* MemberDirectory::record(MemberHandle h, std::uint32_t incarnation, bool left) const {
  for (const auto& r : entries_[h].records)
    if (r.incarnation == incarnation && r.left == left) return &r;
  return nullptr;
}

const MemberDirectory::Record* MemberDirectory::newest(MemberHandle h) const {
  const auto& records = entries_[h].records;
  return records.empty() ? nullptr : &records.back();
}

}  // namespace codex::protocol
