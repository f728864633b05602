// Interning of member ids (see directory.hpp for why it may be shared).
#include "codex/protocol/directory.hpp"

#include <algorithm>

namespace codex::protocol {

MemberHandle MemberDirectory::intern(const MemberId& id) {
  auto [it, inserted] = index_.try_emplace(id, MemberHandle(entries_.size()));
  if (inserted) entries_.push_back(Entry{id, member_point(id), {}});
  return it->second;
}

MemberHandle MemberDirectory::find(const MemberId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? kNone : it->second;
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
