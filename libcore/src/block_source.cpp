// The repository as a block source: index lookups on the calling thread
// (SQLite), reads and digest checks on every core.
#include "codex/block_source.hpp"

#include "codex/cid.hpp"
#include "codex/parallel.hpp"

namespace codex {

void BlockSource::read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) {
  for (std::size_t i = 0; i < digests.size(); ++i) status[i] = read(digests[i], out[i]);
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

  Status read(const Digest& digest, Bytes& out) override { return repository_.read_block(digest, out); }

  void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) override {
    std::vector<std::optional<BlockLocation>> locations(digests.size());
    for (std::size_t i = 0; i < digests.size(); ++i) {
      status[i] = Status();
      if (digests[i] == empty_digest()) continue;
      auto location = repository_.locate_block(digests[i]);
      if (!location) status[i] = std::move(location).error();
      else if (!*location)
        status[i] = make_error(Errc::not_found, "block '{}' is not in the repository",
                               Cid::from_digest(codec::block, digests[i]).to_string());
      else locations[i] = **location;
    }
    default_pool().for_each(digests.size(), [&](std::size_t i) {
      if (!locations[i]) {
        if (status[i].ok()) out[i].clear();  // the empty block
        return;
      }
      Status read = repository_.read_location(*locations[i], out[i]);
      if (read.ok() && sha256(out[i]) != digests[i])
        read = make_error(Errc::corrupt, "block '{}' is corrupt: its stored bytes do not match its CID",
                          Cid::from_digest(codec::block, digests[i]).to_string());
      status[i] = std::move(read);
    });
  }

 private:
  Repository& repository_;
};

}  // namespace

std::unique_ptr<BlockSource> repository_source(Repository& repository) {
  return std::make_unique<RepositorySource>(repository);
}

}  // namespace codex
