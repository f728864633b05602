// Encoding and bounded decoding of Codex's block-exchange message. The
// encoder writes what nim-codex's writes, field for field and including the
// zero-valued and empty fields nim-libp2p's minprotobuf always emits, so a
// Codex node reads our messages as its own.
#include "codex/daemon/blockexc_message.hpp"

#include <array>

#include "codex/codex_tree.hpp"
#include "codex/protobuf.hpp"

namespace codex::daemon::blockexc {
namespace {

using protobuf::Field;
using protobuf::Reader;
using protobuf::Schema;
using protobuf::WireType;
using protobuf::Writer;

constexpr std::array<std::string_view, 8> kMessageNames = {"",        "wantlist",     "",
                                                           "payload", "blockPresences", "pendingBytes",
                                                           "account", "payment"};
constexpr std::array<std::string_view, 3> kWantlistNames = {"", "entries", "full"};
constexpr std::array<std::string_view, 6> kEntryNames = {"",       "address",  "priority",
                                                         "cancel", "wantType", "sendDontHave"};
constexpr std::array<std::string_view, 5> kAddressNames = {"", "leaf", "treeCid", "index", "cid"};
constexpr std::array<std::string_view, 5> kDeliveryNames = {"", "cid", "data", "address", "proof"};
constexpr std::array<std::string_view, 4> kPresenceNames = {"", "address", "type", "price"};
constexpr std::array<std::string_view, 5> kProofNames = {"", "mcodec", "index", "nleaves", "path"};
constexpr std::array<std::string_view, 2> kPathNames = {"", "node"};

const Schema kMessage{"blockexc message", kMessageNames};
const Schema kWantlist{"wantlist", kWantlistNames};
const Schema kEntry{"wantlist entry", kEntryNames};
const Schema kAddress{"block address", kAddressNames};
const Schema kDelivery{"block delivery", kDeliveryNames};
const Schema kPresence{"block presence", kPresenceNames};
const Schema kProof{"leaf proof", kProofNames};
const Schema kPath{"leaf proof node", kPathNames};

Bytes encode_address(const BlockAddress& a) {
  Writer w;
  w.varint(1, a.leaf ? 1 : 0);
  if (a.leaf) {
    w.bytes(2, a.tree_cid.bytes());
    w.varint(3, a.index);
  } else {
    w.bytes(4, a.cid.bytes());
  }
  return w.take();
}

Bytes encode_proof(const LeafProof& p) {
  Writer w;
  w.varint(1, p.mcodec);
  w.varint(2, p.index);
  w.varint(3, p.leaf_count);
  for (const auto& node : p.path) {
    Writer n;
    n.bytes(1, node);
    w.bytes(4, n.data());
  }
  return w.take();
}

Result<bool> read_bool(const Reader& r, const Field& f) {
  CODEX_TRY_ASSIGN(auto v, r.varint(f));
  if (v > 1) return r.invalid(f, "is not a boolean (0 or 1)");
  return v == 1;
}

Result<BlockAddress> decode_address(ByteView bytes, std::size_t base) {
  Reader r(bytes, base, kAddress);
  std::uint64_t seen = 0;
  BlockAddress a;
  std::optional<Cid> tree, cid;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY(r.once(f, seen));
    switch (f.number) {
      case 1: { CODEX_TRY_ASSIGN(a.leaf, read_bool(r, f)); break; }
      case 2: { CODEX_TRY_ASSIGN(tree, r.cid(f)); break; }
      case 3: { CODEX_TRY_ASSIGN(a.index, r.varint(f)); break; }
      case 4: { CODEX_TRY_ASSIGN(cid, r.cid(f)); break; }
    }
  }
  if (a.leaf) {
    if (!tree) return r.missing(2);
    a.tree_cid = std::move(*tree);
  } else {
    if (!cid) return r.missing(4);
    a.cid = std::move(*cid);
  }
  return a;
}

Result<WantEntry> decode_entry(ByteView bytes, std::size_t base) {
  Reader r(bytes, base, kEntry);
  std::uint64_t seen = 0;
  WantEntry e;
  bool has_address = false;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY(r.once(f, seen));
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(e.address, decode_address(payload, f.payload_offset));
        has_address = true;
        break;
      }
      case 2: {
        // nim writes int32 as a uint64 varint: negative values take 10 bytes.
        CODEX_TRY_ASSIGN(auto v, r.varint(f));
        e.priority = static_cast<std::int32_t>(static_cast<std::int64_t>(v));
        break;
      }
      case 3: { CODEX_TRY_ASSIGN(e.cancel, read_bool(r, f)); break; }
      case 4: {
        CODEX_TRY_ASSIGN(auto v, r.varint(f));
        if (v > 1) return r.invalid(f, "is neither 0 (block) nor 1 (have)");
        e.want_type = static_cast<WantType>(v);
        break;
      }
      case 5: { CODEX_TRY_ASSIGN(e.send_dont_have, read_bool(r, f)); break; }
    }
  }
  if (!has_address) return r.missing(1);
  return e;
}

Result<Wantlist> decode_wantlist(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kWantlist);
  std::uint64_t seen = 0;
  Wantlist w;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (f.number == 1) {
      if (w.entries.size() >= limits.max_wantlist_entries)
        return r.invalid(f, fmt::format("has more than {} entries", limits.max_wantlist_entries));
      CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
      CODEX_TRY_ASSIGN(auto entry, decode_entry(payload, f.payload_offset));
      w.entries.push_back(std::move(entry));
    } else if (f.number == 2) {
      CODEX_TRY(r.once(f, seen));
      CODEX_TRY_ASSIGN(w.full, read_bool(r, f));
    }
  }
  return w;
}

Result<LeafProof> decode_proof(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kProof);
  std::uint64_t seen = 0;
  LeafProof p;
  p.mcodec = 0;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (f.number == 4) {
      if (p.path.size() >= limits.max_proof_path)
        return r.invalid(f, fmt::format("has more than {} nodes", limits.max_proof_path));
      CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
      Reader n(payload, f.payload_offset, kPath);
      std::optional<Digest> node;
      std::uint64_t node_seen = 0;
      while (!n.done()) {
        CODEX_TRY_ASSIGN(auto nf, n.next());
        if (nf.number != 1) continue;
        CODEX_TRY(n.once(nf, node_seen));
        CODEX_TRY_ASSIGN(auto v, n.bytes(nf));
        if (v.size() != 32) return n.invalid(nf, "is not a 32-byte hash");
        Digest d;
        std::copy(v.begin(), v.end(), d.begin());
        node = d;
      }
      if (!node) return n.missing(1);
      p.path.push_back(*node);
      continue;
    }
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY(r.once(f, seen));
    switch (f.number) {
      case 1: { CODEX_TRY_ASSIGN(p.mcodec, r.varint(f)); break; }
      case 2: { CODEX_TRY_ASSIGN(p.index, r.varint(f)); break; }
      case 3: { CODEX_TRY_ASSIGN(p.leaf_count, r.varint(f)); break; }
    }
  }
  if (p.mcodec != 0x12) return make_error(Errc::corrupt, "leaf proof uses hash {:#x}, only sha2-256 (0x12) is known", p.mcodec);
  return p;
}

Result<BlockDelivery> decode_delivery(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kDelivery);
  std::uint64_t seen = 0;
  BlockDelivery d;
  bool has_cid = false, has_address = false;
  std::optional<Field> proof_field;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY(r.once(f, seen));
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(d.cid, r.cid(f));
        has_cid = true;
        break;
        }
      case 2: {
        CODEX_TRY_ASSIGN(auto v, r.bytes(f));
        if (v.size() > limits.max_block_size)
          return r.invalid(f, fmt::format("is {} bytes, over the {} byte limit", v.size(), limits.max_block_size));
        d.data.assign(v.begin(), v.end());
        break;
      }
      case 3: {
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(d.address, decode_address(payload, f.payload_offset));
        has_address = true;
        break;
      }
      case 4: proof_field = f; break;
    }
  }
  if (!has_cid) return r.missing(1);
  if (!has_address) return r.missing(3);
  // As nim-codex does: a proof is read only for a leaf address.
  if (d.address.leaf && proof_field) {
    CODEX_TRY_ASSIGN(auto payload, r.bytes(*proof_field));
    CODEX_TRY_ASSIGN(d.proof, decode_proof(payload, proof_field->payload_offset, limits));
  }
  return d;
}

Result<BlockPresence> decode_presence(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kPresence);
  std::uint64_t seen = 0;
  BlockPresence p;
  bool has_address = false;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY(r.once(f, seen));
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(p.address, decode_address(payload, f.payload_offset));
        has_address = true;
        break;
      }
      case 2: {
        CODEX_TRY_ASSIGN(auto v, r.varint(f));
        if (v > 1) return r.invalid(f, "is neither 0 (have) nor 1 (dontHave)");
        p.type = static_cast<PresenceType>(v);
        break;
      }
      case 3: {
        CODEX_TRY_ASSIGN(auto v, r.bytes(f));
        if (v.size() > limits.max_price_size) return r.invalid(f, "is longer than a UInt256");
        p.price.assign(v.begin(), v.end());
        break;
      }
    }
  }
  if (!has_address) return r.missing(1);
  return p;
}

}  // namespace

Bytes encode(const Message& m) {
  Writer out;
  {
    Writer w;
    for (const auto& e : m.wantlist.entries) {
      Writer we;
      we.bytes(1, encode_address(e.address));
      we.varint(2, static_cast<std::uint64_t>(static_cast<std::int64_t>(e.priority)));
      we.varint(3, e.cancel ? 1 : 0);
      we.varint(4, static_cast<std::uint64_t>(e.want_type));
      we.varint(5, e.send_dont_have ? 1 : 0);
      w.bytes(1, we.data());
    }
    w.varint(2, m.wantlist.full ? 1 : 0);
    out.bytes(1, w.data());
  }
  for (const auto& d : m.payload) {
    Writer w;
    w.bytes(1, d.cid.bytes());
    w.bytes(2, d.data);
    w.bytes(3, encode_address(d.address));
    if (d.address.leaf && d.proof) w.bytes(4, encode_proof(*d.proof));
    out.bytes(3, w.data());
  }
  for (const auto& p : m.presences) {
    Writer w;
    w.bytes(1, encode_address(p.address));
    w.varint(2, static_cast<std::uint64_t>(p.type));
    w.bytes(3, p.price);
    out.bytes(4, w.data());
  }
  out.varint(5, m.pending_bytes);
  // account and payment (marketplace): empty, as nim-codex writes them unset.
  const Bytes empty_inner = {0x0a, 0x00};
  out.bytes(6, empty_inner);
  out.bytes(7, empty_inner);
  return out.take();
}

Result<Message> decode(ByteView bytes, const Limits& limits) {
  Reader r(bytes, 0, kMessage);
  std::uint64_t seen = 0;
  Message m;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    switch (f.number) {
      case 1: {
        CODEX_TRY(r.once(f, seen));
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(m.wantlist, decode_wantlist(payload, f.payload_offset, limits));
        break;
      }
      case 3: {
        if (m.payload.size() >= limits.max_deliveries)
          return r.invalid(f, fmt::format("has more than {} deliveries", limits.max_deliveries));
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(auto d, decode_delivery(payload, f.payload_offset, limits));
        m.payload.push_back(std::move(d));
        break;
      }
      case 4: {
        if (m.presences.size() >= limits.max_presences)
          return r.invalid(f, fmt::format("has more than {} presences", limits.max_presences));
        CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
        CODEX_TRY_ASSIGN(auto p, decode_presence(payload, f.payload_offset, limits));
        m.presences.push_back(std::move(p));
        break;
      }
      case 5: {
        CODEX_TRY(r.once(f, seen));
        CODEX_TRY_ASSIGN(m.pending_bytes, r.varint(f));
        break;
      }
      default: break;  // 6 account, 7 payment (marketplace), unknown fields
    }
  }
  return m;
}

Status verify_delivery(const BlockDelivery& d) {
  if (d.cid.hash_code() != multihash_code::sha2_256 || !d.cid.sha256_digest())
    return make_error(Errc::rejected, "block {} is not addressed by a sha2-256 CID", d.cid.to_string());
  const Digest digest = sha256(d.data);
  if (digest != *d.cid.sha256_digest())
    return make_error(Errc::rejected, "block data does not hash to its CID {}", d.cid.to_string());
  if (!d.address.leaf) {
    if (d.address.cid != d.cid)
      return make_error(Errc::rejected, "block {} delivered for another address {}", d.cid.to_string(),
                        d.address.cid.to_string());
    return {};
  }
  const auto root = d.address.tree_cid.sha256_digest();
  if (d.address.tree_cid.codec() != codec::root || !root)
    return make_error(Errc::rejected, "leaf of {} is addressed by a tree CID that is not a dataset root",
                      d.address.tree_cid.to_string());
  if (!d.proof)
    return make_error(Errc::rejected, "leaf {} of {} came without its proof", d.address.index,
                      d.address.tree_cid.to_string());
  if (d.proof->index != d.address.index || d.proof->index >= d.proof->leaf_count)
    return make_error(Errc::rejected, "leaf {} of {} came with a proof for leaf {} of {}", d.address.index,
                      d.address.tree_cid.to_string(), d.proof->index, d.proof->leaf_count);
  if (!verify_codex_proof(digest, d.proof->index, d.proof->leaf_count, d.proof->path, *root))
    return make_error(Errc::rejected, "leaf {} of {} does not prove against the tree root", d.address.index,
                      d.address.tree_cid.to_string());
  return {};
}

}  // namespace codex::daemon::blockexc
