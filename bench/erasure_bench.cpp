// Encode throughput of ErasureCoder, in GB/s of data in, for every backend
// that loads here, next to what it has to beat: liberasurecode_encode called
// the plain way (fresh buffers per call, glibc defaults), and the SHA-256 the
// tools compute over every block anyway. Also the fragments engine (the
// fallback when liberasurecode's version differs) and reconstruct.
// Twice: with the data in cache (as in the tools, which hash a group just
// before coding it) and streaming from memory.
//
// Built on request: `cmake --build build --target erasure_bench && build/erasure_bench [GiB]`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include <erasurecode.h>
#include <fmt/format.h>

#include "codex/erasure.hpp"
#include "codex/sha256.hpp"
#include "erasure_engine.hpp"

namespace {

using codex::ErasureCoder;
namespace internal = codex::erasure_internal;

constexpr std::size_t kBlockSize = 64 * 1024;

struct KM {
  std::uint32_t k;
  std::uint32_t m;
};

// The data cycled through: a few groups (cache) or 64 MiB (memory).
std::vector<std::uint8_t> make_pool(std::size_t size) {
  std::vector<std::uint8_t> pool(size);
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

// liberasurecode_encode the plain way. Run in a fresh process (this program,
// re-executed with --raw) so that each figure starts from glibc's default
// malloc state: its thresholds adapt to what was freed before, and a
// fragments engine raises them for the whole process.
double raw_liberasurecode(const std::vector<std::uint8_t>& pool, const char* backend, KM km, double bytes) {
  ec_args args{};
  args.k = static_cast<int>(km.k);
  args.m = static_cast<int>(km.m);
  args.hd = static_cast<int>(km.m);
  args.ct = CHKSUM_NONE;
  const int descriptor = liberasurecode_instance_create(internal::find_backend(backend)->id, &args);
  if (descriptor <= 0) return 0;
  std::vector<std::uint8_t> parity(std::size_t{km.m} * kBlockSize);
  return measure(pool, km.k, bytes, [&](const std::uint8_t* group) {
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
}

double raw_in_fresh_process(const std::string& backend, KM km, std::size_t pool_size, double gib) {
  char self[4096] = {};
  if (readlink("/proc/self/exe", self, sizeof self - 1) <= 0) return 0;
  const std::string command = fmt::format("'{}' --raw {} {} {} {} {}", self, backend, km.k, km.m, pool_size, gib);
  FILE* child = popen(command.c_str(), "r");
  double rate = 0;
  if (child == nullptr || std::fscanf(child, "%lf", &rate) != 1) rate = 0;
  if (child != nullptr) pclose(child);
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

constexpr KM kGeometries[] = {{4, 2}, {10, 4}};

void run(const char* title, const std::vector<std::uint8_t>& pool, double gib) {
  const double bytes = gib * (1 << 30);
  const auto backends = codex::available_backends();
  std::printf("\n%s\n", title);
  const double sha = measure(pool, 1, bytes, [](const std::uint8_t* block) {
    volatile auto digest = codex::sha256({block, kBlockSize})[0];
    (void)digest;
  });
  std::printf("sha256 of each block (what the tools do anyway): %.2f\n", sha);
  std::printf("%-24s %-6s %10s %10s %10s %12s\n", "backend", "K+M", "coder", "fragments", "raw encode",
              "reconstruct");
  for (const auto& backend : backends) {
    for (KM km : kGeometries) {
      auto coder = ErasureCoder::open(backend, km.k, km.m, kBlockSize);
      if (!coder.ok()) {
        std::printf("%-24s %u+%u: %s\n", backend.c_str(), km.k, km.m, coder.error().message.c_str());
        continue;
      }
      const double coded = encode_rate(pool, km, bytes, [&](auto& data, auto& parity) {
        return coder->encode(data, parity).ok();
      });
      auto engine = internal::open_engine({internal::find_backend(backend), km.k, km.m, kBlockSize},
                                          internal::EngineKind::fragments);
      if (!engine.ok()) std::abort();
      const double fragments = encode_rate(pool, km, bytes, [&](auto& data, auto& parity) {
        return (*engine)->encode(data.data(), parity.data()).ok();
      });
      const double raw = raw_in_fresh_process(backend, km, pool.size(), gib);
      const double rebuilt = reconstruct_rate(pool, *coder, km, bytes);
      std::printf("%-24s %2u+%-3u %10.2f %10.2f %10.2f %12.2f\n", backend.c_str(), km.k, km.m, coded, fragments, raw,
                  rebuilt);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::string(argv[1]) == "--raw") {
    const KM km{static_cast<std::uint32_t>(std::atoi(argv[3])), static_cast<std::uint32_t>(std::atoi(argv[4]))};
    const auto pool = make_pool(std::strtoull(argv[5], nullptr, 10));
    std::printf("%f\n", raw_liberasurecode(pool, argv[2], km, std::atof(argv[6]) * (1 << 30)));
    return 0;
  }
  const double gib = argc > 1 ? std::atof(argv[1]) : 1.0;
  std::printf("erasure coding, 64 KiB blocks, %.2f GiB of data in per figure, GB/s of data in (one core)\n", gib);
  std::printf("coder: ErasureCoder::encode (%s engine); fragments: the fallback engine over liberasurecode_encode;\n"
              "raw encode: liberasurecode_encode + copying parity out, fresh buffers per call, glibc defaults;\n"
              "reconstruct: ErasureCoder::reconstruct of M lost data blocks per group.\n",
              internal::backend_calls_supported() ? "backend_calls" : "fragments");
  run("data in cache (3 groups of 10 blocks, cycled):", make_pool(3 * 10 * kBlockSize), gib);
  run("data from memory (64 MiB cycled):", make_pool(64 << 20), gib);
  return 0;
}
