// How the other tools use a running daemon: codex-get asks it to fetch what
// the repository lacks of a dataset before reading it. Without a daemon the
// tools work on the local repository alone, as always.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/repository.hpp"

namespace codex::daemon {

// True when the repository lacks the dataset's manifest, tree or any block.
Result<bool> dataset_incomplete(Repository& repository, const Cid& manifest_cid);

struct DaemonFetchReport {
  std::uint64_t blocks = 0, already_held = 0, fetched = 0, missing = 0;
};

// Asks the daemon of `repo_dir` to fetch the dataset from members (blocks
// stored in the repository as they arrive). nullopt when no daemon runs.
Result<std::optional<DaemonFetchReport>> fetch_through_daemon(const std::string& repo_dir, const Cid& manifest_cid);

// Asks the daemon of `repo_dir` for the dataset's manifest and tree (from
// members when the repository lacks them; verified and stored, they are
// small). The number of members it can ask for blocks; nullopt when no
// daemon runs.
Result<std::optional<std::size_t>> prepare_through_daemon(const std::string& repo_dir, const Cid& manifest_cid);

// The dataset's record from the repository: the one it holds, or else one
// made from the manifest block (a dataset whose blocks are elsewhere).
Result<DatasetRecord> dataset_record(Repository& repository, const Cid& manifest_cid);

}  // namespace codex::daemon
