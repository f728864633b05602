// The control socket server and client (control.hpp).
#include "codex/daemon/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "codex/json.hpp"

namespace codex::daemon {
namespace {

constexpr std::size_t kMaxControlConnections = 16;

Result<int> connect_unix(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof(address.sun_path))
    return make_error(Errc::usage, "control socket path '{}' is too long for a Unix socket", path.string());
  std::memcpy(address.sun_path, path.c_str(), path.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::io, "socket: {}", std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    int e = errno;
    ::close(fd);
    if (e == ENOENT || e == ECONNREFUSED)
      return make_error(Errc::not_found, "no daemon is running (no one answers on '{}'; start 'codex-gossip run')",
                        path.string());
    return make_error(Errc::io, "cannot connect to '{}': {}", path.string(), std::strerror(e));
  }
  return fd;
}

}  // namespace

Result<int> control_connect(const std::filesystem::path& socket) { return connect_unix(socket); }

std::string control_error(const Error& error) {
  return JsonObject().add("ok", false).add("error", error.message).add("code", exit_code(error.code)).str();
}

ControlServer::ControlServer(asio::io_context& io, std::filesystem::path path, Handler handler)
    : acceptor_(io), path_(std::move(path)), handler_(std::move(handler)) {}

Result<std::unique_ptr<ControlServer>> ControlServer::open(asio::io_context& io, const std::filesystem::path& socket,
                                                           Handler handler) {
  if (auto fd = connect_unix(socket); fd.ok()) {
    ::close(*fd);
    return make_error(Errc::usage, "a daemon is already running on '{}'", socket.string());
  }
  ::unlink(socket.c_str());
  std::unique_ptr<ControlServer> server(new ControlServer(io, socket, std::move(handler)));
  std::error_code ec;
  // Bound with a umask that leaves the socket to its owner from the start.
  mode_t old = ::umask(0177);
  server->acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) server->acceptor_.bind(asio::local::stream_protocol::endpoint(socket.string()), ec);
  ::umask(old);
  if (!ec) server->acceptor_.listen(16, ec);
  if (ec) return make_error(Errc::io, "cannot listen on control socket '{}': {}", socket.string(), ec.message());
  ::chmod(socket.c_str(), 0600);
  asio::co_spawn(io, server->accept_loop(), asio::detached);
  return server;
}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

asio::awaitable<void> ControlServer::accept_loop() {
  for (;;) {
    std::error_code ec;
    auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (closed_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    if (active_ >= kMaxControlConnections) continue;  // dropped: the client sees EOF
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> ControlServer::serve(asio::local::stream_protocol::socket socket) {
  ++active_;
  struct Done {
    std::size_t& n;
    ~Done() { --n; }
  } done{active_};
  std::string buffer;
  std::error_code ec;
  std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, kMaxControlRequest), '\n',
                                                  asio::redirect_error(asio::use_awaitable, ec));
  std::string answer;
  if (ec) {
    answer = control_error(make_error(Errc::usage, "control request is not one line of at most {} bytes",
                                      kMaxControlRequest));
  } else {
    auto request = json::parse(std::string_view(buffer).substr(0, n - 1));
    if (!request || request->kind != json::Kind::object)
      answer = control_error(make_error(Errc::usage, "control request is not a JSON object{}",
                                        request ? "" : ": " + request.error().message));
    else {
      const json::Value* command = request->find("command");
      for (const auto& [name, session] : sessions_)
        if (command && command->kind == json::Kind::string && command->string == name) {
          co_await session(*request, socket);
          std::error_code ignored;
          socket.shutdown(asio::socket_base::shutdown_both, ignored);
          co_return;
        }
      answer = co_await handler_(*request);
    }
  }
  answer.push_back('\n');
  co_await asio::async_write(socket, asio::buffer(answer), asio::redirect_error(asio::use_awaitable, ec));
  std::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
}

Result<json::Value> control_request(const std::filesystem::path& socket, const std::string& request_json,
                                    std::chrono::milliseconds timeout) {
  CODEX_TRY_ASSIGN(int fd, connect_unix(socket));
  std::string line = request_json + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return make_error(Errc::io, "cannot send to the daemon: {}", std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fd);
      return make_error(Errc::io, "the daemon did not answer within {} s", timeout.count() / 1000);
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (r < 0 && errno != EINTR) break;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
    if (answer.size() > kMaxControlResponse) {
      ::close(fd);
      return make_error(Errc::corrupt, "the daemon's answer is larger than {} bytes", kMaxControlResponse);
    }
    if (answer.back() == '\n') break;
  }
  ::close(fd);
  if (answer.empty() || answer.back() != '\n')
    return make_error(Errc::io, "the daemon closed the control connection without an answer");
  answer.pop_back();
  json::Limits limits;
  limits.max_size = kMaxControlResponse;
  auto value = json::parse(answer, limits);
  if (!value || value->kind != json::Kind::object)
    return make_error(Errc::corrupt, "the daemon's answer is not a JSON object");
  const json::Value* ok = value->find("ok");
  if (!ok || ok->kind != json::Kind::boolean) return make_error(Errc::corrupt, "the daemon's answer has no 'ok'");
  if (!ok->boolean) {
    const json::Value* error = value->find("error");
    const json::Value* code = value->find("code");
    Errc errc = Errc::failure;
    if (code && code->kind == json::Kind::integer && !code->negative && code->magnitude <= 9)
      errc = static_cast<Errc>(code->magnitude);
    return make_error(errc, "daemon: {}", error && error->kind == json::Kind::string ? error->string : "failed");
  }
  return value;
}

}  // namespace codex::daemon
