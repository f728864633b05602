// Selecting datasets by CID; see datasets.hpp.
#include "cli/datasets.hpp"

#include "codex/dataset.hpp"

namespace codex::cli {

Result<std::vector<DatasetRecord>> select_datasets(Repository& repository, const std::vector<std::string>& cids) {
  if (cids.empty()) return repository.datasets();
  std::vector<DatasetRecord> records;
  for (const auto& text : cids) {
    auto cid = Cid::parse(text);
    if (!cid) return make_error(Errc::usage, "bad CID '{}': {}", text, cid.error().message);
    CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, *cid));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace codex::cli
