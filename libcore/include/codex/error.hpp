// Errors as values. Every fallible libcore function returns Result<T>: either
// the value or an Error saying what went wrong and on what. Exceptions are not
// used inside libcore; a tool's main turns an Error into a message on stderr
// and its exit code.
//
// Errc is the kind of an error, for code to act on (retry a peer that timed
// out, ban one that misbehaved). It is not an exit code: exit_code() is the
// one mapping from kinds to the exit-code table of every tool (documented in
// docs/exit-codes.md and every man page; keep the table stable). Several
// kinds may share an exit code.
#pragma once

#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/core.h>

namespace codex {

enum class Errc : int {
  ok = 0,
  failure = 1,         // unexpected internal failure
  usage = 2,           // bad options or arguments
  not_found = 3,       // a CID, dataset or block is not there
  corrupt = 4,         // input malformed or failing verification
  io = 5,              // reading or writing failed (disk full included)
  damaged = 6,         // damage found, all of it recoverable
  unrecoverable = 7,   // too many blocks lost in some EC group
  repaired = 8,        // codex-repair rebuilt something; all now intact
  rejected = 9,        // a well-formed proof or message failed its check
  // What the network adds. A caller may try another peer or try again later.
  unavailable = 100,      // a peer or service cannot be reached (refused, reset, gone)
  timeout = 101,          // no answer within the time allowed
  peer_misbehaved = 102,  // a peer broke the protocol: malformed, oversized or wrong answers
};

// The exit code of a tool for an error of this kind (the one mapping).
int exit_code(Errc code);
const char* errc_name(Errc code);
// Outcomes (damaged, unrecoverable, repaired) report what was found rather
// than a failure; tools print them as such, never as "error".
bool is_outcome(Errc code);

struct Error {
  Errc code = Errc::failure;
  std::string message;
};

template <class... Args>
Error make_error(Errc code, fmt::format_string<Args...> f, Args&&... args) {
  return Error{code, fmt::format(f, std::forward<Args>(args)...)};
}

// Result<T>: a T or an Error. Deliberately small: ok(), value(), error(),
// operator* / ->. Construct from a T or from an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}
  template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, Error> &&
             !std::is_same_v<std::decay_t<U>, T> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace codex

#define CODEX_CONCAT_INNER(a, b) a##b
#define CODEX_CONCAT(a, b) CODEX_CONCAT_INNER(a, b)

// CODEX_TRY(expr): evaluate a Result; on error return the error from the
// enclosing function (which must return some Result).
#define CODEX_TRY(expr)                                          \
  do {                                                           \
    auto&& codex_try_result_ = (expr);                           \
    if (!codex_try_result_.ok())                                 \
      return std::move(codex_try_result_).error();               \
  } while (0)

// CODEX_TRY_ASSIGN(decl, expr): `auto x` or an existing lvalue gets the value.
#define CODEX_TRY_ASSIGN(lhs, expr)                                             \
  auto&& CODEX_CONCAT(codex_try_, __LINE__) = (expr);                           \
  if (!CODEX_CONCAT(codex_try_, __LINE__).ok())                                 \
    return std::move(CODEX_CONCAT(codex_try_, __LINE__)).error();               \
  lhs = std::move(CODEX_CONCAT(codex_try_, __LINE__)).value()
