// The SQLite wrapper; see sqlite.hpp.
#include "sqlite.hpp"

namespace codex::sql {

static Error sqlite_error(sqlite3* db, int rc, const std::string& doing) {
  Errc code = Errc::io;
  if (rc == SQLITE_FULL) return make_error(code, "{}: the disk is full", doing);
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) code = Errc::corrupt;
  return make_error(code, "{}: {}", doing, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  const char* file = sqlite3_db_filename(db_, "main");
  Error error = sqlite_error(db_, rc, fmt::format("database '{}'", file ? file : "?"));
  reset();
  return error;
}

Status Statement::run() {
  for (;;) {
    CODEX_TRY_ASSIGN(bool row, step());
    if (!row) return {};
  }
}

Result<Database> Database::open(const std::string& path) {
  Database db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db.db_, rc, "cannot open database '" + path + "'");
  sqlite3_busy_timeout(db.db_, 30000);
  sqlite3_extended_result_codes(db.db_, 0);
  return db;
}

Result<Database> Database::open_read_only(const std::string& path) {
  Database db;
  db.path_ = path;
  int rc = sqlite3_open_v2(path.c_str(), &db.db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db.db_, 30000);
    sqlite3_extended_result_codes(db.db_, 0);
    // WAL needs the -shm file: probe with a read, which fails when it cannot be had.
    if (db.exec("SELECT count(*) FROM sqlite_master").ok()) return db;
  }
  sqlite3_close_v2(db.db_);
  db.db_ = nullptr;
  std::string uri = "file:";
  for (char c : path) {
    if (c == '?' || c == '#' || c == '%') uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    else uri += c;
  }
  uri += "?immutable=1";
  rc = sqlite3_open_v2(uri.c_str(), &db.db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db.db_, rc, "cannot open database '" + path + "' for reading");
  sqlite3_extended_result_codes(db.db_, 0);
  return db;
}

Status Database::exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  Errc code = (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) ? Errc::corrupt : Errc::io;
  return make_error(code, "database '{}': {}", path_, text);
}

Result<Statement> Database::prepare(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "database '" + path_ + "'");
  return Statement(db_, stmt);
}

Error Database::error(const std::string& doing) const {
  return sqlite_error(db_, sqlite3_errcode(db_), doing);
}

Result<Transaction> Transaction::begin(Database& db) {
  CODEX_TRY(db.exec("BEGIN IMMEDIATE"));
  return Transaction(db);
}

Result<Transaction> Transaction::begin_read(Database& db) {
  CODEX_TRY(db.exec("BEGIN"));
  return Transaction(db);
}

Status Transaction::commit() {
  Database* db = db_;
  CODEX_TRY(db->exec("COMMIT"));
  db_ = nullptr;
  return {};
}

}  // namespace codex::sql
