// Where verified blocks come from. The data path asks a BlockSource for a
// block by digest and gets its bytes already checked against it, or an error
// saying it is missing (Errc::not_found) or damaged (Errc::corrupt); sources
// that reach over the network may also answer Errc::unavailable, timeout or
// peer_misbehaved. The local repository is one source; peers on the network
// are another, tried after it (chained_source). Every reading verb (get,
// export, check, prove, encode of a stored dataset, repair) takes one, and
// reads through read_batches, the one batched read loop.
//
// Sources are used from one thread at a time unless they say otherwise;
// repository_source is safe from many (the Repository is).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/repository.hpp"
#include "codex/sha256.hpp"

namespace codex {

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // Cheap: is the block (believed to be) there, without reading it?
  virtual Result<bool> has(const Digest& digest) = 0;
  // has() for many digests: out[i] for digests[i]. Sources with an index
  // answer them in one go; the default asks one by one.
  virtual Result<std::vector<bool>> has_many(std::span<const Digest> digests);
  // The block's bytes, checked against `digest`.
  virtual Status read(const Digest& digest, Bytes& out) = 0;
  // Many blocks at once (sources may read them in parallel); status[i] tells
  // how digests[i] went. The default reads them one by one.
  virtual void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status);
  // read_many of blocks that this process has read from this source and
  // checked before: where known[i] is set, it is the fingerprint
  // (libcore/src/fingerprint.hpp) of the checked bytes, and a source that
  // reads the block from the same place again may compare the bytes with it
  // instead of hashing them (a mismatch is then checked in full). The default
  // ignores the fingerprints: read_many.
  virtual void read_many_again(std::span<const Digest> digests, std::span<const std::optional<std::uint64_t>> known,
                               std::span<Bytes> out, std::span<Status> status);
};

// The repository's blocks (index lookups on the calling thread, reads and
// digest checks on every core).
std::unique_ptr<BlockSource> repository_source(Repository& repository);

// The sources in order: a block comes from the first that gives it intact.
// When none does, the error is the first source's, unless that was "not
// found" and a later one knew more (corrupt, unavailable, ...).
std::unique_ptr<BlockSource> chained_source(std::vector<BlockSource*> sources);

// How many blocks the reading verbs ask for at once.
inline constexpr std::size_t kBlocksPerBatch = 64;

// Told of each batch: blocks and status of items [first, first + size).
// The visitor may move blocks out or replace them.
using BatchVisitor = std::function<Status(std::size_t first, std::span<Bytes> blocks, std::span<Status> status)>;

// The one batched read loop: reads `count` blocks, item i being
// digest_at(i), `per_batch` at a time through source.read_many, and hands
// each batch to `visit`; stops at the first error visit returns. Memory is
// one batch of blocks.
// With `known_at`, item i's fingerprint where it was read and checked before
// (see read_many_again).
Status read_batches(BlockSource& source, std::size_t count, std::size_t per_batch,
                    const std::function<const Digest&(std::size_t)>& digest_at, const BatchVisitor& visit,
                    const std::function<std::optional<std::uint64_t>(std::size_t)>& known_at = nullptr);
Status read_batches(BlockSource& source, std::span<const Digest> digests, std::size_t per_batch,
                    const BatchVisitor& visit);

}  // namespace codex
