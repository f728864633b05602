// The control socket: how the other tools reach a running daemon. A Unix
// stream socket in the repository directory (gossip.sock, mode 0600, so only
// the repository's owner can use it). One request per connection: a JSON
// object on one line ({"command": "status"}), answered by one JSON object on
// one line ({"ok": true, ...} or {"ok": false, "error": "...", "code": N}).
// Requests are bounded (64 KiB); connections at once are bounded (16).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "codex/error.hpp"
#include "json_parse.hpp"

namespace codex::daemon {

inline constexpr std::size_t kMaxControlRequest = 64 * 1024;
inline constexpr std::size_t kMaxControlResponse = 64u << 20;

class ControlServer {
 public:
  // The handler answers one request with the JSON object to send back.
  using Handler = std::function<asio::awaitable<std::string>(const json::Value& request)>;
  // A command that turns the connection into a session of its own (the
  // block stream): the handler has the socket until it returns. The client
  // sends nothing after its request line until it has read the answer line.
  using SessionHandler =
      std::function<asio::awaitable<void>(const json::Value& request, asio::local::stream_protocol::socket& socket)>;
  void add_session(std::string command, SessionHandler handler) { sessions_.emplace_back(std::move(command), std::move(handler)); }

  // Binds `socket` (removing a stale one; Errc::usage when a daemon answers on it).
  static Result<std::unique_ptr<ControlServer>> open(asio::io_context& io, const std::filesystem::path& socket,
                                                     Handler handler);
  ~ControlServer();  // closes and removes the socket file
  void close();

 private:
  ControlServer(asio::io_context& io, std::filesystem::path path, Handler handler);
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::local::stream_protocol::socket socket);

  asio::local::stream_protocol::acceptor acceptor_;
  std::filesystem::path path_;
  Handler handler_;
  std::vector<std::pair<std::string, SessionHandler>> sessions_;
  std::size_t active_ = 0;
  bool closed_ = false;
};

// The answer to one request ("ok" is true), or an error: Errc::unavailable-like
// Errc::not_found when no daemon runs, the daemon's own error otherwise.
Result<json::Value> control_request(const std::filesystem::path& socket, const std::string& request_json,
                                    std::chrono::milliseconds timeout);

// A connected control socket (Errc::not_found when no daemon runs).
Result<int> control_connect(const std::filesystem::path& socket);

// {"ok": false, "error": message, "code": exit code}
std::string control_error(const Error& error);

}  // namespace codex::daemon
