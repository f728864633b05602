// Where verified blocks come from. The data path asks a BlockSource for a
// block by digest and gets its bytes already checked against it, or an error
// saying it is missing (Errc::not_found) or damaged (Errc::corrupt). The local
// repository is one source; peers on the network will be another, tried after it.
#pragma once

#include <memory>
#include <span>

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
  // The block's bytes, checked against `digest`.
  virtual Status read(const Digest& digest, Bytes& out) = 0;
  // Many blocks at once (sources may read them in parallel); status[i] tells
  // how digests[i] went. The default reads them one by one.
  virtual void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status);
};

std::unique_ptr<BlockSource> repository_source(Repository& repository);

}  // namespace codex
