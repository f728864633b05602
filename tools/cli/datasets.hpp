// The datasets a command works on: those named on the command line (each must
// be held), or every dataset in the repository when none is named.
#pragma once

#include <string>
#include <vector>

#include "codex/repository.hpp"

namespace codex::cli {

Result<std::vector<DatasetRecord>> select_datasets(Repository& repository, const std::vector<std::string>& cids);

}  // namespace codex::cli
