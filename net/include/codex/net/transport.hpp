// The byte pipe under a yamux session: a TLS connection in production, a
// plain socket pair in tests. Exact reads and whole writes, errors as values;
// at most one read and one write outstanding at a time (yamux keeps to that).
// close() is immediate and wakes any outstanding operation with an error.
//
// Everything in codex_net runs on one thread: the io_context's. Callers of
// Host, Session and Stream must be on that thread (co_spawn onto it).
#pragma once

#include <chrono>
#include <system_error>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::net {

using Clock = std::chrono::steady_clock;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual asio::awaitable<Status> read_exact(MutableByteView buffer) = 0;
  virtual asio::awaitable<Status> write_all(ByteView data) = 0;
  virtual void close() = 0;
};

// A Transport over any Asio stream (tcp socket, local socket, ssl::stream).
template <class AsyncStream>
class AsioTransport final : public Transport {
 public:
  explicit AsioTransport(AsyncStream stream) : stream_(std::move(stream)) {}
  asio::awaitable<Status> read_exact(MutableByteView buffer) override {
    std::error_code ec;
    co_await asio::async_read(stream_, asio::buffer(buffer.data(), buffer.size()),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return make_error(Errc::io, "connection read failed: {}", ec.message());
    co_return Status{};
  }
  asio::awaitable<Status> write_all(ByteView data) override {
    std::error_code ec;
    co_await asio::async_write(stream_, asio::buffer(data.data(), data.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return make_error(Errc::io, "connection write failed: {}", ec.message());
    co_return Status{};
  }
  void close() override {
    std::error_code ec;
    stream_.lowest_layer().shutdown(asio::socket_base::shutdown_both, ec);
    stream_.lowest_layer().close(ec);
  }
  AsyncStream& stream() { return stream_; }

 private:
  AsyncStream stream_;
};

// Wake-ups between coroutines on one thread: a waiter parks a timer (its
// deadline) in a list; notify() cancels every parked timer. A woken waiter
// re-checks its condition, so a spurious or missed wake-up costs nothing.
class WaitList {
 public:
  void notify() {
    for (auto* t : waiters_) t->cancel();
  }
  std::vector<asio::steady_timer*>& list() { return waiters_; }

 private:
  std::vector<asio::steady_timer*> waiters_;
};

// Waits until notified through `a` (or `b`) or until `deadline`. (Two
// fixed parameters, not an initializer_list: GCC 12 miscompiles braced
// lists held across co_await.)
inline asio::awaitable<void> wait_any(WaitList* a, WaitList* b, Clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  a->list().push_back(&timer);
  if (b) b->list().push_back(&timer);
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  std::erase(a->list(), &timer);
  if (b) std::erase(b->list(), &timer);
}
inline asio::awaitable<void> wait_on(WaitList* a, Clock::time_point deadline) { return wait_any(a, nullptr, deadline); }

}  // namespace codex::net
