// A thin RAII layer over SQLite's C API: a connection, prepared statements
// with typed binds and columns, and errors as values. Internal to libcore.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::sql {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept {
    std::swap(db_, other.db_);
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind(int index, ByteView blob) {
    sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, const std::string& text) {
    sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
  }
  Statement& bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  // true: a row is ready; false: done. Resets itself when done.
  Result<bool> step();
  // Runs to completion and resets.
  Status run();
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  ByteView blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    return {static_cast<const std::uint8_t*>(data), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    return data ? std::string(reinterpret_cast<const char*>(data), sqlite3_column_bytes(stmt_, column)) : std::string();
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  static Result<Database> open(const std::string& path);
  // Read-only: never writes, nor creates the -wal/-shm files; when those
  // cannot be had (a directory the caller cannot write), the file is read as
  // immutable.
  static Result<Database> open_read_only(const std::string& path);
  Database() = default;
  Database(Database&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) { other.db_ = nullptr; }
  Database& operator=(Database&& other) noexcept {
    std::swap(db_, other.db_);
    std::swap(path_, other.path_);
    return *this;
  }
  ~Database() { sqlite3_close_v2(db_); }

  Status exec(const std::string& sql);
  Result<Statement> prepare(const std::string& sql);
  Error error(const std::string& doing) const;
  const std::string& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A transaction that rolls back unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);  // BEGIN IMMEDIATE
  // BEGIN (deferred), for many reads: SQLite takes its read lock (in WAL
  // mode a few fcntl calls and an fstat) once for them all instead of once
  // per statement. Ending it without commit() is how a reader ends it.
  static Result<Transaction> begin_read(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  ~Transaction() {
    if (db_) (void)db_->exec("ROLLBACK");
  }
  Status commit();

 private:
  explicit Transaction(Database& db) : db_(&db) {}
  Database* db_;
};

}  // namespace codex::sql
