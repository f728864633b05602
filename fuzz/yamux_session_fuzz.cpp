// A yamux session fed arbitrary bytes by its peer: it must never crash,
// leak, or hold more than its limits, whatever the frames say. The peer's
// bytes arrive over a real socket pair, then EOF; accepted streams are read
// and written to by a small echo so stream paths run too.
#include <cstdlib>

#include <asio.hpp>

#include "codex/net/yamux.hpp"

namespace {
using namespace codex;
using namespace codex::net;
using Socket = asio::local::stream_protocol::socket;

asio::awaitable<void> echo(std::shared_ptr<yamux::Stream> s) {
  std::array<std::uint8_t, 4096> buf;
  for (;;) {
    auto n = co_await s->read_some(buf);
    if (!n || *n == 0) break;
    if (!co_await s->write(ByteView(buf.data(), *n))) break;
  }
  co_await s->close_write();
}
// The peer: sends its bytes, closes its side, drains replies until closed.
asio::awaitable<void> feed(Socket& a, const std::uint8_t* data, std::size_t size) {
  std::error_code ec;
  co_await asio::async_write(a, asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
  a.shutdown(Socket::shutdown_send, ec);
  std::array<char, 65536> sink;
  while (!ec) co_await a.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  asio::io_context io;
  Socket a(io), b(io);
  asio::local::connect_pair(a, b);
  yamux::SessionLimits limits;
  limits.max_streams = 8;
  limits.max_buffered_bytes = 1 << 20;
  limits.stream_timeout = std::chrono::milliseconds(200);
  auto session = std::make_shared<yamux::Session>(io.get_executor(), std::make_unique<AsioTransport<Socket>>(std::move(b)),
                                                  yamux::Session::Role::server, limits);
  bool closed = false;
  session->start([&](std::shared_ptr<yamux::Stream> s) { asio::co_spawn(io, echo(std::move(s)), asio::detached); },
                 [&](const Error&) { closed = true; });
  asio::co_spawn(io, feed(a, data, size), asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!closed && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(50));
  if (!closed) std::abort();  // EOF from the peer must end the session
  if (session->buffered_bytes() > limits.max_buffered_bytes) std::abort();
  session.reset();
  io.run_for(std::chrono::milliseconds(1));
  return 0;
}
