// Selecting datasets by CID; see datasets.hpp.
#include "cli/datasets.hpp"

#include "codex/dataset.hpp"

namespace codex::cli {

Result<Cid> parse_cid_argument(const std::string& text) {
  auto cid = Cid::parse(text);
  if (!cid) return Error{Errc::usage, cid.error().message};
  return std::move(*cid);
}

Result<std::vector<DatasetRecord>> select_datasets(Repository& repository, const std::vector<std::string>& cids) {
  if (cids.empty()) return repository.datasets();
  std::vector<DatasetRecord> records;
  for (const auto& text : cids) {
    CODEX_TRY_ASSIGN(Cid cid, parse_cid_argument(text));
    CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, cid));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace codex::cli
