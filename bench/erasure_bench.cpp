// Encode throughput of ErasureCoder, in GB/s of data in, for every backend
// that loads here, next to what it has to beat: liberasurecode_encode called
// the plain way (fresh buffers per call, glibc defaults), and the SHA-256 the
// tools compute over every block anyway. Also the fragments engine (the
// fallback when liberasurecode's version differs) and reconstruct.
//
// Not part of the CMake build. From /work/main, after building codex_core:
//   g++ -O2 -std=c++20 -Ilibcore/include -Ilibcore/src -I/usr/include/liberasurecode \
//       bench/erasure_bench.cpp build-erasure/libcodex_core.a -lerasurecode -lfmt -lcrypto \
//       -o /tmp/erasure_bench && /tmp/erasure_bench [GiB per figure, default 1]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include <erasurecode.h>

#include "codex/erasure.hpp"
#include "codex/sha256.hpp"
#include "erasure_engine.hpp"

namespace {

using codex::ErasureCoder;
namespace internal = codex::erasure_internal;

constexpr std::size_t kBlockSize = 64 * 1024;
constexpr std::size_t kPoolSize = 64 << 20;  // data cycled through, beyond the caches

struct KM {
  std::uint32_t k;
  std::uint32_t m;
};

std::vector<std::uint8_t> make_pool() {
  std::vector<std::uint8_t> pool(kPoolSize);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& byte : pool) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    byte = static_cast<std::uint8_t>(x);
  }
  return pool;
}

// Runs code_group(first block of the group) until `bytes` of data went in; GB/s.
double measure(const std::vector<std::uint8_t>& pool, std::uint32_t k, double bytes,
               const std::function<void(const std::uint8_t*)>& code_group) {
  const std::size_t group_bytes = std::size_t{k} * kBlockSize;
  const std::size_t groups_in_pool = pool.size() / group_bytes;
  const auto start = std::chrono::steady_clock::now();
  double done = 0;
  for (std::size_t g = 0; done < bytes; ++g, done += group_bytes)
    code_group(pool.data() + (g % groups_in_pool) * group_bytes);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return done / seconds / 1e9;
}

double raw_liberasurecode(const std::vector<std::uint8_t>& pool, const char* backend, KM km, double bytes) {
  ec_args args{};
  args.k = static_cast<int>(km.k);
  args.m = static_cast<int>(km.m);
  args.hd = static_cast<int>(km.m);
  args.ct = CHKSUM_NONE;
  const int descriptor = liberasurecode_instance_create(internal::find_backend(backend)->id, &args);
  if (descriptor <= 0) return 0;
  std::vector<std::uint8_t> parity(std::size_t{km.m} * kBlockSize);
  const double rate = measure(pool, km.k, bytes, [&](const std::uint8_t* group) {
    char** data = nullptr;
    char** parity_fragments = nullptr;
    std::uint64_t fragment_size = 0;
    if (liberasurecode_encode(descriptor, reinterpret_cast<const char*>(group), std::uint64_t{km.k} * kBlockSize,
                              &data, &parity_fragments, &fragment_size) != 0)
      std::abort();
    for (std::uint32_t i = 0; i < km.m; ++i)
      std::memcpy(parity.data() + i * kBlockSize, parity_fragments[i] + 80, kBlockSize);
    liberasurecode_encode_cleanup(descriptor, data, parity_fragments);
  });
  // Not destroyed: destroying a liberasurecode_rs_vand or jerasure instance
  // frees global tables the coders below share (see erasure_engine.hpp).
  return rate;
}

template <class Encode>
double encode_rate(const std::vector<std::uint8_t>& pool, KM km, double bytes, Encode&& encode) {
  std::vector<std::uint8_t> parity(std::size_t{km.m} * kBlockSize);
  std::vector<const std::uint8_t*> data_rows(km.k);
  std::vector<std::uint8_t*> parity_rows(km.m);
  for (std::uint32_t i = 0; i < km.m; ++i) parity_rows[i] = parity.data() + i * kBlockSize;
  return measure(pool, km.k, bytes, [&](const std::uint8_t* group) {
    for (std::uint32_t i = 0; i < km.k; ++i) data_rows[i] = group + i * kBlockSize;
    if (!encode(data_rows, parity_rows)) std::abort();
  });
}

// Rebuilds the first m data rows of each group from the other rows (parity
// taken from one encode: only the rate matters here).
double reconstruct_rate(const std::vector<std::uint8_t>& pool, ErasureCoder& coder, KM km, double bytes) {
  std::vector<std::uint8_t> parity(std::size_t{km.m} * kBlockSize), rebuilt(std::size_t{km.m} * kBlockSize);
  std::vector<const std::uint8_t*> rows(km.k + km.m);
  std::vector<std::uint8_t*> out(km.k + km.m, nullptr);
  for (std::uint32_t i = 0; i < km.m; ++i) {
    rows[km.k + i] = parity.data() + i * kBlockSize;
    if (i < km.k) out[i] = rebuilt.data() + i * kBlockSize;
  }
  return measure(pool, km.k, bytes, [&](const std::uint8_t* group) {
    for (std::uint32_t i = 0; i < km.k; ++i) rows[i] = i < km.m ? nullptr : group + i * kBlockSize;
    if (!coder.reconstruct(rows, out).ok()) std::abort();
  });
}

}  // namespace

int main(int argc, char** argv) {
  const double gib = argc > 1 ? std::atof(argv[1]) : 1.0;
  const double bytes = gib * (1 << 30);
  const auto pool = make_pool();
  const auto backends = codex::available_backends();
  const KM geometries[] = {{4, 2}, {10, 4}};

  std::printf("erasure coding, 64 KiB blocks, %.2f GiB of data in per figure, GB/s of data in\n", gib);
  const double sha = measure(pool, 1, bytes, [](const std::uint8_t* block) {
    volatile auto digest = codex::sha256({block, kBlockSize})[0];
    (void)digest;
  });
  std::printf("sha256 of each block (the tools' floor): %.2f\n\n", sha);

  // Before anything opens a fragments engine: that raises glibc's malloc
  // thresholds process-wide, which changes this figure.
  std::vector<std::vector<double>> raw(backends.size());
  for (std::size_t b = 0; b < backends.size(); ++b)
    for (KM km : geometries) raw[b].push_back(raw_liberasurecode(pool, backends[b].c_str(), km, bytes));

  std::printf("%-24s %-6s %10s %10s %10s %12s\n", "backend", "K+M", "coder", "fragments", "raw encode",
              "reconstruct");
  for (std::size_t b = 0; b < backends.size(); ++b) {
    for (std::size_t g = 0; g < 2; ++g) {
      const KM km = geometries[g];
      auto coder = ErasureCoder::open(backends[b], km.k, km.m, kBlockSize);
      if (!coder.ok()) {
        std::printf("%-24s %u+%u: %s\n", backends[b].c_str(), km.k, km.m, coder.error().message.c_str());
        continue;
      }
      const double coded = encode_rate(pool, km, bytes, [&](auto& data, auto& parity) {
        return coder->encode(data, parity).ok();
      });
      auto engine = internal::open_engine({internal::find_backend(backends[b]), km.k, km.m, kBlockSize},
                                          internal::EngineKind::fragments);
      if (!engine.ok()) std::abort();
      const double fragments = encode_rate(pool, km, bytes, [&](auto& data, auto& parity) {
        return (*engine)->encode(data.data(), parity.data()).ok();
      });
      const double rebuilt = reconstruct_rate(pool, *coder, km, bytes);
      std::printf("%-24s %2u+%-3u %10.2f %10.2f %10.2f %12.2f\n", backends[b].c_str(), km.k, km.m, coded, fragments,
                  raw[b][g], rebuilt);
    }
  }
  std::printf("\ncoder: ErasureCoder::encode (%s engine); fragments: the fallback engine over liberasurecode_encode;\n"
              "raw encode: liberasurecode_encode + copying parity out, fresh buffers per call, glibc defaults;\n"
              "reconstruct: ErasureCoder::reconstruct of min(K,M) lost data blocks per group.\n",
              internal::backend_calls_supported() ? "backend_calls" : "fragments");
  return 0;
}
