// The local repository: one directory holding an SQLite database (WAL) that
// indexes everything, and append-only pack files holding block bytes.
//
//   DIR/codex.db             the index (schema in docs/repository.md)
//   DIR/packs/pack-NNNNNN.dat block bytes, back to back
//
// Writes go through a Batch: blocks are appended past the pack's committed
// size, fsynced, and only then indexed, with the dataset that needs them, in
// one SQLite transaction. A crash at any moment leaves the index pointing only
// at fsynced bytes; the uncommitted tail of a pack is cut off the next time a
// writer takes that pack. Each writer holds an exclusive lock (flock) on its
// pack, so concurrent writers never interleave.
//
// One Repository may be used from many threads of a process at once (a
// daemon serving peers while it repairs): every call takes an SQLite
// connection of its own from a pool, and each Batch holds one for its life.
// A Batch itself belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/env.hpp"
#include "codex/error.hpp"
#include "codex/manifest.hpp"
#include "codex/sha256.hpp"

namespace codex {

struct DatasetRecord {
  Cid manifest_cid;
  Bytes manifest_bytes;
  Manifest manifest;
  // Slots of a protected dataset this repository holds (bit i = slot i);
  // nullopt: every block of the dataset (plain datasets, or all slots).
  std::optional<std::uint32_t> held_slots;
  std::int64_t added_at = 0;  // unix seconds

  bool holds_slot(std::uint32_t slot) const { return !held_slots || (*held_slots >> slot & 1u); }
};

struct BlockLocation {
  std::int64_t pack = 0;
  std::uint64_t offset = 0;
  std::uint32_t size = 0;
};

class Repository {
 public:
  enum class OpenMode { create, existing };
  // Opens the repository in `dir`, creating it when missing (create), or
  // failing with Errc::not_found (existing: for commands that only read, so
  // that a mistyped --repo is an error rather than a new empty repository).
  // A repository the caller cannot write (existing mode) is opened
  // read-only: everything that reads works; batches fail with Errc::io.
  // Files, the clock and randomness come from `env` (tests inject faults
  // through it); it must outlive the repository.
  static Result<std::unique_ptr<Repository>> open(const std::string& dir, OpenMode mode = OpenMode::create,
                                                  Env& env = system_env());
  ~Repository();
  const std::string& dir() const { return dir_; }
  bool read_only() const;

  Result<std::optional<DatasetRecord>> find_dataset(const Cid& manifest_cid);
  Result<std::vector<DatasetRecord>> datasets();
  // Leaves (block digests, in index order) of a tree the repository knows.
  Result<std::vector<Digest>> tree_leaves(const Cid& tree);

  // The cell roots of every block of a held slot (the slot tree's leaves),
  // cached by the first storage proof of that slot; nullopt when not cached.
  // Callers check them against the manifest's slot root before use.
  Result<std::optional<std::vector<Digest>>> slot_block_roots(const Cid& manifest_cid, std::uint32_t slot);
  Status store_slot_block_roots(const Cid& manifest_cid, std::uint32_t slot, std::span<const Digest> roots);

  // Stops holding one slot of a protected dataset (a community member whose
  // slot now lives elsewhere): the slot leaves held_slots, and the dataset's
  // record goes once no slot is held. Blocks stay in the packs (append-only)
  // and are served while present. Errc::not_found when the dataset is not here.
  Status drop_slot(const Cid& manifest_cid, std::uint32_t slot);

  Result<std::optional<BlockLocation>> locate_block(const Digest& digest);
  // locate_block for many digests on one connection (out.size() == digests.size()).
  Status locate_blocks(std::span<const Digest> digests, std::span<std::optional<BlockLocation>> out);
  // Reads the stored bytes at a location; thread-safe. Not verified.
  Status read_location(const BlockLocation& location, Bytes& out) const;
  // Reads a block and checks it against its digest: Errc::not_found when not
  // held, Errc::corrupt when the stored bytes do not hash to it. The empty
  // block is answered without disk.
  Status read_block(const Digest& digest, Bytes& out);

  class Batch;
  Result<std::unique_ptr<Batch>> begin_batch();

  struct Impl;

 private:
  Repository(std::string dir, std::unique_ptr<Impl> impl);
  std::string dir_;
  std::unique_ptr<Impl> impl_;
};

// Blocks and datasets to add, all or nothing. A batch holds a shared lock on
// DIR/gc.lock from begin to end, so that `codex-repo gc`, which takes it
// exclusively while it drops unreferenced blocks from the index, never drops
// a block a running put found stored and so did not write again. Dropping a Batch without commit
// discards everything it wrote.
class Repository::Batch {
 public:
  ~Batch();
  // Queues a block the caller has verified against `digest`. Blocks already
  // stored are skipped unless `replace` (repair of a corrupt copy).
  Status add_block(const Digest& digest, ByteView data, bool replace = false);
  void add_tree(const Cid& tree, std::vector<Digest> leaves);
  void add_dataset(DatasetRecord record);  // held_slots are merged with any already recorded
  std::uint64_t bytes_written() const;
  std::uint64_t blocks_written() const;
  // Makes everything durable and visible. With `keep`, only queued blocks for
  // which keep(digest) is true are kept (the others' bytes are dropped).
  Status commit(const std::function<bool(const Digest&)>& keep = {});

  struct State;

 private:
  friend class Repository;
  explicit Batch(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace codex
