// Manifests: byte-exact A and B against the vectors, decoding of hand-built C,
// the protected format P both ways, dozens of malformed inputs, truncation at
// every offset, random mutation, JSON and mimetypes.
#include "codex/manifest.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>

#include "codex/codex_tree.hpp"
#include "codex/layout.hpp"
#include "codex/protobuf.hpp"

namespace codex {
namespace {

using protobuf::Writer;

nlohmann::json load_vectors() {
  std::ifstream in(std::string(CODEX_TEST_DATA) + "/codex-vectors.json");
  return nlohmann::json::parse(in);
}

Bytes hex(const std::string& text) {
  auto bytes = from_hex(text);
  EXPECT_TRUE(bytes) << text;
  return bytes ? *bytes : Bytes{};
}

Cid cid(std::string_view text) {
  auto parsed = Cid::parse(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : Cid{};
}

Cid label_cid(std::uint64_t codec, std::string_view label) { return Cid::from_digest(codec, sha256(as_bytes(label))); }

Bytes wrap(std::uint32_t outer_field, const Bytes& header) {
  Writer outer;
  outer.bytes(outer_field, header);
  return outer.take();
}

// Fails with Errc::corrupt and a message containing `reason`.
void expect_corrupt(ByteView bytes, std::string_view reason, const std::string& label = "") {
  auto decoded = decode_manifest(bytes);
  ASSERT_FALSE(decoded) << label << ": decoded " << to_hex(bytes) << ", expected \"" << reason << "\"";
  EXPECT_EQ(decoded.error().code, Errc::corrupt) << label;
  EXPECT_NE(decoded.error().message.find(reason), std::string::npos)
      << label << ": \"" << decoded.error().message << "\" lacks \"" << reason << "\"";
}

// --- Format A and B against the vectors -----------------------------------

TEST(Manifest, UpstreamFormatAFixtures) {
  const auto vectors = load_vectors();
  const auto& fixtures = vectors["manifest_format_A_upstream_fixtures"];
  auto tree = Cid::from_bytes(hex(fixtures["treeCid_hex"]));
  ASSERT_TRUE(tree) << tree.error().message;
  int count = 0;
  for (const auto& [name, fixture] : fixtures["fixtures"].items()) {
    ++count;
    Manifest manifest;
    manifest.tree = *tree;
    manifest.block_size = fixture["blockSize"];
    manifest.dataset_size = fixture["datasetSize"];
    if (!fixture["filename"].is_null()) manifest.filename = fixture["filename"];
    if (!fixture["mimetype"].is_null()) manifest.mimetype = fixture["mimetype"];
    auto encoded = encode_manifest(manifest, ManifestFormat::current);
    ASSERT_TRUE(encoded) << name;
    EXPECT_EQ(to_hex(*encoded), fixture["bytes_hex"].get<std::string>()) << name;

    auto decoded = decode_manifest(hex(fixture["bytes_hex"]));
    ASSERT_TRUE(decoded) << name << ": " << decoded.error().message;
    EXPECT_EQ(decoded->format, ManifestFormat::current);
    EXPECT_EQ(decoded->tree, *tree);
    EXPECT_EQ(decoded->block_size, manifest.block_size);
    EXPECT_EQ(decoded->dataset_size, manifest.dataset_size);
    EXPECT_EQ(decoded->codec, codec::block);
    EXPECT_EQ(decoded->hcodec, multihash_code::sha2_256);
    EXPECT_EQ(decoded->cid_version, 2u);
    EXPECT_EQ(decoded->filename, manifest.filename);
    EXPECT_EQ(decoded->mimetype, manifest.mimetype);
    EXPECT_FALSE(decoded->is_protected());
  }
  EXPECT_EQ(count, 4);
}

TEST(Manifest, DatasetVectorsInFormatsAAndB) {
  const auto vectors = load_vectors();
  int count = 0;
  for (const auto& [name, entry] : vectors.items()) {
    if (name.rfind("dataset_", 0) != 0) continue;
    ++count;
    Manifest manifest;
    manifest.tree = cid(entry["tree_cid"].get<std::string>());
    manifest.block_size = entry["blockSize"];
    if (entry.contains("input_ascii")) manifest.dataset_size = entry["input_ascii"].get<std::string>().size();
    else manifest.dataset_size = std::stoull(entry["input"].get<std::string>());
    if (entry.contains("filename")) manifest.filename = entry["filename"];
    if (entry.contains("mimetype")) manifest.mimetype = entry["mimetype"];

    for (auto [format, key] : {std::pair{ManifestFormat::current, "A"}, std::pair{ManifestFormat::legacy, "B"}}) {
      const std::string hex_key = std::string("manifest_") + key + "_hex";
      const std::string cid_key = std::string("manifest_") + key + "_cid";
      auto encoded = encode_manifest(manifest, format);
      ASSERT_TRUE(encoded);
      EXPECT_EQ(to_hex(*encoded), entry[hex_key].get<std::string>()) << name << " " << key;
      EXPECT_EQ(manifest_cid(*encoded).to_string(), entry[cid_key].get<std::string>()) << name << " " << key;

      auto decoded = decode_manifest(hex(entry[hex_key]));
      ASSERT_TRUE(decoded) << name << " " << key << ": " << decoded.error().message;
      EXPECT_EQ(decoded->format, format) << name << " " << key;
      EXPECT_EQ(decoded->tree, manifest.tree);
      EXPECT_EQ(decoded->block_size, manifest.block_size);
      EXPECT_EQ(decoded->dataset_size, manifest.dataset_size);
      EXPECT_EQ(decoded->filename, manifest.filename);
      EXPECT_EQ(decoded->mimetype, manifest.mimetype);
      EXPECT_EQ(decoded->block_count(), entry["block_cids"].size()) << name;
      auto again = encode_manifest(*decoded, format);
      ASSERT_TRUE(again);
      EXPECT_EQ(*again, hex(entry[hex_key])) << name << " " << key;
    }
  }
  EXPECT_GE(count, 4);
}

TEST(Manifest, EmptyStringsAreAbsent) {
  Manifest manifest;
  manifest.tree = label_cid(codec::root, "tree");
  manifest.filename = "";
  manifest.mimetype = "";
  auto encoded = encode_manifest(manifest, ManifestFormat::current);
  ASSERT_TRUE(encoded);
  manifest.filename.reset();
  manifest.mimetype.reset();
  EXPECT_EQ(*encoded, *encode_manifest(manifest, ManifestFormat::current));
  // Written explicitly, an empty string still decodes as absent.
  Writer header;
  header.varint(1, 0);
  header.bytes(2, manifest.tree.bytes());
  header.varint(3, 65536);
  header.varint(4, 10);
  header.string(8, "");
  auto decoded = decode_manifest(wrap(1, header.data()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_FALSE(decoded->filename);
  // Scalars other than the three required ones take their defaults.
  EXPECT_EQ(decoded->codec, codec::block);
  EXPECT_EQ(decoded->cid_version, 2u);
}

TEST(Manifest, EncodeRefusals) {
  Manifest manifest;
  auto no_tree = encode_manifest(manifest, ManifestFormat::current);
  ASSERT_FALSE(no_tree);
  EXPECT_EQ(no_tree.error().code, Errc::usage);
  manifest.tree = label_cid(codec::root, "tree");
  auto c = encode_manifest(manifest, ManifestFormat::nim_codex);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::usage);
  auto p = encode_manifest(manifest, ManifestFormat::protected_v1);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, Errc::usage);
  manifest.block_size = 0;
  EXPECT_FALSE(encode_manifest(manifest, ManifestFormat::legacy));
}

// A legacy (B) header whose filename has the shape of format C's ErasureInfo
// would read back as C: the encoder refuses it instead of writing a manifest
// nobody can read. Format A has no such ambiguity and takes the name.
TEST(Manifest, RefusesWhatWouldNotReadBack) {
  Manifest manifest;
  manifest.tree = label_cid(codec::root, "tree");
  manifest.dataset_size = 5;
  manifest.filename = std::string("\x08\x01\x10\x01\x1a\x01x\x20\x01\x28\x01", 11);
  auto legacy = encode_manifest(manifest, ManifestFormat::legacy);
  ASSERT_FALSE(legacy);
  EXPECT_EQ(legacy.error().code, Errc::usage);
  auto current = encode_manifest(manifest, ManifestFormat::current);
  ASSERT_TRUE(current) << current.error().message;
  auto back = decode_manifest(*current);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->filename, manifest.filename);
  // Every one-byte filename still encodes and reads back in both layouts.
  for (int b = 1; b < 256; ++b) {
    manifest.filename = std::string(1, static_cast<char>(b));
    for (ManifestFormat format : {ManifestFormat::current, ManifestFormat::legacy}) {
      auto bytes = encode_manifest(manifest, format);
      ASSERT_TRUE(bytes) << b;
      auto again = decode_manifest(*bytes);
      ASSERT_TRUE(again) << b;
      EXPECT_EQ(again->filename, manifest.filename);
      EXPECT_EQ(again->format, format);
    }
  }
}

TEST(Manifest, BlockCount) {
  Manifest manifest;
  manifest.block_size = 65536;
  manifest.dataset_size = 0;
  EXPECT_EQ(manifest.block_count(), 1u);  // the empty dataset is one zero block
  manifest.dataset_size = 1;
  EXPECT_EQ(manifest.block_count(), 1u);
  manifest.dataset_size = 65536;
  EXPECT_EQ(manifest.block_count(), 1u);
  manifest.dataset_size = 65537;
  EXPECT_EQ(manifest.block_count(), 2u);
  manifest.dataset_size = 200000;
  EXPECT_EQ(manifest.block_count(), 4u);
  manifest.dataset_size = ~0ull;
  manifest.block_size = 1;
  EXPECT_EQ(manifest.block_count(), ~0ull);
}

// --- Format C, built by hand -----------------------------------------------

struct CParts {
  bool erasure = false;
  bool verifiable = false;
  std::optional<std::string> filename, mimetype;
};

Bytes c_manifest(const CParts& parts) {
  Writer header;
  header.bytes(1, label_cid(codec::root, "c tree").bytes());
  header.varint(2, 65536);
  header.varint(3, parts.erasure ? 6 * 65536 : 300000);
  header.varint(4, codec::block);
  header.varint(5, multihash_code::sha2_256);
  header.varint(6, 2);
  if (parts.erasure) {
    Writer info;
    info.varint(1, 2);
    info.varint(2, 1);
    info.bytes(3, label_cid(codec::root, "c original").bytes());
    info.varint(4, 200000);
    info.varint(5, 1);
    if (parts.verifiable) {
      Writer verification;
      verification.bytes(1, label_cid(codec::proving_root, "c verify").bytes());
      for (int i = 0; i < 3; ++i)
        verification.bytes(2, label_cid(codec::slot_root, "c slot " + std::to_string(i)).bytes());
      verification.varint(3, 2048);
      verification.varint(4, 0);
      info.bytes(6, verification.data());
    }
    header.bytes(7, info.data());
  }
  if (parts.filename) header.string(8, *parts.filename);
  if (parts.mimetype) header.string(9, *parts.mimetype);
  return wrap(1, header.data());
}

TEST(Manifest, FormatCWithoutErasure) {
  auto decoded = decode_manifest(c_manifest({.filename = "a.txt", .mimetype = "text/plain"}));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->format, ManifestFormat::nim_codex);
  EXPECT_EQ(decoded->tree, label_cid(codec::root, "c tree"));
  EXPECT_EQ(decoded->block_size, 65536u);
  EXPECT_EQ(decoded->dataset_size, 300000u);
  EXPECT_EQ(decoded->filename, "a.txt");
  EXPECT_EQ(decoded->mimetype, "text/plain");
  EXPECT_FALSE(decoded->is_protected());
  EXPECT_EQ(decoded->block_count(), 5u);

  auto mimetype_only = decode_manifest(c_manifest({.mimetype = "text/plain"}));
  ASSERT_TRUE(mimetype_only);
  EXPECT_EQ(mimetype_only->format, ManifestFormat::nim_codex);
  EXPECT_FALSE(mimetype_only->filename);
  EXPECT_EQ(mimetype_only->mimetype, "text/plain");

  // Field 8 alone is the documented ambiguity, read as B (8 = mimetype there).
  auto ambiguous = decode_manifest(c_manifest({.filename = "a.txt"}));
  ASSERT_TRUE(ambiguous);
  EXPECT_EQ(ambiguous->format, ManifestFormat::legacy);
  EXPECT_EQ(ambiguous->mimetype, "a.txt");

  // No optional field at all: B and C are the same bytes; read as B.
  auto bare = decode_manifest(c_manifest({}));
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->format, ManifestFormat::legacy);
}

TEST(Manifest, FormatCWithErasure) {
  auto decoded = decode_manifest(c_manifest({.erasure = true}));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->format, ManifestFormat::nim_codex);
  ASSERT_TRUE(decoded->is_protected());
  const ErasureInfo& ec = *decoded->erasure;
  EXPECT_EQ(ec.k, 2u);
  EXPECT_EQ(ec.m, 1u);
  EXPECT_EQ(ec.original_tree, label_cid(codec::root, "c original"));
  EXPECT_EQ(ec.original_dataset_size, 200000u);
  EXPECT_EQ(ec.strategy, 1u);
  EXPECT_EQ(ec.backend, "leopard");
  EXPECT_EQ(ec.cell_size, 0u);
  EXPECT_TRUE(ec.slot_roots.empty());
  EXPECT_FALSE(ec.verify_root.valid());
  EXPECT_EQ(decoded->block_count(), 6u);
  EXPECT_FALSE(decoded->filename);

  auto verifiable =
      decode_manifest(c_manifest({.erasure = true, .verifiable = true, .filename = "x.bin", .mimetype = "m/t"}));
  ASSERT_TRUE(verifiable) << verifiable.error().message;
  EXPECT_EQ(verifiable->format, ManifestFormat::nim_codex);
  EXPECT_EQ(verifiable->filename, "x.bin");
  EXPECT_EQ(verifiable->mimetype, "m/t");
  ASSERT_EQ(verifiable->erasure->slot_roots.size(), 3u);
  EXPECT_EQ(verifiable->erasure->slot_roots[2], label_cid(codec::slot_root, "c slot 2"));
  EXPECT_EQ(verifiable->erasure->verify_root, label_cid(codec::proving_root, "c verify"));
  EXPECT_EQ(verifiable->erasure->cell_size, 2048u);

  auto with_filename = decode_manifest(c_manifest({.erasure = true, .filename = "only-name"}));
  ASSERT_TRUE(with_filename);
  EXPECT_EQ(with_filename->format, ManifestFormat::nim_codex);
  EXPECT_EQ(with_filename->filename, "only-name");
  EXPECT_FALSE(with_filename->mimetype);
}

// --- Format P ----------------------------------------------------------------

// A protected manifest that obeys every rule; placeholders stand for the data.
Manifest make_protected(std::uint64_t original_size = 200000, std::uint64_t block_size = 65536, std::uint32_t k = 4,
                        std::uint32_t m = 2) {
  Manifest manifest;
  manifest.format = ManifestFormat::protected_v1;
  manifest.block_size = block_size;
  const std::uint64_t blocks = std::max<std::uint64_t>(1, (original_size + block_size - 1) / block_size);
  auto layout = SteppedLayout::make(blocks, k, m);
  EXPECT_TRUE(layout);
  manifest.dataset_size = layout->total * block_size;
  manifest.tree = label_cid(codec::root, "protected tree");
  ErasureInfo ec;
  ec.k = k;
  ec.m = m;
  ec.original_tree = label_cid(codec::root, "plain tree");
  ec.original_dataset_size = original_size;
  ec.backend = "isa_l_rs_cauchy";
  ec.cell_size = 2048;
  std::vector<Digest> digests;
  for (std::uint32_t i = 0; i < k + m; ++i) {
    digests.push_back(sha256(as_bytes("slot " + std::to_string(i))));
    ec.slot_roots.push_back(Cid::from_digest(codec::slot_root, digests.back()));
  }
  ec.verify_root = Cid::from_digest(codec::proving_root, *codex_tree_root(digests));
  manifest.erasure = ec;
  return manifest;
}

// Format P written field by field with no checks, so tests can break rules.
Bytes raw_protected(const Manifest& manifest, const std::set<std::uint32_t>& skip = {},
                    std::uint64_t version = 1) {
  const ErasureInfo& ec = *manifest.erasure;
  Writer h;
  auto put = [&](std::uint32_t field, std::function<void()> write) {
    if (!skip.count(field)) write();
  };
  put(1, [&] { h.varint(1, version); });
  put(2, [&] { h.bytes(2, manifest.tree.bytes()); });
  put(3, [&] { h.varint(3, manifest.block_size); });
  put(4, [&] { h.varint(4, manifest.dataset_size); });
  put(5, [&] { h.varint(5, manifest.codec); });
  put(6, [&] { h.varint(6, manifest.hcodec); });
  put(7, [&] { h.varint(7, manifest.cid_version); });
  if (manifest.filename) put(8, [&] { h.string(8, *manifest.filename); });
  if (manifest.mimetype) put(9, [&] { h.string(9, *manifest.mimetype); });
  put(10, [&] { h.varint(10, ec.k); });
  put(11, [&] { h.varint(11, ec.m); });
  put(12, [&] { h.bytes(12, ec.original_tree.bytes()); });
  put(13, [&] { h.varint(13, ec.original_dataset_size); });
  put(14, [&] { h.varint(14, ec.strategy); });
  put(15, [&] { h.string(15, ec.backend); });
  put(16, [&] { h.varint(16, ec.cell_size); });
  put(17, [&] {
    for (const Cid& root : ec.slot_roots) h.bytes(17, root.bytes());
  });
  put(18, [&] { h.bytes(18, ec.verify_root.bytes()); });
  return wrap(2, h.data());
}

void expect_same(const Manifest& a, const Manifest& b) {
  EXPECT_EQ(a.tree, b.tree);
  EXPECT_EQ(a.block_size, b.block_size);
  EXPECT_EQ(a.dataset_size, b.dataset_size);
  EXPECT_EQ(a.codec, b.codec);
  EXPECT_EQ(a.hcodec, b.hcodec);
  EXPECT_EQ(a.cid_version, b.cid_version);
  EXPECT_EQ(a.filename, b.filename);
  EXPECT_EQ(a.mimetype, b.mimetype);
  ASSERT_EQ(a.erasure.has_value(), b.erasure.has_value());
  if (!a.erasure) return;
  EXPECT_EQ(a.erasure->k, b.erasure->k);
  EXPECT_EQ(a.erasure->m, b.erasure->m);
  EXPECT_EQ(a.erasure->original_tree, b.erasure->original_tree);
  EXPECT_EQ(a.erasure->original_dataset_size, b.erasure->original_dataset_size);
  EXPECT_EQ(a.erasure->strategy, b.erasure->strategy);
  EXPECT_EQ(a.erasure->backend, b.erasure->backend);
  EXPECT_EQ(a.erasure->cell_size, b.erasure->cell_size);
  EXPECT_EQ(a.erasure->slot_roots, b.erasure->slot_roots);
  EXPECT_EQ(a.erasure->verify_root, b.erasure->verify_root);
}

TEST(ProtectedManifest, RoundTrip) {
  for (const Manifest& original :
       {make_protected(), make_protected(0, 65536, 2, 1), make_protected(1, 4096, 28, 4),
        make_protected(10 * 65536, 65536, 4, 2), make_protected(3 * 65536 + 1, 65536, 3, 3)}) {
    Manifest manifest = original;
    manifest.filename = "data.bin";
    manifest.mimetype = "application/octet-stream";
    for (ManifestFormat format : {ManifestFormat::protected_v1, ManifestFormat::current, ManifestFormat::legacy}) {
      auto encoded = encode_manifest(manifest, format);  // erasure info decides the format
      ASSERT_TRUE(encoded) << encoded.error().message;
      EXPECT_EQ((*encoded)[0], 0x12) << "outer field 2, never field 1";
      EXPECT_EQ(*encoded, raw_protected(manifest));
      auto decoded = decode_manifest(*encoded);
      ASSERT_TRUE(decoded) << decoded.error().message;
      EXPECT_EQ(decoded->format, ManifestFormat::protected_v1);
      expect_same(*decoded, manifest);
      EXPECT_EQ(decoded->block_count(), manifest.dataset_size / manifest.block_size);
      EXPECT_EQ(*encode_manifest(*decoded, ManifestFormat::protected_v1), *encoded);
    }
  }
}

TEST(ProtectedManifest, EmptyDatasetIsOneBlock) {
  const Manifest manifest = make_protected(0, 65536, 2, 1);
  EXPECT_EQ(manifest.dataset_size, 3u * 65536);  // one zero block, one padding block, one parity
  auto decoded = decode_manifest(*encode_manifest(manifest, ManifestFormat::protected_v1));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->erasure->original_dataset_size, 0u);
  EXPECT_EQ(decoded->block_count(), 3u);
}

TEST(ProtectedManifest, IsNotReadAsPlain) {
  const Bytes encoded = *encode_manifest(make_protected(), ManifestFormat::protected_v1);
  // What a Codex node reads: outer field 1. There is none.
  protobuf::Schema schema{"outer", {}};
  protobuf::Reader reader(encoded, 0, schema);
  while (!reader.done()) {
    auto field = reader.next();
    ASSERT_TRUE(field);
    EXPECT_NE(field->number, 1u);
  }
}

struct Violation {
  std::string what;
  std::function<void(Manifest&)> apply;
  std::string reason;
};

TEST(ProtectedManifest, EveryRuleRefusedBothWays) {
  const std::vector<Violation> violations = {
      {"K = 0", [](Manifest& m) { m.erasure->k = 0; }, "K = 0"},
      {"M = 0", [](Manifest& m) { m.erasure->m = 0; }, "M = 0"},
      {"K+M > 32", [](Manifest& m) { m.erasure->k = 31; }, "K+M = 31+2, more than 32"},
      {"linear", [](Manifest& m) { m.erasure->strategy = 0; }, "strategy 0"},
      {"strategy 7", [](Manifest& m) { m.erasure->strategy = 7; }, "strategy 7"},
      {"no backend", [](Manifest& m) { m.erasure->backend = ""; }, "backend ''"},
      {"odd backend", [](Manifest& m) { m.erasure->backend = "rs;rm -rf"; }, "is not a backend name"},
      {"long backend", [](Manifest& m) { m.erasure->backend = std::string(65, 'a'); }, "is not a backend name"},
      {"cell 0", [](Manifest& m) { m.erasure->cell_size = 0; }, "cellSize 0 does not divide"},
      {"cell 3000", [](Manifest& m) { m.erasure->cell_size = 3000; }, "cellSize 3000 does not divide"},
      {"cell > block", [](Manifest& m) { m.erasure->cell_size = 131072; }, "does not divide"},
      {"size + block", [](Manifest& m) { m.dataset_size += m.block_size; }, "does not fit the stepped layout"},
      {"size - 1", [](Manifest& m) { m.dataset_size -= 1; }, "does not fit the stepped layout"},
      {"original larger", [](Manifest& m) { m.erasure->original_dataset_size = 5 * 65536; }, "stepped layout"},
      {"original huge",
       [](Manifest& m) {
         m.block_size = 1;
         m.erasure->cell_size = 1;
         m.erasure->original_dataset_size = ~0ull;
       },
       "more than 2^64"},
      {"slot missing", [](Manifest& m) { m.erasure->slot_roots.pop_back(); }, "has 5 slot roots, expected K+M = 6"},
      {"slot extra",
       [](Manifest& m) { m.erasure->slot_roots.push_back(m.erasure->slot_roots[0]); },
       "has 7 slot roots"},
      {"slot codec", [](Manifest& m) { m.erasure->slot_roots[1] = label_cid(codec::root, "slot 1"); }, "slot root 1"},
      {"slot swapped",
       [](Manifest& m) { std::swap(m.erasure->slot_roots[0], m.erasure->slot_roots[1]); },
       "is not the root over its slot roots"},
      {"verify wrong",
       [](Manifest& m) { m.erasure->verify_root = label_cid(codec::proving_root, "x"); },
       "is not the root over its slot roots"},
      {"verify codec",
       [](Manifest& m) {
         m.erasure->verify_root = Cid::from_digest(codec::root, *m.erasure->verify_root.sha256_digest());
       },
       "verifyRoot"},
      {"tree codec", [](Manifest& m) { m.tree = label_cid(codec::block, "t"); }, "treeCid"},
      {"tree raw",
       [](Manifest& m) { m.tree = *Cid::from_bytes(Bytes{0x01, 0x55, 0x00, 0x01, 0x61}); },
       "treeCid"},
      {"original codec", [](Manifest& m) { m.erasure->original_tree = label_cid(codec::manifest, "o"); },
       "originalTreeCid"},
      {"block codec", [](Manifest& m) { m.codec = codec::raw; }, "block codec raw"},
      {"hash", [](Manifest& m) { m.hcodec = 0; }, "block hash identity"},
      {"cid version", [](Manifest& m) { m.cid_version = 1; }, "CID version 1"},
      {"block size 0", [](Manifest& m) { m.block_size = 0; }, "blockSize 0"},
  };
  for (const Violation& v : violations) {
    Manifest manifest = make_protected();
    v.apply(manifest);
    auto encoded = encode_manifest(manifest, ManifestFormat::protected_v1);
    ASSERT_FALSE(encoded) << v.what;
    EXPECT_EQ(encoded.error().code, Errc::usage) << v.what;
    EXPECT_NE(encoded.error().message.find(v.reason), std::string::npos) << v.what << ": " << encoded.error().message;
    expect_corrupt(raw_protected(manifest), v.reason, v.what);
  }
}

TEST(ProtectedManifest, MalformedHeaders) {
  const Manifest manifest = make_protected();
  for (std::uint32_t field : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 10u, 11u, 12u, 13u, 14u, 15u, 16u, 18u})
    expect_corrupt(raw_protected(manifest, {field}), fmt::format("lacks required field {} (", field),
                   fmt::format("without field {}", field));
  expect_corrupt(raw_protected(manifest, {17}), "has 0 slot roots");
  expect_corrupt(raw_protected(manifest, {}, 0), "only protected manifest version 1");
  expect_corrupt(raw_protected(manifest, {}, 2), "only protected manifest version 1");

  Manifest many = manifest;
  many.erasure->slot_roots.resize(40, manifest.erasure->slot_roots[0]);
  expect_corrupt(raw_protected(many), "one more than the 32 slots");

  // A K that does not fit 32 bits.
  Bytes header = raw_protected(manifest);
  Writer big;
  big.varint(10, 1ull << 32);
  Bytes inner(header.begin() + 3, header.end());  // 12 <len varint, 2 bytes> ...
  ASSERT_EQ(header[0], 0x12);
  inner.insert(inner.end(), big.data().begin(), big.data().end());
  expect_corrupt(wrap(2, inner), "appears more than once");
  Writer only_big;
  only_big.varint(10, 1ull << 32);
  expect_corrupt(wrap(2, only_big.data()), "more than a 32-bit field holds");

  // Both a plain and a protected header.
  Bytes both = *encode_manifest(make_protected(), ManifestFormat::protected_v1);
  Manifest plain;
  plain.tree = label_cid(codec::root, "t");
  const Bytes plain_bytes = *encode_manifest(plain, ManifestFormat::current);
  both.insert(both.end(), plain_bytes.begin(), plain_bytes.end());
  expect_corrupt(both, "both a plain header");
}

TEST(ProtectedManifest, DocumentExampleDecodes) {
  // docs/protected-manifest.md carries an example; it must stay valid.
  std::ifstream in(std::string(CODEX_TEST_DATA) + "/../../docs/protected-manifest.md");
  ASSERT_TRUE(in) << "docs/protected-manifest.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t marker = doc.find("<!-- example-hex -->");
  ASSERT_NE(marker, std::string::npos);
  const std::size_t open = doc.find("```", marker);
  const std::size_t body = doc.find('\n', open) + 1;
  const std::size_t close = doc.find("```", body);
  std::string hex_text;
  for (char c : doc.substr(body, close - body))
    if (std::isxdigit(static_cast<unsigned char>(c))) hex_text.push_back(c);
  auto decoded = decode_manifest(hex(hex_text));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->format, ManifestFormat::protected_v1);
  EXPECT_EQ(decoded->erasure->original_tree.to_string(), "zDzSvJTfBe4Dz6htuLuji1Ts5sCKE8PyEHDrB61e6N1W4kcCi5zN");
  EXPECT_EQ(decoded->filename, "hello.txt");
  const std::size_t cid_at = doc.find("zDvZ", marker);
  ASSERT_NE(cid_at, std::string::npos);
  EXPECT_EQ(doc.substr(cid_at, manifest_cid(hex(hex_text)).to_string().size()),
            manifest_cid(hex(hex_text)).to_string());
}

// --- Malformed plain manifests ---------------------------------------------

Bytes header_a(std::function<void(Writer&)> extra = {}, bool with_tree = true, bool with_block = true,
               bool with_size = true) {
  Writer h;
  h.varint(1, 0);
  if (with_tree) h.bytes(2, label_cid(codec::root, "tree").bytes());
  if (with_block) h.varint(3, 65536);
  if (with_size) h.varint(4, 100);
  if (extra) extra(h);
  return h.take();
}

TEST(Manifest, MalformedInputs) {
  const Bytes valid = wrap(1, header_a());
  ASSERT_TRUE(decode_manifest(valid));
  auto with = [&](std::initializer_list<std::uint8_t> suffix) {
    Bytes bytes = valid;
    bytes.insert(bytes.end(), suffix);
    return bytes;
  };

  expect_corrupt({}, "manifest has no header");
  expect_corrupt(Bytes{0x0a}, "truncated");
  expect_corrupt(Bytes{0x0a, 0x05, 0x08}, "truncated at byte 3");
  expect_corrupt(Bytes{0x08, 0x01}, "manifest field 1 (header) at byte 0 has wire type 0 (varint)");
  expect_corrupt(Bytes{0x0a, 0x00}, "manifest header (field 1) is empty");
  expect_corrupt(wrap(1, Bytes{0x10, 0x01}), "starts with byte 0x10");
  expect_corrupt(Bytes{0x1a, 0x00}, "manifest has no header");  // only an unknown field
  expect_corrupt(with({0x00}), "invalid field number 0");
  expect_corrupt(with({0xff}), "field tag truncated");
  expect_corrupt(with({0x0b}), "unknown wire type 3");
  expect_corrupt(with({0x0c}), "unknown wire type 4");
  expect_corrupt(with({0x1e}), "unknown wire type 6");
  expect_corrupt(with({0x1f}), "unknown wire type 7");
  expect_corrupt(with({0x1a, 0x05, 0x01}), "length 5 runs past the end");
  expect_corrupt(with({0x19, 0x01, 0x02}), "truncated");   // fixed64 cut short
  expect_corrupt(with({0x1d, 0x01}), "truncated");         // fixed32 cut short
  expect_corrupt(with({0x80, 0x00}), "malformed field tag");
  expect_corrupt(with({0x0a, 0x00}), "manifest field 1 (header) appears more than once");
  expect_corrupt(with({0x12, 0x00}), "both a plain header");
  EXPECT_TRUE(decode_manifest(with({0x18, 0x05})));  // an unknown outer field is skipped

  expect_corrupt(wrap(1, header_a({}, false)), "lacks required field 2 (treeCid)");
  expect_corrupt(wrap(1, header_a({}, true, false)), "lacks required field 3 (blockSize)");
  expect_corrupt(wrap(1, header_a({}, true, true, false)), "lacks required field 4 (datasetSize)");
  expect_corrupt(wrap(1, header_a([](Writer& h) { h.varint(3, 1); })), "field 3 (blockSize) appears more than once");
  expect_corrupt(wrap(1, header_a([](Writer& h) { h.varint(1, 0); })), "appears more than once");

  auto a_with = [](std::function<void(Writer&)> fields) {
    Writer h;
    h.varint(1, 0);
    fields(h);
    return wrap(1, h.data());
  };
  const Bytes tree = label_cid(codec::root, "tree").bytes();
  expect_corrupt(a_with([&](Writer& h) {
                   h.bytes(2, tree);
                   h.varint(3, 0);
                   h.varint(4, 5);
                 }),
                 "field 3 (blockSize) at byte 44 is 0");
  Writer version1;
  version1.varint(1, 1);
  expect_corrupt(wrap(1, version1.data()), "is 1: only manifest version 0 is supported");
  expect_corrupt(a_with([](Writer& h) { h.bytes(2, as_bytes("not a cid")); }),
                 "field 2 (treeCid) at byte 4 is not a valid CID");
  Bytes v0 = {0x12, 0x20};
  v0.resize(34, 7);
  expect_corrupt(a_with([&](Writer& h) { h.bytes(2, v0); }), "CIDv0 is not supported");
  Bytes tree_plus = tree;
  tree_plus.push_back(0);
  expect_corrupt(a_with([&](Writer& h) { h.bytes(2, tree_plus); }), "unexpected bytes");
  expect_corrupt(a_with([&](Writer& h) { h.varint(2, 5); }), "field 2 (treeCid) at byte 4 has wire type 0");
  expect_corrupt(a_with([&](Writer& h) { h.bytes(3, tree); }), "field 3 (blockSize) at byte 4 has wire type 2");
  expect_corrupt(a_with([&](Writer& h) { h.bytes(8, tree); h.varint(8, 1); }), "appears more than once");
  expect_corrupt(a_with([&](Writer& h) { h.varint(9, 1); }), "field 9 (mimetype) at byte 4 has wire type 0");
  expect_corrupt(wrap(1, Bytes{0x08, 0x00, 0x18, 0x80, 0x00}), "not minimally encoded");
  expect_corrupt(wrap(1, Bytes{0x08, 0x00, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),
                 "longer than 10 bytes");
  expect_corrupt(wrap(1, Bytes{0x08, 0x00, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}),
                 "longer than 10 bytes");
  expect_corrupt(wrap(1, Bytes{0x08, 0x00, 0x12, 0x80, 0x00}), "malformed length");
  expect_corrupt(wrap(1, Bytes{0x08, 0x00, 0x12, 0x05, 0x01}), "field 2 (treeCid) is truncated at byte 7");
  // The largest protobuf varint (10 bytes) is accepted as a value.
  auto huge = decode_manifest(a_with([&](Writer& h) {
    h.bytes(2, tree);
    h.varint(3, 1);
    h.varint(4, ~0ull);
  }));
  ASSERT_TRUE(huge) << huge.error().message;
  EXPECT_EQ(huge->dataset_size, ~0ull);

  // B and C.
  Writer b;
  b.bytes(1, tree);
  b.varint(2, 65536);
  expect_corrupt(wrap(1, b.data()), "lacks required field 3 (datasetSize)");
  Writer b_bad_tree;
  b_bad_tree.bytes(1, Bytes{0x01});
  b_bad_tree.varint(2, 65536);
  b_bad_tree.varint(3, 1);
  expect_corrupt(wrap(1, b_bad_tree.data()), "field 1 (treeCid) at byte 2 is not a valid CID");

  auto c_with_info = [&](std::function<void(Writer&)> info_fields) {
    Writer info;
    info_fields(info);
    Writer h;
    h.bytes(1, tree);
    h.varint(2, 65536);
    h.varint(3, 1);
    h.bytes(7, info.data());
    h.string(9, "text/plain");  // field 9 makes it C whatever field 7 holds
    return wrap(1, h.data());
  };
  const Bytes original = label_cid(codec::root, "orig").bytes();
  expect_corrupt(c_with_info([&](Writer& i) {
                   i.varint(2, 1);
                   i.bytes(3, original);
                   i.varint(4, 1);
                   i.varint(5, 1);
                 }),
                 "manifest erasure info lacks required field 1 (ecK)");
  expect_corrupt(c_with_info([&](Writer& i) {
                   i.varint(1, 0);
                   i.varint(2, 1);
                   i.bytes(3, original);
                   i.varint(4, 1);
                   i.varint(5, 1);
                 }),
                 "field 1 (ecK) at byte");
  expect_corrupt(c_with_info([&](Writer& i) {
                   i.varint(1, 2);
                   i.varint(2, 1);
                   i.bytes(3, original);
                   i.varint(4, 1);
                   i.varint(5, 9);
                 }),
                 "field 5 (protectedStrategy) at byte");
  expect_corrupt(c_with_info([&](Writer& i) {
                   i.varint(1, 2);
                   i.varint(2, 1);
                   i.bytes(3, as_bytes("xyz"));
                   i.varint(4, 1);
                   i.varint(5, 1);
                 }),
                 "field 3 (originalTreeCid) at byte");
  expect_corrupt(c_with_info([&](Writer& i) {
                   i.varint(1, 2);
                   i.varint(2, 1);
                   i.bytes(3, original);
                   i.varint(4, 1);
                   i.varint(5, 1);
                   i.bytes(6, Bytes{0x18, 0x01});  // verification with only cellSize
                 }),
                 "manifest verification info lacks required field 1 (verifyRoot)");
  Writer c_info_varint;
  c_info_varint.bytes(1, tree);
  c_info_varint.varint(2, 65536);
  c_info_varint.varint(3, 1);
  c_info_varint.varint(7, 3);
  c_info_varint.string(9, "text/plain");
  expect_corrupt(wrap(1, c_info_varint.data()), "field 7 (erasure) at byte");
}

// Every strict prefix of a valid manifest fails: the outer length runs past it.
void expect_every_prefix_fails(const Bytes& valid, const std::string& label) {
  ASSERT_TRUE(decode_manifest(valid)) << label;
  for (std::size_t cut = 0; cut < valid.size(); ++cut) {
    auto decoded = decode_manifest(ByteView(valid).first(cut));
    EXPECT_FALSE(decoded) << label << " cut at " << cut;
    if (!decoded) {
      EXPECT_EQ(decoded.error().code, Errc::corrupt);
    }
  }
}

TEST(Manifest, TruncationAtEveryOffsetFails) {
  const auto vectors = load_vectors();
  for (const auto& [name, entry] : vectors.items()) {
    if (name.rfind("dataset_", 0) != 0) continue;
    expect_every_prefix_fails(hex(entry["manifest_A_hex"]), name + " A");
    expect_every_prefix_fails(hex(entry["manifest_B_hex"]), name + " B");
  }
  for (const auto& [name, fixture] : vectors["manifest_format_A_upstream_fixtures"]["fixtures"].items())
    expect_every_prefix_fails(hex(fixture["bytes_hex"]), name);
  Manifest p = make_protected();
  p.filename = "f";
  expect_every_prefix_fails(*encode_manifest(p, ManifestFormat::protected_v1), "P");
  expect_every_prefix_fails(c_manifest({.erasure = true, .verifiable = true, .filename = "a", .mimetype = "b"}),
                            "C");
}

TEST(Manifest, RandomMutationsNeverCrash) {
  const auto vectors = load_vectors();
  std::vector<Bytes> seeds = {hex(vectors["dataset_hello_named"]["manifest_A_hex"]),
                              hex(vectors["dataset_hello_named"]["manifest_B_hex"]),
                              *encode_manifest(make_protected(), ManifestFormat::protected_v1),
                              c_manifest({.erasure = true, .verifiable = true, .filename = "a", .mimetype = "b"})};
  std::mt19937 rng(1234);
  int decoded_count = 0;
  for (int round = 0; round < 20000; ++round) {
    Bytes bytes = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      const std::size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
        case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
        case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
        case 3: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
      }
    }
    auto decoded = decode_manifest(bytes);
    if (!decoded) {
      EXPECT_FALSE(decoded.error().message.empty());
      continue;
    }
    ++decoded_count;
    const std::string json = manifest_to_json(*decoded, manifest_cid(bytes));
    EXPECT_TRUE(nlohmann::json::accept(json)) << json;
    if (decoded->format == ManifestFormat::current || decoded->format == ManifestFormat::legacy ||
        decoded->format == ManifestFormat::protected_v1) {
      auto again = encode_manifest(*decoded, decoded->format);
      ASSERT_TRUE(again) << to_hex(bytes);
      auto twice = decode_manifest(*again);
      ASSERT_TRUE(twice) << to_hex(*again);
      expect_same(*twice, *decoded);
    }
  }
  EXPECT_GT(decoded_count, 0);
}

// --- JSON and mimetypes ------------------------------------------------------

TEST(Manifest, JsonOfPlainManifest) {
  const auto vectors = load_vectors();
  const auto& hello = vectors["dataset_hello"];
  const Bytes bytes = hex(hello["manifest_A_hex"]);
  auto decoded = decode_manifest(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(manifest_to_json(*decoded, manifest_cid(bytes)),
            "{\"cid\":\"zDvZRwzmAXVkGLC3WFgBrf8ukE2Mn1mWHYMcCUbJCux7ckuyPBff\",\"format\":\"current\","
            "\"treeCid\":\"zDzSvJTfBe4Dz6htuLuji1Ts5sCKE8PyEHDrB61e6N1W4kcCi5zN\",\"blockSize\":65536,"
            "\"datasetSize\":5,\"blocks\":1,\"codec\":\"codex-block\",\"hcodec\":\"sha2-256\",\"filename\":null,"
            "\"mimetype\":null}");
  auto legacy = decode_manifest(hex(vectors["dataset_hello_named"]["manifest_B_hex"]));
  ASSERT_TRUE(legacy);
  const auto json = nlohmann::json::parse(manifest_to_json(*legacy, Cid{}));
  EXPECT_TRUE(json["cid"].is_null());
  EXPECT_EQ(json["format"], "legacy");
  EXPECT_EQ(json["filename"], "hello.txt");
  EXPECT_EQ(json["mimetype"], "text/plain");
  EXPECT_FALSE(json.contains("erasure"));
}

TEST(Manifest, JsonOfProtectedManifest) {
  Manifest manifest = make_protected();
  const Bytes bytes = *encode_manifest(manifest, ManifestFormat::protected_v1);
  const std::string line = manifest_to_json(*decode_manifest(bytes), manifest_cid(bytes));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["format"], "protected");
  EXPECT_EQ(json["blocks"], 6);  // 4 data blocks make one group of K=4, plus M=2 parity
  const auto& ec = json["erasure"];
  EXPECT_EQ(ec["k"], 4);
  EXPECT_EQ(ec["m"], 2);
  EXPECT_EQ(ec["strategy"], "stepped");
  EXPECT_EQ(ec["backend"], "isa_l_rs_cauchy");
  EXPECT_EQ(ec["cellSize"], 2048);
  EXPECT_EQ(ec["originalDatasetSize"], 200000);
  EXPECT_EQ(ec["originalTreeCid"], manifest.erasure->original_tree.to_string());
  ASSERT_EQ(ec["slotRoots"].size(), 6u);
  EXPECT_EQ(ec["slotRoots"][5], manifest.erasure->slot_roots[5].to_string());
  EXPECT_EQ(ec["verifyRoot"], manifest.erasure->verify_root.to_string());

  auto c = decode_manifest(c_manifest({.erasure = true}));
  ASSERT_TRUE(c);
  const auto c_json = nlohmann::json::parse(manifest_to_json(*c, Cid{}));
  EXPECT_EQ(c_json["format"], "nim-codex");
  EXPECT_TRUE(c_json["erasure"]["verifyRoot"].is_null());
  EXPECT_EQ(c_json["erasure"]["backend"], "leopard");
}

TEST(Manifest, JsonEscapesHostileStrings) {
  Manifest manifest;
  manifest.tree = label_cid(codec::root, "t");
  manifest.filename = std::string("a\"b\\c\n\t\x01\x7f") + "\xff" + "\xc3\xa9" + "\xed\xa0\x80" + "\xe2\x82";
  manifest.mimetype = "\xf0\x9f\x98\x80";  // an emoji, valid 4-byte UTF-8
  const std::string line = manifest_to_json(manifest, Cid{});
  EXPECT_NE(line.find(R"("a\"b\\c\n\t\u0001\u007f\ufffd)"), std::string::npos) << line;
  const auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["filename"].get<std::string>(),
            "a\"b\\c\n\t\x01\x7f\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(json["mimetype"].get<std::string>(), "\xf0\x9f\x98\x80");
}

TEST(Mimetype, ByExtension) {
  const std::pair<const char*, const char*> cases[] = {
      {"a.txt", "text/plain"},        {"index.html", "text/html"},     {"x.json", "application/json"},
      {"p.png", "image/png"},         {"p.jpg", "image/jpeg"},         {"p.JPEG", "image/jpeg"},
      {"g.gif", "image/gif"},         {"d.pdf", "application/pdf"},    {"a.zip", "application/zip"},
      {"a.tar.gz", "application/gzip"}, {"a.tar", "application/x-tar"}, {"v.mp4", "video/mp4"},
      {"s.mp3", "audio/mp3"},         {"t.csv", "text/csv"},           {"README.md", "text/markdown"},
      {"f.bin", "application/octet-stream"}, {"app.js", "application/javascript"}, {"s.css", "text/css"},
      {"i.svg", "image/svg+xml"},     {"i.webp", "image/webp"},        {"m.wasm", "application/wasm"},
      {"d.xml", "text/xml"},          {"s.wav", "audio/wave"},         {"s.ogg", "audio/ogg"},
      {"v.webm", "video/webm"},       {"dir/sub/File.TXT", "text/plain"}, {"a.b.c.yaml", "text/yaml"},
  };
  for (auto [name, type] : cases) EXPECT_EQ(mimetype_for_filename(name), std::optional<std::string>(type)) << name;
  for (const char* none : {"", "README", "a.", ".bashrc", "dir/.profile", "x.unknownext", "dir.d/file",
                           "a.thisextensionistoolongtobereal", "a.t\xffx"})
    EXPECT_FALSE(mimetype_for_filename(none)) << none;
}

}  // namespace
}  // namespace codex
