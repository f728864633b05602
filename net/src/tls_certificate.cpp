// The libp2p certificate: making ours and checking a peer's. OpenSSL does
// the X.509 and signature work; the small SignedKey DER and PublicKey
// protobuf are parsed here, strictly, because they come from the peer.
#include "codex/net/tls_certificate.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstring>

#include "codex/protobuf.hpp"

namespace codex::net::tls {

namespace {

constexpr std::size_t kMaxCertificate = 16 * 1024;
constexpr std::size_t kMaxKeyData = 2048;  // an 8192-bit RSA SubjectPublicKeyInfo is ~1.1 KB

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

void put_der_length(Bytes& out, std::size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<std::uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(n >> 8));
    out.push_back(static_cast<std::uint8_t>(n));
  }
}

// One DER TLV with tag `tag` at data[pos]; returns its contents.
Result<ByteView> read_der(ByteView data, std::size_t& pos, std::uint8_t tag) {
  if (data.size() - pos < 2) return make_error(Errc::corrupt, "SignedKey truncated");
  if (data[pos] != tag) return make_error(Errc::corrupt, "SignedKey: expected tag {:#x}, found {:#x}", tag, data[pos]);
  std::size_t p = pos + 1, len = data[p++];
  if (len & 0x80) {
    const std::size_t n = len & 0x7f;
    if (n == 0 || n > 2 || data.size() - p < n) return make_error(Errc::corrupt, "SignedKey: bad DER length");
    len = 0;
    for (std::size_t i = 0; i < n; ++i) len = len << 8 | data[p++];
    if (len < 0x80 || (n == 2 && len < 0x100)) return make_error(Errc::corrupt, "SignedKey: DER length not minimal");
  }
  if (data.size() - p < len) return make_error(Errc::corrupt, "SignedKey: DER value truncated");
  pos = p + len;
  return data.subspan(p, len);
}

Bytes der_spki(EVP_PKEY* key) {
  unsigned char* buf = nullptr;
  const int n = i2d_PUBKEY(key, &buf);
  if (n <= 0) return {};
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

PkeyPtr secp256k1_key(ByteView compressed) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return nullptr;
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp256k1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, compressed.data(), compressed.size());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (!params) return nullptr;
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return PkeyPtr(key);
}

// Checks `signature` over `message` by the identity key in `data` of `type`.
Status verify_identity_signature(KeyType type, ByteView data, ByteView message, ByteView signature) {
  PkeyPtr key;
  const EVP_MD* md = EVP_sha256();
  switch (type) {
    case KeyType::ed25519:
      if (data.size() != 32) return make_error(Errc::corrupt, "Ed25519 identity key is {} bytes, not 32", data.size());
      key.reset(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data.data(), data.size()));
      md = nullptr;
      break;
    case KeyType::secp256k1:
      if (data.size() != 33) return make_error(Errc::corrupt, "secp256k1 identity key is not 33 bytes compressed");
      key = secp256k1_key(data);
      break;
    case KeyType::ecdsa:
    case KeyType::rsa: {
      const unsigned char* p = data.data();
      key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(data.size())));
      if (key && p != data.data() + data.size()) key.reset();
      const int want = type == KeyType::ecdsa ? EVP_PKEY_EC : EVP_PKEY_RSA;
      if (key && EVP_PKEY_get_base_id(key.get()) != want) key.reset();
      if (key && type == KeyType::rsa && (EVP_PKEY_get_bits(key.get()) < 2048 || EVP_PKEY_get_bits(key.get()) > 8192))
        return make_error(Errc::rejected, "RSA identity key of {} bits refused", EVP_PKEY_get_bits(key.get()));
      break;
    }
  }
  if (!key) return make_error(Errc::corrupt, "identity public key in the certificate cannot be read");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1)
    return make_error(Errc::failure, "cannot set up signature verification");
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) != 1)
    return make_error(Errc::rejected, "certificate extension signature does not verify with the identity key");
  return {};
}

bool understood_critical(X509_EXTENSION* ext, const ASN1_OBJECT* ours) {
  const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
  if (OBJ_cmp(obj, ours) == 0) return true;
  const int nid = OBJ_obj2nid(obj);
  return nid == NID_basic_constraints || nid == NID_key_usage || nid == NID_ext_key_usage;
}

std::shared_ptr<ASN1_OBJECT> extension_oid() {
  static std::shared_ptr<ASN1_OBJECT> oid(OBJ_txt2obj(std::string(kExtensionOid).c_str(), 1), ASN1_OBJECT_free);
  return oid;
}

}  // namespace

Bytes Certificate::der() const {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert.get(), &buf);
  if (n <= 0) return {};
  Bytes out(buf, buf + n);
  OPENSSL_free(buf);
  return out;
}

Bytes encode_signed_key(ByteView public_key, ByteView signature) {
  Bytes body;
  body.push_back(0x04);
  put_der_length(body, public_key.size());
  body.insert(body.end(), public_key.begin(), public_key.end());
  body.push_back(0x04);
  put_der_length(body, signature.size());
  body.insert(body.end(), signature.begin(), signature.end());
  Bytes out{0x30};
  put_der_length(out, body.size());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<std::pair<Bytes, Bytes>> decode_signed_key(ByteView der) {
  std::size_t pos = 0;
  CODEX_TRY_ASSIGN(ByteView seq, read_der(der, pos, 0x30));
  if (pos != der.size()) return make_error(Errc::corrupt, "SignedKey: bytes after the SEQUENCE");
  std::size_t p = 0;
  CODEX_TRY_ASSIGN(ByteView key, read_der(seq, p, 0x04));
  CODEX_TRY_ASSIGN(ByteView sig, read_der(seq, p, 0x04));
  if (p != seq.size()) return make_error(Errc::corrupt, "SignedKey: more than two fields");
  return std::pair{Bytes(key.begin(), key.end()), Bytes(sig.begin(), sig.end())};
}

Result<std::pair<KeyType, Bytes>> decode_public_key(ByteView message) {
  static constexpr std::array<std::string_view, 3> kNames = {"", "Type", "Data"};
  static const protobuf::Schema kPublicKey{"PublicKey", kNames};
  // Canonical: the peer id hashes these exact bytes.
  protobuf::Reader r(message, 0, kPublicKey, protobuf::Encoding::canonical);
  CODEX_TRY_ASSIGN(protobuf::Field type, r.next());
  if (type.number != 1 || type.type != protobuf::WireType::varint || type.value > 3)
    return make_error(Errc::corrupt, "PublicKey: field 1 (key type 0..3) expected first");
  if (r.done()) return make_error(Errc::corrupt, "PublicKey: no key data");
  CODEX_TRY_ASSIGN(protobuf::Field data, r.next());
  if (data.number != 2 || data.type != protobuf::WireType::length_delimited || data.payload.size() > kMaxKeyData)
    return make_error(Errc::corrupt, "PublicKey: field 2 (key data) expected second");
  if (!r.done()) return make_error(Errc::corrupt, "PublicKey: unexpected fields after the key");
  return std::pair{static_cast<KeyType>(type.value), Bytes(data.payload.begin(), data.payload.end())};
}

Result<Certificate> make_certificate(const Ed25519Key& identity, std::int64_t now_unix) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr x(X509_new());
  if (!key || !x) return make_error(Errc::failure, "cannot make a TLS certificate key");
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  serial &= 0x7fffffffffffffffull;
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(now_unix - 3600));
  ASN1_TIME_adj(X509_getm_notAfter(x.get()), static_cast<time_t>(now_unix), 365 * 100, 0);
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string sn = fmt::format("{}", serial);
  X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(sn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());

  Bytes message(kSignaturePrefix.begin(), kSignaturePrefix.end());
  Bytes spki = der_spki(key.get());
  message.insert(message.end(), spki.begin(), spki.end());
  const Bytes signed_key = encode_signed_key(ed25519_public_key_protobuf(identity.public_key()), identity.sign(message));
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, signed_key.data(), static_cast<int>(signed_key.size()));
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, extension_oid().get(), 0, value);
  ASN1_OCTET_STRING_free(value);
  const bool added = ext && X509_add_ext(x.get(), ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!added || X509_sign(x.get(), key.get(), EVP_sha256()) <= 0)
    return make_error(Errc::failure, "cannot sign the TLS certificate");
  Certificate c;
  c.cert.reset(x.release(), X509_free);
  c.key.reset(key.release(), EVP_PKEY_free);
  return c;
}

Result<RemoteIdentity> verify_certificate(ByteView der, std::int64_t now_unix) {
  if (der.size() > kMaxCertificate) return make_error(Errc::corrupt, "certificate larger than {} bytes", kMaxCertificate);
  const unsigned char* p = der.data();
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x || p != der.data() + der.size()) return make_error(Errc::corrupt, "certificate is not valid DER X.509");
  return verify_certificate(x.get(), now_unix);
}

Result<RemoteIdentity> verify_certificate(X509* cert, std::int64_t now_unix) {
  EVP_PKEY* cert_key = X509_get0_pubkey(cert);
  if (!cert_key) return make_error(Errc::corrupt, "certificate key cannot be read");
  if (X509_verify(cert, cert_key) != 1) return make_error(Errc::rejected, "certificate self-signature is not valid");
  time_t now = static_cast<time_t>(now_unix);
  if (X509_cmp_time(X509_get0_notBefore(cert), &now) >= 0)
    return make_error(Errc::rejected, "certificate is not valid yet");
  if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) return make_error(Errc::rejected, "certificate has expired");

  auto ours = extension_oid();
  X509_EXTENSION* found = nullptr;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    if (X509_EXTENSION_get_critical(ext) && !understood_critical(ext, ours.get()))
      return make_error(Errc::rejected, "certificate has a critical extension we do not understand");
    if (OBJ_cmp(X509_EXTENSION_get_object(ext), ours.get()) == 0) {
      if (found) return make_error(Errc::rejected, "certificate carries the libp2p extension twice");
      found = ext;
    }
  }
  if (!found) return make_error(Errc::rejected, "certificate lacks the libp2p public key extension");
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(found);
  CODEX_TRY_ASSIGN(auto signed_key,
                   decode_signed_key(ByteView(ASN1_STRING_get0_data(value), ASN1_STRING_length(value))));
  CODEX_TRY_ASSIGN(auto public_key, decode_public_key(signed_key.first));

  Bytes message(kSignaturePrefix.begin(), kSignaturePrefix.end());
  Bytes spki = der_spki(cert_key);
  message.insert(message.end(), spki.begin(), spki.end());
  CODEX_TRY(verify_identity_signature(public_key.first, public_key.second, message, signed_key.second));

  RemoteIdentity id;
  id.key_type = public_key.first;
  id.public_key = std::move(signed_key.first);
  if (id.public_key.size() <= 42) {
    id.peer_id = {0x00, static_cast<std::uint8_t>(id.public_key.size())};
    id.peer_id.insert(id.peer_id.end(), id.public_key.begin(), id.public_key.end());
  } else {
    id.peer_id = {0x12, 0x20};
    id.peer_id.resize(2 + SHA256_DIGEST_LENGTH);
    SHA256(id.public_key.data(), id.public_key.size(), id.peer_id.data() + 2);
  }
  return id;
}

}  // namespace codex::net::tls
