// SHA-256 over OpenSSL's EVP interface. The EVP_MD is fetched once (fetching
// per call is slow in OpenSSL 3) and each thread keeps one context, so hashing
// many small inputs (tree nodes) costs little beyond the compression itself.
#include "codex/sha256.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstring>

namespace codex {
namespace {

const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // OpenSSL without SHA-256: unusable
    return fetched;
  }();
  return md;
}

struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* thread_context() {
  thread_local ThreadContext context;
  return context.ctx;
}

Digest one_shot(const void* data, std::size_t size) {
  Digest out;
  EVP_MD_CTX* ctx = thread_context();
  if (EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data, size) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), nullptr) != 1)
    std::abort();
  return out;
}

}  // namespace

Digest sha256(ByteView data) { return one_shot(data.data(), data.size()); }

const Digest& empty_digest() {
  static const Digest digest = sha256(ByteView());
  return digest;
}

Digest sha256_pair(const Digest& left, const Digest& right, std::uint8_t key) {
  std::uint8_t buffer[65];
  std::memcpy(buffer, left.data(), 32);
  std::memcpy(buffer + 32, right.data(), 32);
  buffer[64] = key;
  return one_shot(buffer, sizeof buffer);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), sha256_md(), nullptr) != 1)
    std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(ByteView data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) std::abort();
}

Digest Sha256::finish() {
  Digest out;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (EVP_DigestFinal_ex(ctx, out.data(), nullptr) != 1 ||
      EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1)
    std::abort();
  return out;
}

}  // namespace codex
