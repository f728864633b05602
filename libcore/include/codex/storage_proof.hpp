// Storage proofs: a holder of one slot of a protected dataset shows that it
// still has the slot's bytes by answering a challenge with a few sampled cells,
// each with its Merkle path up to the slot root the manifest names. SHA-256
// takes the place of Codex's Poseidon2 and zero-knowledge proof; the tree shape
// is Codex's (docs/codex-formats.md section 5). The format, the challenge derivation
// and the security argument are in docs/storage-proofs.md.
//
//   cell root of a block = CodexTree over SHA-256 of each cell_size-byte cell
//   slot root            = CodexTree over the cell roots of the slot's blocks
//   verify root          = CodexTree over the slot root digests
//
// Making a proof reads the sampled blocks of one slot; checking one needs only
// the manifest and the proof, and costs a few dozen hashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/codex_tree.hpp"
#include "codex/error.hpp"
#include "codex/manifest.hpp"
#include "codex/sha256.hpp"

namespace codex {

inline constexpr std::uint32_t kDefaultProofSamples = 4;
inline constexpr std::size_t kChallengeSize = 32;
// Bounds every decoder and checker enforces, so a hostile proof cannot make
// anyone allocate or hash much.
inline constexpr std::uint32_t kMaxProofSamples = 256;
inline constexpr std::uint32_t kMaxCellSize = 1u << 20;
inline constexpr std::uint32_t kMaxCellsPerBlock = 1u << 20;
inline constexpr std::size_t kMaxProofPathLength = 64;
inline constexpr std::size_t kMaxProofJsonSize = 64u << 20;

// ---------------------------------------------------------------------------
// Slot trees

// The cell root of one block. `block.size()` must be a multiple of `cell_size`
// (check_cell_geometry says whether a geometry is usable); outside it the
// result is still well defined (a short last cell is hashed as it is, a zero
// cell_size means one cell) but no proof can be made or checked for it.
// A padding block is passed as block_size zero bytes.
Digest block_cell_root(ByteView block, std::size_t cell_size);

// Each block's SHA-256 digest (what its CID names) and its cell root, as
// sha256() and block_cell_root() give them: what the encoder needs of every
// block it writes. Runs of blocks of one size whose cells are whole 64-byte
// chunks go through both hashes in one pass over their bytes where the CPU
// has AVX-512 (sha_x16::digest_with_cells), about a fifth less work than
// hashing twice. The three spans have the same length.
void block_digests_and_cell_roots(std::span<const ByteView> blocks, std::size_t cell_size, std::span<Digest> digests,
                                  std::span<Digest> cell_roots);

// Errc::corrupt unless cell_size is in [1, kMaxCellSize], divides block_size
// and gives at most kMaxCellsPerBlock cells.
Status check_cell_geometry(std::uint64_t block_size, std::uint32_t cell_size);

// The slot root CID (codec codex-slot-root) over the cell roots of a slot's
// blocks, in order. Errc::corrupt when there are none.
Result<Cid> slot_root_cid(std::span<const Digest> block_cell_roots);
// The verify root CID (codec codex-proving-root) over all slot roots, in slot
// order. Errc::corrupt when there are none, or one is not a sha2-256
// codex-slot-root CID (the error names its index).
Result<Cid> proving_root_cid(std::span<const Cid> slot_roots);

// How a protected manifest cuts its dataset into slots and cells.
struct SlotGeometry {
  std::uint32_t slots = 0;           // K + M
  std::uint64_t blocks_in_slot = 0;  // the layout's `steps`
  std::uint64_t block_size = 0;
  std::uint32_t cell_size = 0;
  std::uint32_t cells_per_block = 0;
  std::uint64_t data_blocks = 0;     // blocks of the plain dataset (padding follows them)
  std::uint64_t rounded = 0;         // data_blocks rounded up to K: [data_blocks, rounded) is padding

  std::uint64_t dataset_index(std::uint32_t slot, std::uint64_t block_in_slot) const {
    return slot * blocks_in_slot + block_in_slot;
  }
  bool is_padding(std::uint32_t slot, std::uint64_t block_in_slot) const {
    std::uint64_t index = dataset_index(slot, block_in_slot);
    return index >= data_blocks && index < rounded;
  }
};
// Errc::usage when the manifest is not protected; Errc::corrupt when its
// numbers do not describe a stepped layout (block count not (K+M) * steps,
// slot_roots not K+M, unusable cell size), with the reason.
Result<SlotGeometry> slot_geometry(const Manifest& manifest);

// ---------------------------------------------------------------------------
// Challenges

struct CellIndex {
  std::uint64_t block_in_slot = 0;
  std::uint32_t cell = 0;
  friend bool operator==(const CellIndex&, const CellIndex&) = default;
};

// The cells a challenge asks of one slot, deterministic for both sides:
//   n_j = SHA-256("codex-tools/storage-proof/v1" ‖ challenge ‖ slot root CID
//         bytes ‖ u32be(j)) read as a big-endian 256-bit number, j = 0..samples-1
//   flat_j = n_j mod (blocks_in_slot * cells_per_block)
//   cell j = (flat_j / cells_per_block, flat_j % cells_per_block)
// Samples are drawn with replacement. Binding the slot root means an answer
// for one slot is no answer for any other slot or dataset. Empty when the
// slot has no cells.
std::vector<CellIndex> challenged_cells(ByteView challenge, const Cid& slot_root,
                                        std::uint64_t blocks_in_slot, std::uint32_t cells_per_block,
                                        std::uint32_t samples);

// ---------------------------------------------------------------------------
// Proofs

struct CellProof {
  std::uint64_t block_in_slot = 0;
  std::uint32_t cell = 0;
  Bytes data;                     // the cell's cell_size bytes
  std::vector<Digest> cell_path;  // the cell in its block's cell tree
  Digest block_root{};            // the block's cell root
  std::vector<Digest> block_path; // the block root in the slot tree
  friend bool operator==(const CellProof&, const CellProof&) = default;
};

struct StorageProof {
  Cid manifest;     // the protected manifest's CID
  std::uint32_t slot = 0;
  Bytes challenge;  // kChallengeSize bytes
  std::vector<CellProof> cells;  // in challenge order
  friend bool operator==(const StorageProof&, const StorageProof&) = default;
};

// Reads block `block_in_slot` of the slot being proven (block_size bytes).
using SlotBlockReader = std::function<Result<Bytes>(std::uint64_t block_in_slot)>;

// Makes the proof for `slot` of a protected manifest. `slot_block_roots` are
// the cell roots of every block of the slot, in order (padding blocks
// included). Padding blocks are never read: they are zeros. Errors:
// Errc::usage for a plain manifest, a slot past the last, a challenge not
// kChallengeSize bytes, samples not in [1, kMaxProofSamples], or a wrong
// number of block roots; Errc::corrupt when the block roots do not give the
// manifest's slot root or a read block does not match its cell root (the
// holder's copy is damaged); whatever read_block returns.
Result<StorageProof> make_storage_proof(const Manifest& manifest, const Cid& manifest_cid,
                                        std::uint32_t slot, ByteView challenge,
                                        std::span<const Digest> slot_block_roots,
                                        const SlotBlockReader& read_block,
                                        std::uint32_t samples = kDefaultProofSamples);
// The same with the slot tree already built over the block roots (a holder
// that answers many challenges keeps it, saving one tree build per proof).
Result<StorageProof> make_storage_proof(const Manifest& manifest, const Cid& manifest_cid,
                                        std::uint32_t slot, ByteView challenge,
                                        const CodexTree& slot_tree,
                                        const SlotBlockReader& read_block,
                                        std::uint32_t samples = kDefaultProofSamples);

// What a checker insists on. One that posed the challenge sets challenge and
// slot; one handed a proof to look at (codex-verify --check-proof) leaves them
// empty and takes the proof's own. The manifest is always the one given.
struct ProofExpectations {
  std::optional<Bytes> challenge;  // nullopt: the proof's own
  std::optional<std::uint32_t> slot;  // nullopt: the proof's own
  // Exact number of cells; nullopt: the proof's own number, which must be in
  // [1, kMaxProofSamples].
  std::optional<std::uint32_t> samples = kDefaultProofSamples;
};

// Checks `proof` against the manifest (whose CID the caller vouches for) and
// the expectations. Errc::rejected with the first reason found: wrong
// manifest, slot or challenge, wrong number of cells or a cell the challenge
// did not ask for, cell data of the wrong size, a cell path that does not lead
// to the block root, a block path that does not lead to the manifest's slot
// root (also: a plain manifest, a slot past the last).
Status check_storage_proof(const StorageProof& proof, const Manifest& manifest,
                           const Cid& manifest_cid, const ProofExpectations& expect);
// A challenger's check: the proof must answer exactly this challenge for this slot.
Status check_storage_proof(const StorageProof& proof, const Manifest& manifest,
                           const Cid& manifest_cid, ByteView expected_challenge,
                           std::uint32_t expected_slot,
                           std::uint32_t samples = kDefaultProofSamples);

// ---------------------------------------------------------------------------
// Wire forms (docs/storage-proofs.md). Decoders are strict (every field
// required, no unknown fields, no trailing bytes, bounds above) and fail with
// Errc::corrupt naming the field and position.

// A pretty-printed JSON object, no trailing newline.
std::string proof_to_json(const StorageProof& proof);
Result<StorageProof> proof_from_json(std::string_view text);

// Compact binary: varint fields, length-prefixed bytes, for heartbeats.
Bytes encode_storage_proof(const StorageProof& proof);
Result<StorageProof> decode_storage_proof(ByteView bytes);

}  // namespace codex
