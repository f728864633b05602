// The libp2p TLS certificate (libp2p/specs tls/tls.md): a self-signed X.509
// certificate on a fresh ECDSA P-256 key that carries, in extension
// 1.3.6.1.4.1.53594.1.1, SignedKey { publicKey: the protobuf PublicKey of the
// node's identity key, signature: by the identity key over
// "libp2p-tls-handshake:" || DER SubjectPublicKeyInfo of the certificate key }.
// The peer's identity, and so its peer id, is what that extension proves.
//
// Verification accepts identity keys of every type the spec's vectors use
// (Ed25519, ECDSA, secp256k1, RSA) so the vectors can be checked whole; the
// Host then admits only peer ids PeerId::from_bytes accepts (Ed25519).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include <openssl/types.h>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"

namespace codex::net::tls {

inline constexpr std::string_view kProtocolId = "/tls/1.0.0";
inline constexpr std::string_view kAlpn = "libp2p";
inline constexpr std::string_view kExtensionOid = "1.3.6.1.4.1.53594.1.1";
inline constexpr std::string_view kSignaturePrefix = "libp2p-tls-handshake:";

enum class KeyType : std::uint8_t { rsa = 0, ed25519 = 1, secp256k1 = 2, ecdsa = 3 };

struct RemoteIdentity {
  KeyType key_type = KeyType::ed25519;
  Bytes public_key;  // protobuf PublicKey, as carried
  Bytes peer_id;     // its multihash: identity if <= 42 bytes, else sha2-256
};

// Our certificate and its key (the key signs the TLS handshake).
struct Certificate {
  std::shared_ptr<X509> cert;
  std::shared_ptr<EVP_PKEY> key;
  Bytes der() const;
};

// Valid from an hour before `now_unix` (clock skew) for 100 years.
Result<Certificate> make_certificate(const Ed25519Key& identity, std::int64_t now_unix);

// Every check of the spec: self-signature, validity at `now_unix`, no
// unknown critical extension, the libp2p extension present, well formed and
// its signature valid. Errc::rejected (or corrupt for malformed input).
Result<RemoteIdentity> verify_certificate(ByteView der, std::int64_t now_unix);
Result<RemoteIdentity> verify_certificate(X509* cert, std::int64_t now_unix);

// SignedKey DER (SEQUENCE of two OCTET STRINGs), strict minimal lengths.
Bytes encode_signed_key(ByteView public_key, ByteView signature);
Result<std::pair<Bytes, Bytes>> decode_signed_key(ByteView der);
// protobuf PublicKey {1: type, 2: data}, strict canonical encoding.
Result<std::pair<KeyType, Bytes>> decode_public_key(ByteView protobuf);

}  // namespace codex::net::tls
