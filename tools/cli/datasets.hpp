// The datasets a command works on: those named on the command line (each must
// be held), or every dataset in the repository when none is named.
#pragma once

#include <string>
#include <vector>

#include "codex/repository.hpp"

namespace codex::cli {

// A CID given on the command line; Errc::usage, saying what is wrong, when it
// is not one (a typo, a truncated copy, a file name).
Result<Cid> parse_cid_argument(const std::string& text);

Result<std::vector<DatasetRecord>> select_datasets(Repository& repository, const std::vector<std::string>& cids);

}  // namespace codex::cli
