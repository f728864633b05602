// Block sources: the repository's, a chain of sources, and the one batched
// read loop every reading verb uses. See block_source.hpp.
#include "codex/block_source.hpp"

#include <algorithm>

#include "codex/cid.hpp"
#include "codex/parallel.hpp"
#include "fingerprint.hpp"
#include "sha256_x16.hpp"

namespace codex {

void BlockSource::read_many_again(std::span<const Digest> digests, std::span<const std::optional<std::uint64_t>>,
                                  std::span<Bytes> out, std::span<Status> status) {
  read_many(digests, out, status);
}

void BlockSource::read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) {
  for (std::size_t i = 0; i < digests.size(); ++i) status[i] = read(digests[i], out[i]);
}

Result<std::vector<bool>> BlockSource::has_many(std::span<const Digest> digests) {
  std::vector<bool> out(digests.size());
  for (std::size_t i = 0; i < digests.size(); ++i) {
    CODEX_TRY_ASSIGN(out[i], has(digests[i]));
  }
  return out;
}

namespace {

class RepositorySource : public BlockSource {
 public:
  explicit RepositorySource(Repository& repository) : repository_(repository) {}

  Result<bool> has(const Digest& digest) override {
    if (digest == empty_digest()) return true;
    CODEX_TRY_ASSIGN(auto location, repository_.locate_block(digest));
    return location.has_value();
  }

  Result<std::vector<bool>> has_many(std::span<const Digest> digests) override {
    std::vector<std::optional<BlockLocation>> locations(digests.size());
    CODEX_TRY(repository_.locate_blocks(digests, locations));
    std::vector<bool> out(digests.size());
    for (std::size_t i = 0; i < digests.size(); ++i) out[i] = locations[i] || digests[i] == empty_digest();
    return out;
  }

  Status read(const Digest& digest, Bytes& out) override { return repository_.read_block(digest, out); }

  void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) override {
    read_checked(digests, {}, out, status);
  }

  void read_many_again(std::span<const Digest> digests, std::span<const std::optional<std::uint64_t>> known,
                       std::span<Bytes> out, std::span<Status> status) override {
    read_checked(digests, known, out, status);
  }

 private:
  // read_many; blocks with a known fingerprint (if `known` is not empty) are
  // compared with it, and hashed only if they differ.
  void read_checked(std::span<const Digest> digests, std::span<const std::optional<std::uint64_t>> known,
                    std::span<Bytes> out, std::span<Status> status) {
    std::vector<std::optional<BlockLocation>> locations(digests.size());
    Status located = repository_.locate_blocks(digests, locations);
    for (std::size_t i = 0; i < digests.size(); ++i) {
      status[i] = Status();
      if (!located) status[i] = located.error();
      else if (digests[i] == empty_digest()) locations[i].reset();
      else if (!locations[i])
        status[i] = make_error(Errc::not_found, "block '{}' is not in the repository",
                               Cid::from_digest(codec::block, digests[i]).to_string());
    }
    // One run of the blocks to read per task, so that their digests are
    // computed together (sha256_each: up to sixteen at a time). The runs are
    // cut from the blocks found, not from all asked for: a decoder asking for
    // whole groups with rows missing still gets full runs.
    std::vector<std::size_t> found;
    for (std::size_t i = 0; i < digests.size(); ++i) {
      if (locations[i]) found.push_back(i);
      else if (status[i].ok()) out[i].clear();  // the empty block
    }
    const std::size_t width = sha256_run_per_task(found.size(), default_pool().size());
    default_pool().for_each((found.size() + width - 1) / width, [&](std::size_t task) {
      ByteView read[16];
      Digest hashed[16];
      std::size_t indices[16], count = 0;
      for (std::size_t f = width * task; f < std::min(width * task + width, found.size()); ++f) {
        const std::size_t i = found[f];
        status[i] = repository_.read_location(*locations[i], out[i]);
        if (!status[i].ok()) continue;
        if (!known.empty() && known[i] && block_fingerprint(out[i]) == *known[i]) continue;  // the bytes checked before
        indices[count] = i;
        read[count++] = out[i];
      }
      sha256_each(std::span<const ByteView>(read, count), std::span<Digest>(hashed, count));
      for (std::size_t j = 0; j < count; ++j)
        if (hashed[j] != digests[indices[j]])
          status[indices[j]] = make_error(Errc::corrupt, "block '{}' is corrupt: its stored bytes do not match its CID",
                                          Cid::from_digest(codec::block, digests[indices[j]]).to_string());
    });
    // A block `codex-repo gc` moved after it was located: its old pack may be
    // gone. Looking it up again finds the new copy (a damaged block fails again).
    for (std::size_t i = 0; i < digests.size(); ++i)
      if (locations[i] && !status[i].ok() && status[i].error().code == Errc::corrupt)
        status[i] = repository_.read_block(digests[i], out[i]);
  }

  Repository& repository_;
};

// Keeps `first` unless it only said "not found" and `later` says more.
void merge_failure(Status& first, Status later) {
  if (first.ok() || (first.error().code == Errc::not_found && !later.ok() && later.error().code != Errc::not_found))
    first = std::move(later);
}

class ChainedSource : public BlockSource {
 public:
  explicit ChainedSource(std::vector<BlockSource*> sources) : sources_(std::move(sources)) {}

  Result<bool> has(const Digest& digest) override {
    Status failure;
    for (BlockSource* source : sources_) {
      auto here = source->has(digest);
      if (here && *here) return true;
      if (!here && failure.ok()) failure = std::move(here).error();
    }
    if (!failure.ok()) return std::move(failure).error();
    return false;
  }

  // As has(), digest by digest: each later source is asked only about what
  // the earlier ones lack, and a source's error counts only if some digest
  // is then in none of them.
  Result<std::vector<bool>> has_many(std::span<const Digest> digests) override {
    std::vector<bool> out(digests.size(), false);
    std::vector<std::size_t> lacking(digests.size());
    for (std::size_t i = 0; i < lacking.size(); ++i) lacking[i] = i;
    std::vector<Digest> asked;
    Status failure;
    for (BlockSource* source : sources_) {
      if (lacking.empty()) break;
      asked.clear();
      for (std::size_t i : lacking) asked.push_back(digests[i]);
      auto here = source->has_many(asked);
      if (!here) {
        if (failure.ok()) failure = std::move(here).error();
        continue;
      }
      std::size_t still = 0;
      for (std::size_t j = 0; j < lacking.size(); ++j) {
        if ((*here)[j]) out[lacking[j]] = true;
        else lacking[still++] = lacking[j];
      }
      lacking.resize(still);
    }
    if (!lacking.empty() && !failure.ok()) return std::move(failure).error();
    return out;
  }

  Status read(const Digest& digest, Bytes& out) override {
    Status failure = make_error(Errc::not_found, "block '{}' is in none of the sources",
                                Cid::from_digest(codec::block, digest).to_string());
    bool first = true;
    for (BlockSource* source : sources_) {
      Status status = source->read(digest, out);
      if (status.ok()) return status;
      if (first) failure = std::move(status);
      else merge_failure(failure, std::move(status));
      first = false;
    }
    return failure;
  }

  void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) override {
    if (sources_.empty()) {
      for (std::size_t i = 0; i < digests.size(); ++i) status[i] = read(digests[i], out[i]);
      return;
    }
    sources_.front()->read_many(digests, out, status);
    // Ask each later source only for what is still lacking.
    std::vector<std::size_t> lacking;
    std::vector<Digest> again;
    std::vector<Bytes> blocks;
    std::vector<Status> results;
    for (std::size_t s = 1; s < sources_.size(); ++s) {
      lacking.clear();
      again.clear();
      for (std::size_t i = 0; i < digests.size(); ++i)
        if (!status[i].ok()) {
          lacking.push_back(i);
          again.push_back(digests[i]);
        }
      if (lacking.empty()) return;
      blocks.assign(lacking.size(), Bytes());
      results.assign(lacking.size(), Status());
      sources_[s]->read_many(again, blocks, results);
      for (std::size_t j = 0; j < lacking.size(); ++j) {
        const std::size_t i = lacking[j];
        if (results[j].ok()) {
          out[i] = std::move(blocks[j]);
          status[i] = Status();
        } else {
          merge_failure(status[i], std::move(results[j]));
        }
      }
    }
  }

 private:
  std::vector<BlockSource*> sources_;
};

}  // namespace

std::unique_ptr<BlockSource> repository_source(Repository& repository) {
  return std::make_unique<RepositorySource>(repository);
}

std::unique_ptr<BlockSource> chained_source(std::vector<BlockSource*> sources) {
  return std::make_unique<ChainedSource>(std::move(sources));
}

Status read_batches(BlockSource& source, std::size_t count, std::size_t per_batch,
                    const std::function<const Digest&(std::size_t)>& digest_at, const BatchVisitor& visit,
                    const std::function<std::optional<std::uint64_t>(std::size_t)>& known_at) {
  per_batch = std::max<std::size_t>(1, std::min(per_batch, count));
  std::vector<Digest> digests(per_batch);
  std::vector<Bytes> blocks(per_batch);
  std::vector<Status> status(per_batch);
  std::vector<std::optional<std::uint64_t>> known(known_at ? per_batch : 0);
  for (std::size_t first = 0; first < count; first += per_batch) {
    const std::size_t n = std::min(per_batch, count - first);
    bool any_known = false;
    for (std::size_t i = 0; i < n; ++i) {
      digests[i] = digest_at(first + i);
      if (known_at) any_known |= (known[i] = known_at(first + i)).has_value();
    }
    if (any_known)
      source.read_many_again(std::span<const Digest>(digests.data(), n),
                             std::span<const std::optional<std::uint64_t>>(known.data(), n),
                             std::span<Bytes>(blocks.data(), n), std::span<Status>(status.data(), n));
    else
      source.read_many(std::span<const Digest>(digests.data(), n), std::span<Bytes>(blocks.data(), n),
                       std::span<Status>(status.data(), n));
    CODEX_TRY(visit(first, std::span<Bytes>(blocks.data(), n), std::span<Status>(status.data(), n)));
  }
  return {};
}

Status read_batches(BlockSource& source, std::span<const Digest> digests, std::size_t per_batch,
                    const BatchVisitor& visit) {
  return read_batches(
      source, digests.size(), per_batch, [digests](std::size_t i) -> const Digest& { return digests[i]; }, visit);
}

}  // namespace codex
