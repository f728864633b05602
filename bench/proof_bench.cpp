// How long storage proofs take, for docs/storage-proofs.md: 64 KiB blocks of
// 2 KiB cells, one slot of 4096 blocks (256 MiB, held in memory so that disk
// reads are not what is measured), 4 samples. Built on request:
//
//   cmake --build build --target proof_bench && build/proof_bench [iterations]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "codex/storage_proof.hpp"

using namespace codex;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kBlockSize = 65536;
constexpr std::uint32_t kCellSize = 2048;
constexpr std::uint32_t kK = 4, kM = 2;
constexpr std::uint64_t kStepsPerSlot = 4096;

template <class F>
double microseconds_per_call(int iterations, F&& f) {
  auto start = Clock::now();
  for (int i = 0; i < iterations; ++i) f(i);
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / iterations;
}

Bytes challenge_of(int n) {
  Digest d = sha256(as_bytes(fmt::format("bench challenge {}", n)));
  return Bytes(d.begin(), d.end());
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  std::mt19937_64 rng(42);
  std::vector<Bytes> slot(kStepsPerSlot, Bytes(kBlockSize));
  for (auto& block : slot)
    for (std::size_t i = 0; i < block.size(); i += 8) {
      std::uint64_t r = rng();
      std::memcpy(block.data() + i, &r, 8);
    }

  std::vector<Digest> roots(kStepsPerSlot);
  auto start = Clock::now();
  for (std::size_t i = 0; i < slot.size(); ++i) roots[i] = block_cell_root(slot[i], kCellSize);
  double cell_root_us =
      std::chrono::duration<double, std::micro>(Clock::now() - start).count() / static_cast<double>(slot.size());

  // Slot 0 is ours; the other slots' roots only need to be well formed.
  ErasureInfo erasure;
  erasure.k = kK;
  erasure.m = kM;
  erasure.original_dataset_size = kStepsPerSlot * kK * kBlockSize;
  erasure.cell_size = kCellSize;
  erasure.slot_roots.push_back(*slot_root_cid(roots));
  for (std::uint32_t s = 1; s < kK + kM; ++s)
    erasure.slot_roots.push_back(Cid::from_digest(codec::slot_root, sha256(as_bytes(fmt::format("slot {}", s)))));
  erasure.verify_root = *proving_root_cid(erasure.slot_roots);
  Manifest manifest;
  manifest.block_size = kBlockSize;
  manifest.dataset_size = kStepsPerSlot * (kK + kM) * kBlockSize;
  manifest.erasure = erasure;
  Cid manifest_cid = Cid::from_digest(codec::manifest, sha256(as_bytes("bench manifest")));

  SlotBlockReader reader = [&](std::uint64_t block) -> Result<Bytes> { return slot[block]; };
  double tree_us = microseconds_per_call(20, [&](int) { (void)CodexTree::build(roots); });
  auto tree = CodexTree::build(roots);

  std::vector<StorageProof> proofs(iterations);
  double make_us = microseconds_per_call(iterations, [&](int i) {
    auto proof = make_storage_proof(manifest, manifest_cid, 0, challenge_of(i), roots, reader);
    if (!proof) std::abort();
    proofs[i] = std::move(*proof);
  });
  double make_cached_us = microseconds_per_call(iterations, [&](int i) {
    auto proof = make_storage_proof(manifest, manifest_cid, 0, challenge_of(i), *tree, reader);
    if (!proof) std::abort();
  });
  double check_us = microseconds_per_call(iterations, [&](int i) {
    if (!check_storage_proof(proofs[i], manifest, manifest_cid, challenge_of(i), 0).ok()) std::abort();
  });
  std::string json = proof_to_json(proofs[0]);
  Bytes binary = encode_storage_proof(proofs[0]);
  double json_us = microseconds_per_call(iterations, [&](int) {
    if (!proof_from_json(json)) std::abort();
  });
  double binary_us = microseconds_per_call(iterations, [&](int) {
    if (!decode_storage_proof(binary)) std::abort();
  });

  std::printf("geometry: %llu-byte blocks, %u-byte cells, %llu blocks per slot, %u samples\n",
              static_cast<unsigned long long>(kBlockSize), kCellSize,
              static_cast<unsigned long long>(kStepsPerSlot), kDefaultProofSamples);
  std::printf("block_cell_root (64 KiB):        %8.1f us\n", cell_root_us);
  std::printf("slot tree build (4096 leaves):   %8.1f us\n", tree_us);
  std::printf("make proof (block roots given):  %8.1f us\n", make_us);
  std::printf("make proof (slot tree kept):     %8.1f us\n", make_cached_us);
  std::printf("check proof:                     %8.1f us\n", check_us);
  std::printf("proof size: %zu bytes binary, %zu bytes JSON\n", binary.size(), json.size());
  std::printf("decode proof: %.1f us binary, %.1f us JSON\n", binary_us, json_us);
  return 0;
}
