// The stepped layout's arithmetic; see layout.hpp for the rules.
#include "codex/layout.hpp"

#include <algorithm>

namespace codex {

Result<SteppedLayout> SteppedLayout::make(std::uint64_t blocks, std::uint32_t k, std::uint32_t m) {
  if (k < 1) return make_error(Errc::usage, "K must be at least 1 (got {})", k);
  if (m < 1) return make_error(Errc::usage, "M must be at least 1 (got {})", m);
  if (static_cast<std::uint64_t>(k) + m > kMaxFragments)
    return make_error(Errc::usage, "K+M must be at most {} with liberasurecode 1.6.2 (got {}+{}={})",
                      kMaxFragments, k, m, static_cast<std::uint64_t>(k) + m);
  if (blocks == 0) return make_error(Errc::usage, "a dataset to encode needs at least one block");
  // Far past any real dataset (2^40 blocks of 64 KiB is 64 PiB), and keeps
  // every index computation below clear of overflow for hostile manifests.
  if (blocks > (std::uint64_t{1} << 40))
    return make_error(Errc::usage, "a dataset of {} blocks is too large to encode", blocks);
  SteppedLayout layout;
  layout.blocks = blocks;
  layout.k = k;
  layout.m = m;
  layout.rounded = (blocks + k - 1) / k * k;
  layout.steps = layout.rounded / k;
  layout.total = layout.rounded + layout.steps * m;
  return layout;
}

Result<SteppedLayout> SteppedLayout::of(const Manifest& manifest) {
  if (!manifest.erasure || manifest.block_size == 0)
    return make_error(Errc::corrupt, "the manifest describes no erasure-coded layout");
  const ErasureInfo& ec = *manifest.erasure;
  const std::uint64_t blocks =
      std::max<std::uint64_t>(1, ec.original_dataset_size / manifest.block_size +
                                     (ec.original_dataset_size % manifest.block_size != 0));
  auto layout = make(blocks, ec.k, ec.m);
  if (!layout) return make_error(Errc::corrupt, "the manifest's erasure layout is impossible: {}", layout.error().message);
  return layout;
}

}  // namespace codex
