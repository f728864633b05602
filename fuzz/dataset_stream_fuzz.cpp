// A whole dataset stream as codex-put and codex-encode read it: every block
// handed on matches its CID (or is flagged), and a stream that passes has a
// manifest whose tree its blocks form.
#include "codex/codex_tree.hpp"
#include "codex/io.hpp"
#include "dataset_stream.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  MemorySource source(Bytes(input.begin(), input.end()), "fuzz");
  auto dataset = read_dataset_stream(source, /*tolerate_corrupt=*/true, [](std::span<const StreamBlock> blocks) {
    for (const StreamBlock& block : blocks) CODEX_FUZZ_CHECK(block.intact == (sha256(block.data) == block.digest));
    return Status();
  });
  if (!dataset) return;
  auto root = codex_tree_root(dataset->leaves);
  CODEX_FUZZ_CHECK(root && Cid::from_digest(codec::root, *root) == dataset->manifest.tree);
  CODEX_FUZZ_CHECK(manifest_cid(dataset->manifest_bytes) == dataset->manifest_cid);
}
