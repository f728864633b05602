// Manifests in every layout (A, B, C, P): what decodes re-encodes (in its own
// layout, where the toolkit writes that layout) to bytes that decode to the
// same manifest.
#include "codex/manifest.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  auto manifest = decode_manifest(input);
  if (!manifest || manifest->format == ManifestFormat::nim_codex) return;
  auto bytes = encode_manifest(*manifest, manifest->format);
  if (!bytes) return;  // the encoder may refuse what it would not write (e.g. blockSize 0)
  auto back = decode_manifest(*bytes);
  CODEX_FUZZ_CHECK(back);
  CODEX_FUZZ_CHECK(back->format == manifest->format);
  CODEX_FUZZ_CHECK(back->tree == manifest->tree);
  CODEX_FUZZ_CHECK(back->block_size == manifest->block_size && back->dataset_size == manifest->dataset_size);
  CODEX_FUZZ_CHECK(back->filename.value_or("") == manifest->filename.value_or(""));
  CODEX_FUZZ_CHECK(back->mimetype.value_or("") == manifest->mimetype.value_or(""));
  CODEX_FUZZ_CHECK(back->is_protected() == manifest->is_protected());
}
