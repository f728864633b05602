// SHA-256: one-shot and batch digests on SHA-NI where the CPU has it
// (sha256_ni.hpp), else over OpenSSL's EVP interface. For EVP the EVP_MD is
// fetched once (fetching per call is slow in OpenSSL 3) and each thread keeps
// one context.
#include "codex/sha256.hpp"

#include "sha256_ni.hpp"
#include "sha256_x16.hpp"

#include <openssl/evp.h>

#include <algorithm>
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
  if (sha_ni::available()) {
    sha_ni::digest(static_cast<const std::uint8_t*>(data), size, out.data());
    return out;
  }
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

namespace {

// How many of inputs[from ..] have the size of inputs[from], up to `most`.
std::size_t equal_run(std::span<const ByteView> inputs, std::size_t from, std::size_t most) {
  std::size_t n = 1;
  while (n < most && from + n < inputs.size() && inputs[from + n].size() == inputs[from].size()) ++n;
  return n;
}

}  // namespace

// Neighbouring inputs of equal size are hashed together: sixteen at a time on
// AVX-512 (runs of ten or more), else two at a time on SHA-NI.
void sha256_each(std::span<const ByteView> inputs, std::span<Digest> out) {
  if (out.size() != inputs.size()) std::abort();  // a caller's bug, never input's
  const bool sixteen_at_a_time = sha_x16::available();
  const bool two_at_a_time = sha_ni::available();
  for (std::size_t i = 0; i < inputs.size();) {
    const std::size_t run = equal_run(inputs, i, sha_x16::kLanes);
    if (sixteen_at_a_time && run >= sha_x16::kMinLanes) {
      // A short run fills its empty lanes with its first message, and drops their digests.
      const std::uint8_t* messages[sha_x16::kLanes];
      std::uint8_t digests[sha_x16::kLanes][32];
      for (std::size_t lane = 0; lane < sha_x16::kLanes; ++lane)
        messages[lane] = inputs[i + (lane < run ? lane : 0)].data();
      sha_x16::digest(messages, inputs[i].size(), digests);
      for (std::size_t lane = 0; lane < run; ++lane) std::memcpy(out[i + lane].data(), digests[lane], 32);
      i += run;
    } else if (two_at_a_time && run >= 2) {
      sha_ni::digest_x2(inputs[i].data(), inputs[i + 1].data(), inputs[i].size(), out[i].data(),
                        out[i + 1].data());
      i += 2;
    } else {
      out[i] = sha256(inputs[i]);
      i += 1;
    }
  }
}

std::size_t sha256_batch_width() {
  return sha_x16::available() ? sha_x16::kLanes : 2;
}

std::size_t sha256_run_per_task(std::size_t count, std::size_t threads) {
  const std::size_t even_share = (count + threads - 1) / std::max<std::size_t>(threads, 1);
  return std::max<std::size_t>(2, std::min(sha256_batch_width(), even_share));
}

void sha256_pairs(const Digest* nodes, std::size_t pairs, std::uint8_t key, Digest* out) {
  std::size_t i = 0;
  if (sha_x16::available() && pairs >= sha_x16::kLanes) {
    // Sixteen at a time, a chunk of whole runs of sixteen at once. Each
    // chunk's inputs are copied out before its outputs are written (out may
    // alias nodes; a chunk's outputs come before its inputs or among them).
    constexpr std::size_t kChunk = 4 * sha_x16::kLanes;
    std::uint8_t messages[kChunk][65];
    ByteView views[kChunk];
    for (; i + sha_x16::kLanes <= pairs;) {
      const std::size_t n = std::min(kChunk, (pairs - i) / sha_x16::kLanes * sha_x16::kLanes);
      for (std::size_t j = 0; j < n; ++j) {
        std::memcpy(messages[j], nodes[2 * (i + j)].data(), 32);
        std::memcpy(messages[j] + 32, nodes[2 * (i + j) + 1].data(), 32);
        messages[j][64] = key;
        views[j] = ByteView(messages[j], 65);
      }
      sha256_each(std::span<const ByteView>(views, n), std::span<Digest>(out + i, n));
      i += n;
    }
  }
  if (sha_ni::available()) {
    for (; i + 1 < pairs; i += 2) {
      // Both inputs are copied out before either output is written (out may alias nodes).
      std::uint8_t a[65], b[65];
      std::memcpy(a, nodes[2 * i].data(), 32);
      std::memcpy(a + 32, nodes[2 * i + 1].data(), 32);
      std::memcpy(b, nodes[2 * i + 2].data(), 32);
      std::memcpy(b + 32, nodes[2 * i + 3].data(), 32);
      a[64] = b[64] = key;
      sha_ni::digest_x2(a, b, sizeof a, out[i].data(), out[i + 1].data());
    }
  }
  for (; i < pairs; ++i) out[i] = sha256_pair(nodes[2 * i], nodes[2 * i + 1], key);
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
