// Ed25519 keys through OpenSSL's EVP interface and libp2p peer ids from them.
#include "codex/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "codex/cid.hpp"

namespace codex {
namespace {

constexpr std::uint8_t kIdentityMultihash = 0x00;
constexpr std::size_t kProtobufSize = 36;  // 08 01 12 20 || key
constexpr std::size_t kPeerIdSize = 2 + kProtobufSize;
// Longest text an Ed25519 peer id can have (38 bytes in base58 is 52 characters);
// anything much longer is refused before decoding.
constexpr std::size_t kMaxPeerIdText = 128;

EVP_PKEY* pkey(const std::shared_ptr<void>& key) { return static_cast<EVP_PKEY*>(key.get()); }

std::shared_ptr<void> own(EVP_PKEY* key) {
  return std::shared_ptr<void>(key, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

Bytes raw_public(EVP_PKEY* key) {
  Bytes out(32);
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &size) != 1 || size != 32) return {};
  return out;
}

Error errno_error(std::string_view what, const std::filesystem::path& file) {
  return make_error(Errc::io, "{} {}: {}", what, file.string(), std::strerror(errno));
}

}  // namespace

Bytes ed25519_public_key_protobuf(ByteView key32) {
  Bytes out{0x08, 0x01, 0x12, 0x20};
  out.insert(out.end(), key32.begin(), key32.end());
  return out;
}

Result<Bytes> ed25519_key_from_protobuf(ByteView protobuf) {
  if (protobuf.size() != kProtobufSize || protobuf[0] != 0x08 || protobuf[1] != 0x01 ||
      protobuf[2] != 0x12 || protobuf[3] != 0x20)
    return make_error(Errc::corrupt,
                      "public key is not an Ed25519 key in libp2p's encoding (08 01 12 20 and 32 key bytes)");
  return Bytes(protobuf.begin() + 4, protobuf.end());
}

Result<PeerId> PeerId::from_ed25519_public_key(ByteView key32) {
  if (key32.size() != 32)
    return make_error(Errc::corrupt, "Ed25519 public key has {} bytes, expected 32", key32.size());
  Bytes bytes{kIdentityMultihash, static_cast<std::uint8_t>(kProtobufSize)};
  Bytes pb = ed25519_public_key_protobuf(key32);
  bytes.insert(bytes.end(), pb.begin(), pb.end());
  return PeerId(std::move(bytes));
}

Result<PeerId> PeerId::from_bytes(ByteView multihash) {
  if (multihash.size() < 2 || multihash[0] != kIdentityMultihash)
    return make_error(Errc::corrupt, "peer id is not an identity multihash (only Ed25519 peer ids are accepted)");
  if (multihash[1] != kProtobufSize || multihash.size() != kPeerIdSize)
    return make_error(Errc::corrupt, "peer id has {} bytes, an Ed25519 peer id has {}", multihash.size(),
                      kPeerIdSize);
  CODEX_TRY(ed25519_key_from_protobuf(multihash.subspan(2)));
  return PeerId(Bytes(multihash.begin(), multihash.end()));
}

Result<PeerId> PeerId::parse(std::string_view text) {
  if (text.empty()) return make_error(Errc::usage, "empty peer id");
  if (text.size() > kMaxPeerIdText)
    return make_error(Errc::usage, "peer id of {} characters is too long", text.size());
  auto bytes = base58btc_decode(text);
  if (!bytes) return make_error(Errc::usage, "peer id '{}': {}", text, bytes.error().message);
  auto id = from_bytes(*bytes);
  if (!id) return make_error(Errc::usage, "peer id '{}': {}", text, id.error().message);
  return id;
}

std::string PeerId::to_string() const { return base58btc_encode(bytes_); }

Result<Bytes> PeerId::ed25519_public_key() const {
  if (bytes_.size() != kPeerIdSize) return make_error(Errc::corrupt, "empty peer id");
  return Bytes(bytes_.begin() + 6, bytes_.end());
}

Ed25519Key::Ed25519Key(std::shared_ptr<void> key) : key_(std::move(key)), public_(raw_public(pkey(key_))) {}

Result<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  if (!ctx) return make_error(Errc::failure, "OpenSSL: cannot make an Ed25519 key context");
  EVP_PKEY* key = nullptr;
  bool ok = EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok || !key) return make_error(Errc::failure, "OpenSSL: Ed25519 key generation failed");
  return Ed25519Key(own(key));
}

Result<Ed25519Key> Ed25519Key::from_seed(ByteView seed32) {
  if (seed32.size() != 32)
    return make_error(Errc::usage, "Ed25519 seed has {} bytes, expected 32", seed32.size());
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed32.data(), seed32.size());
  if (!key) return make_error(Errc::failure, "OpenSSL: cannot make an Ed25519 key from a seed");
  return Ed25519Key(own(key));
}

Result<Ed25519Key> Ed25519Key::load_pem(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "no key file {}", file.string());
    return errno_error("cannot open key file", file);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return errno_error("cannot stat key file", file);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::usage, "key file {} is not a regular file", file.string());
  }
  if (st.st_mode & 077) {
    ::close(fd);
    return make_error(Errc::usage,
                      "key file {} is readable or writable by others (mode {:o}); run: chmod 600 {}",
                      file.string(), st.st_mode & 0777, file.string());
  }
  // A PEM Ed25519 key is ~120 bytes; refuse anything that is not plausibly one.
  if (st.st_size > 16 * 1024) {
    ::close(fd);
    return make_error(Errc::corrupt, "key file {} is {} bytes, too large for a key", file.string(), st.st_size);
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return errno_error("cannot read key file", file);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  if (!bio) return make_error(Errc::failure, "OpenSSL: out of memory");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  OPENSSL_cleanse(text.data(), text.size());
  if (!key) return make_error(Errc::corrupt, "key file {} is not a PKCS#8 PEM private key", file.string());
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return make_error(Errc::corrupt, "key file {} holds a key that is not Ed25519", file.string());
  }
  return Ed25519Key(own(key));
}

Status Ed25519Key::save_pem(const std::filesystem::path& file) const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return make_error(Errc::failure, "OpenSSL: out of memory");
  if (PEM_write_bio_PrivateKey(bio, pkey(key_), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return make_error(Errc::failure, "OpenSSL: cannot encode the key as PEM");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);

  auto temp = file;
  temp += ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error("cannot create key file", temp);
  ::fchmod(fd, 0600);  // whatever the umask
  std::size_t done = 0;
  while (done < pem.size()) {
    ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto error = errno_error("cannot write key file", temp);
      ::close(fd);
      ::unlink(temp.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  OPENSSL_cleanse(pem.data(), pem.size());
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    auto error = errno_error("cannot write key file", temp);
    ::unlink(temp.c_str());
    return error;
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    auto error = errno_error("cannot rename key file to", file);
    ::unlink(temp.c_str());
    return error;
  }
  auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<Ed25519Key> Ed25519Key::load_or_create(const std::filesystem::path& file) {
  auto loaded = load_pem(file);
  if (loaded || loaded.error().code != Errc::not_found) return loaded;
  CODEX_TRY_ASSIGN(auto key, generate());
  CODEX_TRY(key.save_pem(file));
  return key;
}

Bytes Ed25519Key::public_key() const { return public_; }

PeerId Ed25519Key::peer_id() const { return *PeerId::from_ed25519_public_key(public_); }

Bytes Ed25519Key::sign(ByteView message) const {
  Bytes signature(64);
  std::size_t size = signature.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey(key_)) == 1 &&
            EVP_DigestSign(ctx, signature.data(), &size, message.data(), message.size()) == 1 && size == 64;
  EVP_MD_CTX_free(ctx);
  // Signing with a valid Ed25519 key cannot fail short of memory exhaustion;
  // an empty signature never verifies, so a failure cannot pass for success.
  if (!ok) return {};
  return signature;
}

bool ed25519_verify(ByteView public_key32, ByteView message, ByteView signature64) {
  if (public_key32.size() != 32 || signature64.size() != 64) return false;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key32.data(), 32);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, signature64.data(), 64, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace codex
