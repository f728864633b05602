// Helpers for the net tests: run a coroutine to completion on an io_context
// with a bound on its time, and connected socket pairs as transports.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include <asio.hpp>

#include "codex/net/transport.hpp"

namespace codex::net::test {

template <class T>
asio::awaitable<void> store(asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Runs `task` on `io` until it finishes or `limit` passes (then the test fails).
// (co_spawn's own completion wants a default-constructible T; Result is not.)
template <class T>
T run(asio::io_context& io, asio::awaitable<T> task, std::chrono::seconds limit = std::chrono::seconds(30)) {
  std::optional<T> result;
  // The completion handler may run after this returns (a later pump), so
  // what it writes is not on this stack.
  auto error = std::make_shared<std::exception_ptr>();
  asio::co_spawn(io, store(std::move(task), &result), [error](std::exception_ptr e) { *error = e; });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!result && !*error && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(100));
  }
  if (*error) std::rethrow_exception(*error);
  if (!result) {
    ADD_FAILURE() << "test coroutine did not finish in " << limit.count() << " s";
    throw std::runtime_error("timeout");
  }
  return std::move(*result);
}

// Lets `io` work for `d` (background coroutines make progress).
inline void pump(asio::io_context& io, std::chrono::milliseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
}

// Pumps `io` until `cond()` holds or `limit` passes; returns cond().
template <class F>
bool pump_until(asio::io_context& io, F cond, std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return cond();
}

using LocalSocket = asio::local::stream_protocol::socket;
using LocalTransport = AsioTransport<LocalSocket>;

inline std::pair<std::unique_ptr<LocalTransport>, std::unique_ptr<LocalTransport>> transport_pair(asio::io_context& io) {
  LocalSocket a(io), b(io);
  asio::local::connect_pair(a, b);
  return {std::make_unique<LocalTransport>(std::move(a)), std::make_unique<LocalTransport>(std::move(b))};
}

}  // namespace codex::net::test
