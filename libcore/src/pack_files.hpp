// Private to libcore: what the repository's writers (repository.cpp) and gc
// (repository_admin.cpp) share about pack files (docs/repository.md): their
// names, the size past which writers stop appending to one, and how a new
// pack is added to the index.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "codex/error.hpp"
#include "sqlite.hpp"

namespace codex::packs {

// A pack stops taking batches past 4 GiB. A retired pack keeps its row (so
// its id is never reused while a reader may hold the old file open) with
// this size, so that no writer takes it.
constexpr std::uint64_t kLimit = 4ull << 30;

inline std::string name(std::int64_t id) { return fmt::format("pack-{:06d}.dat", id); }
inline std::string path(const std::string& repository_dir, std::int64_t id) {
  return repository_dir + "/packs/" + name(id);
}

// Adds an empty pack to the index, in a transaction of its own; its id.
inline Result<std::int64_t> add(sql::Database& db) {
  CODEX_TRY_ASSIGN(auto transaction, sql::Transaction::begin(db));
  CODEX_TRY_ASSIGN(auto insert, db.prepare("INSERT INTO packs(id, name, committed_size) "
                                           "VALUES ((SELECT IFNULL(MAX(id), 0) + 1 FROM packs), '', 0) RETURNING id"));
  CODEX_TRY_ASSIGN(bool row, insert.step());
  if (!row) return make_error(Errc::io, "database '{}': cannot add a pack", db.path());
  const std::int64_t id = insert.int64(0);
  insert.reset();
  CODEX_TRY_ASSIGN(auto rename, db.prepare("UPDATE packs SET name = ? WHERE id = ?"));
  CODEX_TRY(rename.bind(1, name(id)).bind(2, id).run());
  CODEX_TRY(transaction.commit());
  return id;
}

}  // namespace codex::packs
