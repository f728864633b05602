// Encoding and bounded decoding of Codex's block-exchange message. The
// encoder writes what nim-codex's writes, field for field and including the
// zero-valued and empty fields nim-libp2p's minprotobuf always emits, so a
// Codex node reads our messages as its own.
#include "codex/daemon/blockexc_message.hpp"

#include <algorithm>
#include <array>

#include "codex/codex_tree.hpp"
#include "codex/protobuf.hpp"
#include "codex/varint.hpp"

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

// A varint field that must be 0..max (a boolean or a two-valued enum).
Result<std::uint64_t> read_small(const Reader& r, const Field& f, std::uint64_t max, std::string_view why) {
  CODEX_TRY_ASSIGN(auto v, r.varint(f));
  if (v > max) return r.invalid(f, why);
  return v;
}

Result<bool> read_bool(const Reader& r, const Field& f) {
  CODEX_TRY_ASSIGN(auto v, read_small(r, f, 1, "is not a boolean (0 or 1)"));
  return v == 1;
}

// The loop every decoder shares: fields the schema does not name are
// skipped; a named field not in `repeated` (a mask of field numbers) may
// appear once; `on` reads each named field (a Status).
template <class OnField>
Status read_fields(Reader& r, std::uint64_t repeated, OnField&& on) {
  std::uint64_t seen = 0;
  while (!r.done()) {
    CODEX_TRY_ASSIGN(auto f, r.next());
    if (!r.schema().known(f.number)) continue;
    if (!(repeated >> f.number & 1)) CODEX_TRY(r.once(f, seen));
    CODEX_TRY(on(f));
  }
  return {};
}

constexpr std::uint64_t field_bit(std::uint32_t number) { return std::uint64_t{1} << number; }

// A length-delimited field that holds a message: decode(payload, its offset).
template <class Decode>
auto read_nested(const Reader& r, const Field& f, Decode&& decode) -> decltype(decode(ByteView{}, std::size_t{0})) {
  CODEX_TRY_ASSIGN(auto payload, r.bytes(f));
  return decode(payload, f.payload_offset);
}

// A length-delimited field holding a list item: at most `max` of them.
template <class T, class Decode>
Status append_nested(const Reader& r, const Field& f, std::vector<T>& list, std::size_t max, std::string_view what,
                     Decode&& decode) {
  if (list.size() >= max) return r.invalid(f, fmt::format("has more than {} {}", max, what));
  CODEX_TRY_ASSIGN(auto item, read_nested(r, f, decode));
  list.push_back(std::move(item));
  return {};
}

Result<BlockAddress> decode_address(ByteView bytes, std::size_t base) {
  Reader r(bytes, base, kAddress);
  BlockAddress a;
  std::optional<Cid> tree, cid;
  CODEX_TRY(read_fields(r, 0, [&](const Field& f) -> Status {
    switch (f.number) {
      case 1: { CODEX_TRY_ASSIGN(a.leaf, read_bool(r, f)); break; }
      case 2: { CODEX_TRY_ASSIGN(tree, r.cid(f)); break; }
      case 3: { CODEX_TRY_ASSIGN(a.index, r.varint(f)); break; }
      case 4: { CODEX_TRY_ASSIGN(cid, r.cid(f)); break; }
    }
    return {};
  }));
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
  WantEntry e;
  bool has_address = false;
  CODEX_TRY(read_fields(r, 0, [&](const Field& f) -> Status {
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(e.address, read_nested(r, f, decode_address));
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
        CODEX_TRY_ASSIGN(auto v, read_small(r, f, 1, "is neither 0 (block) nor 1 (have)"));
        e.want_type = static_cast<WantType>(v);
        break;
      }
      case 5: { CODEX_TRY_ASSIGN(e.send_dont_have, read_bool(r, f)); break; }
    }
    return {};
  }));
  if (!has_address) return r.missing(1);
  return e;
}

Result<Wantlist> decode_wantlist(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kWantlist);
  Wantlist w;
  CODEX_TRY(read_fields(r, field_bit(1), [&](const Field& f) -> Status {
    if (f.number == 1) return append_nested(r, f, w.entries, limits.max_wantlist_entries, "entries", decode_entry);
    CODEX_TRY_ASSIGN(w.full, read_bool(r, f));
    return {};
  }));
  return w;
}

Result<Digest> decode_path_node(ByteView bytes, std::size_t base) {
  Reader r(bytes, base, kPath);
  std::optional<Digest> node;
  CODEX_TRY(read_fields(r, 0, [&](const Field& f) -> Status {
    CODEX_TRY_ASSIGN(auto v, r.bytes(f));
    if (v.size() != 32) return r.invalid(f, "is not a 32-byte hash");
    node.emplace();
    std::copy(v.begin(), v.end(), node->begin());
    return {};
  }));
  if (!node) return r.missing(1);
  return *node;
}

Result<LeafProof> decode_proof(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kProof);
  LeafProof p;
  p.mcodec = 0;
  CODEX_TRY(read_fields(r, field_bit(4), [&](const Field& f) -> Status {
    switch (f.number) {
      case 1: { CODEX_TRY_ASSIGN(p.mcodec, r.varint(f)); break; }
      case 2: { CODEX_TRY_ASSIGN(p.index, r.varint(f)); break; }
      case 3: { CODEX_TRY_ASSIGN(p.leaf_count, r.varint(f)); break; }
      case 4: return append_nested(r, f, p.path, limits.max_proof_path, "nodes", decode_path_node);
    }
    return {};
  }));
  if (p.mcodec != 0x12) return make_error(Errc::corrupt, "leaf proof uses hash {:#x}, only sha2-256 (0x12) is known", p.mcodec);
  return p;
}

Result<BlockDelivery> decode_delivery(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kDelivery);
  BlockDelivery d;
  bool has_cid = false, has_address = false;
  std::optional<Field> proof_field;
  CODEX_TRY(read_fields(r, 0, [&](const Field& f) -> Status {
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
        CODEX_TRY_ASSIGN(d.address, read_nested(r, f, decode_address));
        has_address = true;
        break;
      }
      case 4: proof_field = f; break;
    }
    return {};
  }));
  if (!has_cid) return r.missing(1);
  if (!has_address) return r.missing(3);
  // As nim-codex does: a proof is read only for a leaf address.
  if (d.address.leaf && proof_field) {
    CODEX_TRY_ASSIGN(d.proof, read_nested(r, *proof_field, [&](ByteView payload, std::size_t offset) {
                       return decode_proof(payload, offset, limits);
                     }));
  }
  return d;
}

Result<BlockPresence> decode_presence(ByteView bytes, std::size_t base, const Limits& limits) {
  Reader r(bytes, base, kPresence);
  BlockPresence p;
  bool has_address = false;
  CODEX_TRY(read_fields(r, 0, [&](const Field& f) -> Status {
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(p.address, read_nested(r, f, decode_address));
        has_address = true;
        break;
      }
      case 2: {
        CODEX_TRY_ASSIGN(auto v, read_small(r, f, 1, "is neither 0 (have) nor 1 (dontHave)"));
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
    return {};
  }));
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
  Bytes bytes = out.take();
  std::size_t estimate = bytes.size() + 64 + m.presences.size() * 96;
  for (const auto& d : m.payload) estimate += d.data.size() + 256;
  bytes.reserve(estimate);
  for (const auto& d : m.payload) {
    // The delivery is written straight into the message: its block is
    // copied once (a nested Writer would copy it twice).
    Writer head, tail;
    head.bytes(1, d.cid.bytes());
    Bytes data_tag;
    protobuf::put_tag(data_tag, 2, WireType::length_delimited);
    put_varint(data_tag, d.data.size());
    tail.bytes(3, encode_address(d.address));
    if (d.address.leaf && d.proof) tail.bytes(4, encode_proof(*d.proof));
    const std::size_t size = head.data().size() + data_tag.size() + d.data.size() + tail.data().size();
    protobuf::put_tag(bytes, 3, WireType::length_delimited);
    put_varint(bytes, size);
    for (ByteView part : {ByteView(head.data()), ByteView(data_tag), ByteView(d.data), ByteView(tail.data())})
      bytes.insert(bytes.end(), part.begin(), part.end());
  }
  for (const auto& p : m.presences) {
    Writer w;
    w.bytes(1, encode_address(p.address));
    w.varint(2, static_cast<std::uint64_t>(p.type));
    w.bytes(3, p.price);
    protobuf::put_bytes_field(bytes, 4, w.data());
  }
  protobuf::put_varint_field(bytes, 5, m.pending_bytes);
  // account and payment (marketplace): empty, as nim-codex writes them unset.
  const Bytes empty_inner = {0x0a, 0x00};
  protobuf::put_bytes_field(bytes, 6, empty_inner);
  protobuf::put_bytes_field(bytes, 7, empty_inner);
  return bytes;
}

Result<Message> decode(ByteView bytes, const Limits& limits) {
  Reader r(bytes, 0, kMessage);
  Message m;
  // 6 account and 7 payment (marketplace) are skipped, however often they come.
  CODEX_TRY(read_fields(r, field_bit(3) | field_bit(4) | field_bit(6) | field_bit(7), [&](const Field& f) -> Status {
    const auto with_limits = [&](auto decode_item) {
      return [&limits, decode_item](ByteView payload, std::size_t offset) { return decode_item(payload, offset, limits); };
    };
    switch (f.number) {
      case 1: {
        CODEX_TRY_ASSIGN(m.wantlist, read_nested(r, f, with_limits(decode_wantlist)));
        break;
      }
      case 3: return append_nested(r, f, m.payload, limits.max_deliveries, "deliveries", with_limits(decode_delivery));
      case 4: return append_nested(r, f, m.presences, limits.max_presences, "presences", with_limits(decode_presence));
      case 5: { CODEX_TRY_ASSIGN(m.pending_bytes, r.varint(f)); break; }
    }
    return {};
  }));
  return m;
}

std::vector<Digest> dont_have_digests(const Message& reply) {
  std::vector<Digest> out;
  for (const auto& p : reply.presences) {
    if (p.type != PresenceType::dont_have || p.address.leaf) continue;
    if (auto digest = p.address.cid.sha256_digest()) out.push_back(*digest);
  }
  return out;
}

namespace {
// verify_delivery with the data's digest already computed.
Status verify_hashed(const BlockDelivery& d, const Digest& digest) {
  if (d.cid.hash_code() != multihash_code::sha2_256 || !d.cid.sha256_digest())
    return make_error(Errc::rejected, "block {} is not addressed by a sha2-256 CID", d.cid.to_string());
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

}  // namespace

Status verify_delivery(const BlockDelivery& d) { return verify_hashed(d, sha256(d.data)); }

Status verify_deliveries(std::span<const BlockDelivery> deliveries) {
  constexpr std::size_t kChunk = 64;
  std::array<ByteView, kChunk> data;
  std::array<Digest, kChunk> digests;
  for (std::size_t first = 0; first < deliveries.size(); first += kChunk) {
    const std::size_t n = std::min(kChunk, deliveries.size() - first);
    for (std::size_t i = 0; i < n; ++i) data[i] = deliveries[first + i].data;
    sha256_each(std::span<const ByteView>(data.data(), n), std::span<Digest>(digests.data(), n));
    for (std::size_t i = 0; i < n; ++i) CODEX_TRY(verify_hashed(deliveries[first + i], digests[i]));
  }
  return {};
}

}  // namespace codex::daemon::blockexc
