// A node's network identity: its Ed25519 key and the libp2p peer id derived
// from it. The peer id is what other members know a node by (certificates name
// it, the TLS handshake proves it), so its derivation follows libp2p's peer-id
// spec exactly: the identity multihash of the protobuf PublicKey, shown as
// base58btc ("12D3KooW..."). The private key lives on disk as PKCS#8 PEM, the
// same file `openssl genpkey -algorithm ed25519` writes, readable only by its owner.
#pragma once

#include <compare>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex {

// A libp2p peer id: the multihash (identity for Ed25519) of the protobuf PublicKey.
class PeerId {
 public:
  PeerId() = default;
  static Result<PeerId> from_ed25519_public_key(ByteView key32);
  // Strict: an identity multihash of a minimally encoded Ed25519 PublicKey.
  // (Other key types use a sha2-256 multihash that does not carry the key;
  // members are Ed25519 only, so those are refused.)
  static Result<PeerId> from_bytes(ByteView multihash);
  static Result<PeerId> parse(std::string_view text);  // base58btc "12D3KooW..."
  const Bytes& bytes() const { return bytes_; }
  std::string to_string() const;                       // base58btc
  Result<Bytes> ed25519_public_key() const;            // 32 bytes, inlined key
  bool empty() const { return bytes_.empty(); }
  auto operator<=>(const PeerId&) const = default;
  bool operator==(const PeerId&) const = default;

 private:
  explicit PeerId(Bytes bytes) : bytes_(std::move(bytes)) {}
  Bytes bytes_;
};

// libp2p's protobuf PublicKey for an Ed25519 key: 08 01 12 20 || key (36 bytes).
Bytes ed25519_public_key_protobuf(ByteView key32);
// The raw 32-byte key from that protobuf (strict: exactly that layout).
Result<Bytes> ed25519_key_from_protobuf(ByteView protobuf);

// An Ed25519 private key (an OpenSSL EVP_PKEY underneath). Copies share the key.
class Ed25519Key {
 public:
  static Result<Ed25519Key> generate();                  // OS CSPRNG
  static Result<Ed25519Key> from_seed(ByteView seed32);  // deterministic (tests, simulator)
  static Result<Ed25519Key> load_pem(const std::filesystem::path& file);  // PKCS#8 PEM
  // Writes the key as PKCS#8 PEM, mode 0600, atomically (temporary file, fsync, rename).
  Status save_pem(const std::filesystem::path& file) const;
  // Loads the key at `file`, or makes and saves a new one if there is none.
  static Result<Ed25519Key> load_or_create(const std::filesystem::path& file);

  Bytes public_key() const;  // 32 bytes
  PeerId peer_id() const;
  Bytes sign(ByteView message) const;  // 64 bytes
  // The OpenSSL key (EVP_PKEY*), for the TLS layer; owned by this object.
  void* evp_pkey() const { return key_.get(); }

 private:
  explicit Ed25519Key(std::shared_ptr<void> key);
  std::shared_ptr<void> key_;
  Bytes public_;
};

bool ed25519_verify(ByteView public_key32, ByteView message, ByteView signature64);

}  // namespace codex

template <>
struct std::hash<codex::PeerId> {
  std::size_t operator()(const codex::PeerId& id) const noexcept {
    // The last bytes of an Ed25519 peer id are key bytes: uniform already.
    std::size_t h = 0;
    const auto& b = id.bytes();
    for (std::size_t i = b.size() >= 8 ? b.size() - 8 : 0; i < b.size(); ++i) h = h << 8 | b[i];
    return h;
  }
};
