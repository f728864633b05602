// The binary encoding of every protocol message (docs/protocol.md, "Wire
// format"). One Writer and one Reader; each message is a sequence of field
// writes, and its decoder the same sequence of reads, so the two cannot
// drift. The Reader refuses truncation, non-minimal varints, counts above the
// bound and trailing bytes, naming the field.
#include "codex/protocol/messages.hpp"

#include <algorithm>

#include "codex/varint.hpp"

namespace codex::protocol {
namespace {

class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void uint(std::uint64_t v) { put_varint(out_, v); }
  void id(const std::array<std::uint8_t, 32>& v) { out_.insert(out_.end(), v.begin(), v.end()); }
  void bytes(ByteView v) {
    put_varint(out_, v.size());
    out_.insert(out_.end(), v.begin(), v.end());
  }
  // Eight bytes written in place, not pushed one by one: a SyncRequest is
  // 256 of these, and pushing them byte by byte (a capacity check each) was
  // ~3.5% of the 10,000-member simulation's CPU.
  void u64be(std::uint64_t v) { put_u64be(grow(8), v); }
  // n more bytes at the end, for the caller to fill.
  std::uint8_t* grow(std::size_t n) {
    const std::size_t at = out_.size();
    out_.resize(at + n);
    return out_.data() + at;
  }
  static void put_u64be(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = std::uint8_t(v >> (8 * (7 - i)));
  }
  void reserve_more(std::size_t n) { out_.reserve(out_.size() + n); }
  void flag(bool v) { u8(v ? 1 : 0); }
  void optional_id(const std::optional<MemberId>& v) {
    flag(v.has_value());
    if (v) id(*v);
  }
  void descriptor(const DatasetDescriptor& d) {
    id(d.id);
    u8(d.k);
    u8(d.m);
    u8(d.l0);
    u8(d.plain ? 1 : 0);
  }
  Bytes& out() { return out_; }

 private:
  Bytes& out_;
};

class Reader {
 public:
  Reader(ByteView data, std::uint32_t max_list) : data_(data), max_list_(max_list) {}
  std::size_t pos() const { return pos_; }
  Result<std::uint8_t> u8(const char* field) {
    if (pos_ >= data_.size()) return truncated(field);
    return data_[pos_++];
  }
  Result<std::uint64_t> uint(const char* field) {
    auto v = read_varint(data_, pos_);
    if (!v) return make_error(Errc::corrupt, "message field '{}' at byte {}: {}", field, pos_, v.error().message);
    return *v;
  }
  Result<std::uint32_t> u32(const char* field) {
    CODEX_TRY_ASSIGN(auto v, uint(field));
    if (v > UINT32_MAX) return make_error(Errc::corrupt, "message field '{}' too large: {}", field, v);
    return std::uint32_t(v);
  }
  Result<std::array<std::uint8_t, 32>> id(const char* field) {
    if (data_.size() - pos_ < 32) return truncated(field);
    std::array<std::uint8_t, 32> v;
    std::copy_n(data_.begin() + pos_, 32, v.begin());
    pos_ += 32;
    return v;
  }
  Result<Bytes> bytes(const char* field, std::size_t max) {
    CODEX_TRY_ASSIGN(auto n, uint(field));
    if (n > max) return make_error(Errc::corrupt, "message field '{}' too long: {} bytes (at most {})", field, n, max);
    if (data_.size() - pos_ < n) return truncated(field);
    Bytes v(data_.begin() + pos_, data_.begin() + pos_ + n);
    pos_ += n;
    return v;
  }
  Result<std::uint64_t> u64be(const char* field) {
    if (data_.size() - pos_ < 8) return truncated(field);
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | data_[pos_++];
    return v;
  }
  // n big-endian 64-bit words at once, if that many bytes remain (else
  // false, nothing read: the caller reads them one by one, so that a
  // truncated list is refused naming the same field and byte as before).
  bool u64be_all(std::span<std::uint64_t> out) {
    if ((data_.size() - pos_) / 8 < out.size()) return false;
    for (auto& v : out) {
      v = 0;
      for (int i = 0; i < 8; ++i) v = v << 8 | data_[pos_ + i];
      pos_ += 8;
    }
    return true;
  }
  Result<bool> flag(const char* field) {
    CODEX_TRY_ASSIGN(auto v, u8(field));
    if (v > 1) return make_error(Errc::corrupt, "message field '{}' is not a boolean: {}", field, v);
    return v == 1;
  }
  Result<std::size_t> count(const char* field) {
    CODEX_TRY_ASSIGN(auto n, uint(field));
    if (n > max_list_) return make_error(Errc::corrupt, "message list '{}' too long: {} (at most {})", field, n, max_list_);
    // Every item takes at least one byte: a count beyond the rest is a lie.
    if (n > data_.size() - pos_) return truncated(field);
    return std::size_t(n);
  }
  Result<std::optional<MemberId>> optional_id(const char* field) {
    CODEX_TRY_ASSIGN(bool present, flag(field));
    if (!present) return std::optional<MemberId>();
    CODEX_TRY_ASSIGN(auto v, id(field));
    return std::optional<MemberId>(v);
  }
  Result<DatasetDescriptor> descriptor() {
    DatasetDescriptor d;
    CODEX_TRY_ASSIGN(d.id, id("dataset"));
    CODEX_TRY_ASSIGN(d.k, u8("k"));
    CODEX_TRY_ASSIGN(d.m, u8("m"));
    CODEX_TRY_ASSIGN(d.l0, u8("l0"));
    CODEX_TRY_ASSIGN(d.plain, flag("plain"));
    if (d.k == 0) return make_error(Errc::corrupt, "message field 'k' is zero");
    if (d.plain && (d.k != 1 || d.m != 0))
      return make_error(Errc::corrupt, "plain dataset with k={} m={} (must be 1 and 0)", d.k, d.m);
    if (!d.plain && (d.l0 == 0 || d.l0 > std::max<int>(d.m, 1)))
      return make_error(Errc::corrupt, "message field 'l0' = {} out of [1, max(m,1)]", d.l0);
    return d;
  }
  Status end() {
    if (pos_ != data_.size())
      return make_error(Errc::corrupt, "{} trailing bytes after the message", data_.size() - pos_);
    return {};
  }

 private:
  Error truncated(const char* field) {
    return make_error(Errc::corrupt, "message truncated in field '{}' at byte {}", field, pos_);
  }
  ByteView data_;
  std::size_t pos_ = 0;
  std::uint32_t max_list_;
};

constexpr std::size_t kMaxSmall = 256;        // signatures, nonces, challenges, addresses
constexpr std::size_t kSignatureRoom = 72;    // a 64-byte signature and its length, reserved before signing
constexpr std::size_t kMaxCertificate = 4096;
constexpr std::size_t kMaxProof = 1u << 20;

void write_update(Writer& w, const Update& u) {
  w.u8(std::uint8_t(u.kind));
  switch (u.kind) {
    case UpdateKind::alive:
      w.id(u.member);
      w.uint(u.incarnation);
      w.uint(u.addresses.size());
      for (const auto& a : u.addresses) w.bytes(a);
      w.bytes(u.certificate);
      w.bytes(u.signature);
      break;
    case UpdateKind::suspect:
    case UpdateKind::dead:
      w.id(u.member);
      w.uint(u.incarnation);
      w.id(u.accuser);
      break;
    case UpdateKind::left:
      w.id(u.member);
      w.uint(u.incarnation);
      w.bytes(u.signature);
      break;
    case UpdateKind::revocation:
      w.bytes(u.revocation);
      break;
  }
}

Result<Update> read_update(Reader& r) {
  Update u;
  CODEX_TRY_ASSIGN(auto kind, r.u8("update kind"));
  if (kind < 1 || kind > 5) return make_error(Errc::corrupt, "unknown membership update kind {}", kind);
  u.kind = UpdateKind(kind);
  switch (u.kind) {
    case UpdateKind::alive: {
      CODEX_TRY_ASSIGN(u.member, r.id("member"));
      CODEX_TRY_ASSIGN(u.incarnation, r.u32("incarnation"));
      CODEX_TRY_ASSIGN(auto n, r.count("addresses"));
      if (n > 16) return make_error(Errc::corrupt, "too many addresses: {} (at most 16)", n);
      for (std::size_t i = 0; i < n; ++i) {
        CODEX_TRY_ASSIGN(auto a, r.bytes("address", kMaxSmall));
        u.addresses.push_back(std::move(a));
      }
      CODEX_TRY_ASSIGN(u.certificate, r.bytes("certificate", kMaxCertificate));
      CODEX_TRY_ASSIGN(u.signature, r.bytes("signature", kMaxSmall));
      break;
    }
    case UpdateKind::suspect:
    case UpdateKind::dead: {
      CODEX_TRY_ASSIGN(u.member, r.id("member"));
      CODEX_TRY_ASSIGN(u.incarnation, r.u32("incarnation"));
      CODEX_TRY_ASSIGN(u.accuser, r.id("accuser"));
      break;
    }
    case UpdateKind::left: {
      CODEX_TRY_ASSIGN(u.member, r.id("member"));
      CODEX_TRY_ASSIGN(u.incarnation, r.u32("incarnation"));
      CODEX_TRY_ASSIGN(u.signature, r.bytes("signature", kMaxSmall));
      break;
    }
    case UpdateKind::revocation: {
      CODEX_TRY_ASSIGN(u.revocation, r.bytes("revocation", kMaxCertificate));
      break;
    }
  }
  return u;
}

void write_updates(Writer& w, const std::vector<Update>& updates) {
  w.uint(updates.size());
  for (const auto& u : updates) write_update(w, u);
}

Result<std::vector<Update>> read_updates(Reader& r) {
  CODEX_TRY_ASSIGN(auto n, r.count("updates"));
  std::vector<Update> updates;
  updates.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    CODEX_TRY_ASSIGN(auto u, read_update(r));
    updates.push_back(std::move(u));
  }
  return updates;
}

void write_digests(Writer& w, const std::vector<std::uint64_t>& digests) {
  // One resize for the list, not one per digest: a SyncRequest carries 256
  // (write_digests and read_digests were ~5% of the 10,000-member run).
  w.reserve_more(10 + 8 * digests.size());
  w.uint(digests.size());
  std::uint8_t* p = w.grow(8 * digests.size());
  for (auto d : digests) {
    Writer::put_u64be(p, d);
    p += 8;
  }
}

Result<std::vector<std::uint64_t>> read_digests(Reader& r) {
  CODEX_TRY_ASSIGN(auto n, r.count("digests"));
  if (n > 256) return make_error(Errc::corrupt, "too many sync digests: {} (at most 256)", n);
  std::vector<std::uint64_t> digests(n);
  if (r.u64be_all(digests)) return digests;
  for (auto& d : digests) {
    CODEX_TRY_ASSIGN(d, r.u64be("digest"));
  }
  return digests;
}

void write_holders(Writer& w, const std::vector<std::optional<MemberId>>& holders) {
  w.uint(holders.size());
  for (const auto& h : holders) w.optional_id(h);
}

Result<std::vector<std::optional<MemberId>>> read_holders(Reader& r, const DatasetDescriptor& d) {
  CODEX_TRY_ASSIGN(auto n, r.count("holders"));
  if (n != d.slots())
    return make_error(Errc::corrupt, "holders list has {} entries for a dataset of {} slots", n, d.slots());
  std::vector<std::optional<MemberId>> holders(n);
  for (auto& h : holders) {
    CODEX_TRY_ASSIGN(h, r.optional_id("holder"));
  }
  return holders;
}

Status check_slot(std::uint32_t slot, const DatasetDescriptor& d) {
  if (slot >= d.slots())
    return make_error(Errc::corrupt, "slot {} out of range for a dataset of {} slots", slot, d.slots());
  return {};
}

// Heartbeat and AuditReply bodies up to (not including) the signature.
void write_heartbeat_unsigned(Writer& w, const Heartbeat& m) {
  // Room for the whole message, signature included (append_signature):
  // one allocation where growing by doubling took four.
  w.reserve_more(96 + m.nonce.size() + 48 * m.entries.size() + 64 * m.proofs.size() + m.signature.size() +
                 kSignatureRoom);
  w.u8(kWireVersion);
  w.u8(std::uint8_t(MessageType::heartbeat));
  w.id(m.holder);
  w.id(m.recipient);
  w.uint(m.seq);
  w.bytes(m.nonce);
  w.uint(m.entries.size());
  for (const auto& e : m.entries) {
    w.id(e.dataset);
    w.uint(e.slot);
    w.u64be(e.view_digest);
  }
  w.uint(m.proofs.size());
  for (const auto& p : m.proofs) {
    w.id(p.dataset);
    w.uint(p.slot);
    w.bytes(p.nonce);
    w.bytes(p.proof);
  }
}

void write_audit_reply_unsigned(Writer& w, const AuditReply& m) {
  w.u8(kWireVersion);
  w.u8(std::uint8_t(MessageType::audit_reply));
  w.id(m.holder);
  w.id(m.auditor);
  w.uint(m.seq);
  w.id(m.dataset);
  w.uint(m.slot);
  w.bytes(m.challenge);
  w.flag(m.held);
  w.bytes(m.proof);
}

struct EncodeVisitor {
  Writer& w;
  void header(MessageType t) {
    w.u8(kWireVersion);
    w.u8(std::uint8_t(t));
  }
  void operator()(const Ping& m) {
    header(MessageType::ping);
    w.uint(m.seq);
    w.id(m.target);
    write_updates(w, m.updates);
  }
  void operator()(const Ack& m) {
    header(MessageType::ack);
    w.uint(m.seq);
    write_updates(w, m.updates);
  }
  void operator()(const PingReq& m) {
    header(MessageType::ping_req);
    w.uint(m.seq);
    w.id(m.target);
    write_updates(w, m.updates);
  }
  void operator()(const Nack& m) {
    header(MessageType::nack);
    w.uint(m.seq);
    write_updates(w, m.updates);
  }
  void operator()(const Gossip& m) {
    header(MessageType::gossip);
    write_updates(w, m.updates);
  }
  void operator()(const SyncRequest& m) {
    header(MessageType::sync_request);
    write_digests(w, m.digests);
    w.u64be(m.revocations_digest);
    write_updates(w, m.updates);
  }
  void operator()(const SyncState& m) {
    header(MessageType::sync_state);
    write_digests(w, m.digests);
    w.u64be(m.revocations_digest);
    write_updates(w, m.updates);
  }
  void operator()(const Heartbeat& m) {
    write_heartbeat_unsigned(w, m);
    w.bytes(m.signature);
  }
  void operator()(const Audit& m) {
    header(MessageType::audit);
    w.uint(m.seq);
    w.id(m.dataset);
    w.uint(m.slot);
    w.bytes(m.challenge);
  }
  void operator()(const AuditReply& m) {
    write_audit_reply_unsigned(w, m);
    w.bytes(m.signature);
  }
  void operator()(const Assign& m) {
    header(MessageType::assign);
    w.descriptor(m.dataset);
    w.uint(m.slot);
    write_holders(w, m.holders);
  }
  void operator()(const LossReport& m) {
    header(MessageType::loss_report);
    w.id(m.dataset);
    w.uint(m.slot);
    w.id(m.holder);
    w.u8(std::uint8_t(m.reason));
  }
  void operator()(const RepairRequest& m) {
    header(MessageType::repair_request);
    w.descriptor(m.dataset);
    w.uint(m.slot);
    w.uint(m.rank);
    write_holders(w, m.holders);
    w.uint(m.epoch);
    w.optional_id(m.lost);
  }
  void operator()(const Claim& m) {
    header(MessageType::claim);
    w.id(m.dataset);
    w.uint(m.slot);
    w.flag(m.withdraw);
  }
  void operator()(const DatasetViewMessage& m) {
    header(MessageType::dataset_view);
    w.descriptor(m.dataset);
    write_holders(w, m.holders);
    w.uint(m.health.size());
    for (auto h : m.health) w.u8(h);
    w.uint(m.epochs.size());
    for (auto e : m.epochs) w.uint(e);
  }
};

Result<Message> decode_body(MessageType type, Reader& r) {
  switch (type) {
    case MessageType::ping: {
      Ping m;
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.target, r.id("target"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::ack: {
      Ack m;
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::ping_req: {
      PingReq m;
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.target, r.id("target"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::nack: {
      Nack m;
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::gossip: {
      Gossip m;
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::sync_request: {
      SyncRequest m;
      CODEX_TRY_ASSIGN(m.digests, read_digests(r));
      CODEX_TRY_ASSIGN(m.revocations_digest, r.u64be("revocations digest"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::sync_state: {
      SyncState m;
      CODEX_TRY_ASSIGN(m.digests, read_digests(r));
      CODEX_TRY_ASSIGN(m.revocations_digest, r.u64be("revocations digest"));
      CODEX_TRY_ASSIGN(m.updates, read_updates(r));
      return Message(std::move(m));
    }
    case MessageType::heartbeat: {
      Heartbeat m;
      CODEX_TRY_ASSIGN(m.holder, r.id("holder"));
      CODEX_TRY_ASSIGN(m.recipient, r.id("recipient"));
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.nonce, r.bytes("nonce", kMaxSmall));
      CODEX_TRY_ASSIGN(auto n, r.count("entries"));
      m.entries.resize(n);
      for (auto& e : m.entries) {
        CODEX_TRY_ASSIGN(e.dataset, r.id("entry dataset"));
        CODEX_TRY_ASSIGN(e.slot, r.u32("entry slot"));
        CODEX_TRY_ASSIGN(e.view_digest, r.u64be("entry view digest"));
      }
      CODEX_TRY_ASSIGN(auto p, r.count("proofs"));
      m.proofs.resize(p);
      for (auto& e : m.proofs) {
        CODEX_TRY_ASSIGN(e.dataset, r.id("proof dataset"));
        CODEX_TRY_ASSIGN(e.slot, r.u32("proof slot"));
        CODEX_TRY_ASSIGN(e.nonce, r.bytes("proof nonce", kMaxSmall));
        CODEX_TRY_ASSIGN(e.proof, r.bytes("proof", kMaxProof));
      }
      CODEX_TRY_ASSIGN(m.signature, r.bytes("signature", kMaxSmall));
      return Message(std::move(m));
    }
    case MessageType::audit: {
      Audit m;
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.dataset, r.id("dataset"));
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY_ASSIGN(m.challenge, r.bytes("challenge", kMaxSmall));
      return Message(std::move(m));
    }
    case MessageType::audit_reply: {
      AuditReply m;
      CODEX_TRY_ASSIGN(m.holder, r.id("holder"));
      CODEX_TRY_ASSIGN(m.auditor, r.id("auditor"));
      CODEX_TRY_ASSIGN(m.seq, r.uint("seq"));
      CODEX_TRY_ASSIGN(m.dataset, r.id("dataset"));
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY_ASSIGN(m.challenge, r.bytes("challenge", kMaxSmall));
      CODEX_TRY_ASSIGN(m.held, r.flag("held"));
      CODEX_TRY_ASSIGN(m.proof, r.bytes("proof", kMaxProof));
      CODEX_TRY_ASSIGN(m.signature, r.bytes("signature", kMaxSmall));
      return Message(std::move(m));
    }
    case MessageType::assign: {
      Assign m;
      CODEX_TRY_ASSIGN(m.dataset, r.descriptor());
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY(check_slot(m.slot, m.dataset));
      CODEX_TRY_ASSIGN(m.holders, read_holders(r, m.dataset));
      return Message(std::move(m));
    }
    case MessageType::loss_report: {
      LossReport m;
      CODEX_TRY_ASSIGN(m.dataset, r.id("dataset"));
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY_ASSIGN(m.holder, r.id("holder"));
      CODEX_TRY_ASSIGN(auto reason, r.u8("reason"));
      if (reason < 1 || reason > 4) return make_error(Errc::corrupt, "unknown loss reason {}", reason);
      m.reason = LossReason(reason);
      return Message(std::move(m));
    }
    case MessageType::repair_request: {
      RepairRequest m;
      CODEX_TRY_ASSIGN(m.dataset, r.descriptor());
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY(check_slot(m.slot, m.dataset));
      CODEX_TRY_ASSIGN(m.rank, r.u32("rank"));
      CODEX_TRY_ASSIGN(m.holders, read_holders(r, m.dataset));
      CODEX_TRY_ASSIGN(m.epoch, r.u32("epoch"));
      CODEX_TRY_ASSIGN(m.lost, r.optional_id("lost holder"));
      return Message(std::move(m));
    }
    case MessageType::claim: {
      Claim m;
      CODEX_TRY_ASSIGN(m.dataset, r.id("dataset"));
      CODEX_TRY_ASSIGN(m.slot, r.u32("slot"));
      CODEX_TRY_ASSIGN(m.withdraw, r.flag("withdraw"));
      return Message(std::move(m));
    }
    case MessageType::dataset_view: {
      DatasetViewMessage m;
      CODEX_TRY_ASSIGN(m.dataset, r.descriptor());
      CODEX_TRY_ASSIGN(m.holders, read_holders(r, m.dataset));
      CODEX_TRY_ASSIGN(auto n, r.count("health"));
      if (n != m.dataset.slots())
        return make_error(Errc::corrupt, "health list has {} entries for {} slots", n, m.dataset.slots());
      m.health.resize(n);
      for (auto& h : m.health) {
        CODEX_TRY_ASSIGN(h, r.u8("health"));
        if (h < 1 || h > 6) return make_error(Errc::corrupt, "unknown slot health {}", h);
      }
      CODEX_TRY_ASSIGN(auto epochs, r.count("epochs"));
      if (epochs != m.dataset.slots())
        return make_error(Errc::corrupt, "epochs list has {} entries for {} slots", epochs, m.dataset.slots());
      m.epochs.resize(epochs);
      for (auto& e : m.epochs) {
        CODEX_TRY_ASSIGN(e, r.u32("epoch"));
      }
      return Message(std::move(m));
    }
  }
  return make_error(Errc::corrupt, "unknown message type 0x{:02x}", std::uint8_t(type));
}

bool known_type(std::uint8_t t) {
  return (t >= 0x01 && t <= 0x07) || (t >= 0x10 && t <= 0x17);
}

}  // namespace

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::ping: return "ping";
    case MessageType::ack: return "ack";
    case MessageType::ping_req: return "ping-req";
    case MessageType::nack: return "nack";
    case MessageType::gossip: return "gossip";
    case MessageType::sync_request: return "sync-request";
    case MessageType::sync_state: return "sync-state";
    case MessageType::heartbeat: return "heartbeat";
    case MessageType::audit: return "audit";
    case MessageType::audit_reply: return "audit-reply";
    case MessageType::assign: return "assign";
    case MessageType::loss_report: return "loss-report";
    case MessageType::repair_request: return "repair-request";
    case MessageType::claim: return "claim";
    case MessageType::dataset_view: return "dataset-view";
  }
  return "unknown";
}

MessageType type_of(const Message& message) {
  static constexpr MessageType kTypes[] = {
      MessageType::ping,         MessageType::ack,         MessageType::ping_req,
      MessageType::nack,         MessageType::gossip,      MessageType::sync_request,
      MessageType::sync_state,   MessageType::heartbeat,   MessageType::audit,
      MessageType::audit_reply,  MessageType::assign,      MessageType::loss_report,
      MessageType::repair_request, MessageType::claim,     MessageType::dataset_view};
  return kTypes[message.index()];
}

Bytes encode(const Message& message) {
  // Most messages (pings, acks, claims, reports) fit in this; one allocation
  // instead of three or four as the vector doubles.
  Bytes out;
  out.reserve(128);
  Writer w(out);
  std::visit(EncodeVisitor{w}, message);
  return out;
}

Result<Message> decode(ByteView bytes, std::uint32_t max_list) {
  Reader r(bytes, max_list);
  CODEX_TRY_ASSIGN(auto version, r.u8("version"));
  if (version != kWireVersion)
    return make_error(Errc::corrupt, "unsupported message version {} (expected {})", version, kWireVersion);
  CODEX_TRY_ASSIGN(auto type, r.u8("type"));
  if (!known_type(type)) return make_error(Errc::corrupt, "unknown message type 0x{:02x}", type);
  CODEX_TRY_ASSIGN(auto message, decode_body(MessageType(type), r));
  CODEX_TRY(r.end());
  return message;
}

Bytes alive_signing_bytes(const Update& u) {
  // Domain-separated: "codex-member/v1" ‖ kind ‖ member ‖ varint(incarnation) ‖ addresses.
  Bytes out(as_bytes("codex-member/v1").begin(), as_bytes("codex-member/v1").end());
  Writer w(out);
  w.u8(std::uint8_t(u.kind));
  w.id(u.member);
  w.uint(u.incarnation);
  if (u.kind == UpdateKind::alive) {
    w.uint(u.addresses.size());
    for (const auto& a : u.addresses) w.bytes(a);
  }
  return out;
}

Bytes heartbeat_signing_bytes(const Heartbeat& heartbeat) {
  Bytes out;
  Writer w(out);
  write_heartbeat_unsigned(w, heartbeat);
  return out;
}

Bytes append_signature(Bytes signing_bytes, ByteView signature) {
  Writer w(signing_bytes);
  w.bytes(signature);
  return signing_bytes;
}

ByteView signed_part(ByteView payload, ByteView signature) {
  Bytes field;
  put_varint(field, signature.size());
  const std::size_t tail = field.size() + signature.size();
  if (payload.size() < tail) return {};
  return payload.first(payload.size() - tail);
}

Bytes audit_reply_signing_bytes(const AuditReply& reply) {
  Bytes out;
  Writer w(out);
  write_audit_reply_unsigned(w, reply);
  return out;
}

}  // namespace codex::protocol
