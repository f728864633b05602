// The tool's end of a block stream: a BlockSource reading ahead through the
// local daemon (block_stream.hpp). Blocking I/O on the calling thread; the
// digest checks, when the daemon is another user's, run on every core.
#include <malloc.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "codex/cid.hpp"
#include "codex/daemon/block_stream.hpp"
#include "codex/daemon/control.hpp"
#include "codex/json.hpp"
#include "codex/parallel.hpp"

namespace codex::daemon {

namespace {
// The daemon bounds every request to a member; this only keeps a tool from
// waiting forever on a daemon that stopped answering.
constexpr int kSilenceMs = 15 * 60 * 1000;
}  // namespace

struct DaemonBlockSource::Impl {
  int fd = -1;
  std::vector<Digest> plan;
  std::size_t plan_pos = 0;
  std::size_t window = 256;
  std::size_t daemon_window = kBlockStreamWindow;
  std::size_t members = 0;
  std::function<void(const std::string&)> on_note;
  std::deque<Digest> outstanding;  // asked, not yet answered, in order
  std::unordered_map<Digest, std::vector<Result<Bytes>>, DigestHash> ready;  // answered, not yet handed out
  std::size_t ready_count = 0;
  std::unordered_map<Digest, std::size_t, DigestHash> asked;  // outstanding count per digest
  std::vector<std::uint8_t> in = std::vector<std::uint8_t>(4u << 20);  // received bytes
  std::size_t in_off = 0, in_end = 0;  // not yet parsed: [in_off, in_end)
  std::uint64_t received = 0;
  Status broken;  // once the session failed, every read fails with this
  // Whether blocks are hashed here again: only when the daemon is not this
  // user's own process (docs/block-exchange.md section 6a).
  bool check_blocks = true;

  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  Status send_all(const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
      ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return make_error(Errc::unavailable, "the daemon closed the block stream: {}", std::strerror(errno));
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return {};
  }

  // At least `need` unparsed bytes in `in` (in[in_off, in_end)). The buffer
  // is allocated once; bytes are moved down only when a frame would not fit.
  Status fill(std::size_t need) {
    if (in_off == in_end) in_off = in_end = 0;
    while (in_end - in_off < need) {
      if (in_off + need > in.size()) {
        std::memmove(in.data(), in.data() + in_off, in_end - in_off);
        in_end -= in_off;
        in_off = 0;
        if (need > in.size()) in.resize(need);
      }
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, kSilenceMs);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return make_error(Errc::timeout, "the daemon sent nothing for {} s", kSilenceMs / 1000);
      if (r < 0) return make_error(Errc::io, "poll: {}", std::strerror(errno));
      ssize_t n = ::recv(fd, in.data() + in_end, in.size() - in_end, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return make_error(Errc::unavailable, "the block stream broke: {}", std::strerror(errno));
      if (n == 0) return make_error(Errc::unavailable, "the daemon ended the block stream");
      in_end += static_cast<std::size_t>(n);
    }
    return {};
  }

  Status ask(std::span<const Digest> digests) {
    for (std::size_t start = 0; start < digests.size(); start += window) {
      const std::size_t n = std::min(window, digests.size() - start);
      // The daemon takes at most daemon_window outstanding: make room first.
      while (!outstanding.empty() && outstanding.size() + n > daemon_window) CODEX_TRY(receive_one());
      std::vector<std::uint8_t> frame(5 + n * 32);
      frame[0] = kFrameWant;
      const std::uint32_t len = static_cast<std::uint32_t>(n * 32);
      for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
      for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(frame.data() + 5 + i * 32, digests[start + i].data(), 32);
        outstanding.push_back(digests[start + i]);
        ++asked[digests[start + i]];
      }
      CODEX_TRY(send_all(frame.data(), frame.size()));
    }
    return {};
  }

  // Reads one frame; an answer moves from outstanding to ready.
  Status receive_one() {
    CODEX_TRY(fill(5));
    const std::uint8_t type = in[in_off];
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len = len << 8 | in[in_off + 1 + i];
    if (len > kBlockStreamMaxBlock + 1024)
      return make_error(Errc::corrupt, "the daemon sent a frame of {} bytes", len);
    CODEX_TRY(fill(5 + static_cast<std::size_t>(len)));
    const std::uint8_t* body = in.data() + in_off + 5;
    in_off += 5 + len;
    if (type == kFrameNote) {
      if (on_note) on_note(std::string(reinterpret_cast<const char*>(body), len));
      return {};
    }
    if (type != kFrameBlock && type != kFrameError)
      return make_error(Errc::corrupt, "the daemon sent a frame of unknown type {}", type);
    if (outstanding.empty()) return make_error(Errc::corrupt, "the daemon answered a block it was not asked for");
    const Digest digest = outstanding.front();
    outstanding.pop_front();
    if (--asked[digest] == 0) asked.erase(digest);
    if (type == kFrameBlock) {
      ready[digest].emplace_back(Bytes(body, body + len));
      ++received;
    } else {
      Errc code = Errc::unavailable;
      if (len > 0 && (body[0] <= static_cast<std::uint8_t>(Errc::rejected) || (body[0] >= 100 && body[0] <= 102)))
        code = static_cast<Errc>(body[0]);
      std::string why = len > 1 ? std::string(reinterpret_cast<const char*>(body + 1), len - 1) : "failed";
      ready[digest].emplace_back(Error{code, why});
    }
    ++ready_count;
    return {};
  }

  Status top_up() {
    std::vector<Digest> more;
    while (outstanding.size() + more.size() + ready_count < window && plan_pos < plan.size())
      more.push_back(plan[plan_pos++]);
    return more.empty() ? Status() : ask(more);
  }

  void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) {
    auto fail_all = [&](const Status& why) {
      for (std::size_t i = 0; i < digests.size(); ++i) status[i] = why;
    };
    if (!broken.ok()) return fail_all(broken);
    // Blocks read ahead that nobody asked for (the caller read in another
    // order): dropped, so the window keeps moving.
    if (ready_count >= window) {
      ready.clear();
      ready_count = 0;
    }
    auto run = [&]() -> Status {
      CODEX_TRY(top_up());
      // What is asked for and neither answered nor on its way: ask now.
      std::unordered_map<Digest, std::size_t, DigestHash> need;
      for (const auto& d : digests) ++need[d];
      std::vector<Digest> extra;
      for (const auto& [d, n] : need) {
        std::size_t have = 0;
        if (auto it = ready.find(d); it != ready.end()) have += it->second.size();
        if (auto it = asked.find(d); it != asked.end()) have += it->second;
        for (std::size_t k = have; k < n; ++k) extra.push_back(d);
      }
      CODEX_TRY(ask(extra));
      for (const auto& [d, n] : need)
        while (ready[d].size() < n) CODEX_TRY(receive_one());
      return {};
    };
    if (Status st = run(); !st.ok()) {
      broken = st;
      return fail_all(st);
    }
    for (std::size_t i = 0; i < digests.size(); ++i) {
      auto& answers = ready[digests[i]];
      Result<Bytes> answer = std::move(answers.front());
      answers.erase(answers.begin());
      --ready_count;
      if (answers.empty()) ready.erase(digests[i]);
      if (answer) {
        out[i] = std::move(*answer);
        status[i] = Status();
      } else {
        status[i] = std::move(answer).error();
      }
    }
    // A daemon of another user is trusted with nothing: checked here again,
    // on every core. This user's own daemon checked each block against the
    // digest it was asked for before passing it on (section 6a).
    if (check_blocks)
      default_pool().for_each(digests.size(), [&](std::size_t i) {
        if (status[i].ok() && sha256(out[i]) != digests[i])
          status[i] = make_error(Errc::corrupt, "block '{}' from the daemon does not match its CID",
                                 Cid::from_digest(codec::block, digests[i]).to_string());
      });
    (void)top_up();  // keep the daemon busy while the caller works
  }
};

DaemonBlockSource::DaemonBlockSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DaemonBlockSource::~DaemonBlockSource() = default;

Result<std::unique_ptr<DaemonBlockSource>> DaemonBlockSource::open(const std::filesystem::path& socket,
                                                                   std::vector<Digest> plan,
                                                                   std::function<void(const std::string&)> on_note,
                                                                   std::size_t window) {
  auto impl = std::make_unique<Impl>();
  CODEX_TRY_ASSIGN(impl->fd, control_connect(socket));
  // The process that listens on the socket: this user's own daemon (the
  // socket is owner-only in the owner's repository directory, so nobody
  // else can be there but root) is trusted with its checks, as the
  // repository it writes is.
  ucred peer{};
  socklen_t peer_size = sizeof peer;
  if (::getsockopt(impl->fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_size) == 0 && peer_size == sizeof peer &&
      peer.uid == ::geteuid() && peer.pid > 0)
    impl->check_blocks = false;
  // Blocks come and go 64 KiB at a time, a window of them: keep the freed
  // ones in the heap instead of giving them back and faulting them in again.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  const std::string line = JsonObject().add("command", "block-stream").str() + "\n";
  CODEX_TRY(impl->send_all(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  // The answer line, read byte by byte up to its newline (binary frames follow).
  std::string answer;
  for (;;) {
    CODEX_TRY(impl->fill(1));
    const char c = static_cast<char>(impl->in[impl->in_off++]);
    if (c == '\n') break;
    answer.push_back(c);
    if (answer.size() > 4096) return make_error(Errc::corrupt, "the daemon's answer to block-stream is too long");
  }
  auto value = json::parse(answer);
  if (!value || value->kind != json::Kind::object) return make_error(Errc::corrupt, "the daemon's answer is not JSON");
  const json::Value* ok = value->find("ok");
  if (!ok || ok->kind != json::Kind::boolean || !ok->boolean) {
    const json::Value* error = value->find("error");
    return make_error(Errc::unavailable, "daemon: {}",
                      error && error->kind == json::Kind::string ? error->string : "block stream refused");
  }
  auto number = [&](const char* name) -> std::size_t {
    const json::Value* v = value->find(name);
    return v && v->kind == json::Kind::integer && !v->negative ? static_cast<std::size_t>(v->magnitude) : 0;
  };
  impl->daemon_window = std::clamp<std::size_t>(number("window"), 1, kBlockStreamWindow);
  impl->window = std::clamp<std::size_t>(window, 1, impl->daemon_window);
  impl->members = number("members");
  impl->plan = std::move(plan);
  impl->on_note = std::move(on_note);
  return std::unique_ptr<DaemonBlockSource>(new DaemonBlockSource(std::move(impl)));
}

Result<bool> DaemonBlockSource::has(const Digest&) { return impl_->members > 0; }

Status DaemonBlockSource::read(const Digest& digest, Bytes& out) {
  Status status;
  impl_->read_many(std::span<const Digest>(&digest, 1), std::span<Bytes>(&out, 1), std::span<Status>(&status, 1));
  return status;
}

void DaemonBlockSource::read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) {
  impl_->read_many(digests, out, status);
}

std::size_t DaemonBlockSource::members() const { return impl_->members; }
std::uint64_t DaemonBlockSource::blocks_received() const { return impl_->received; }
bool DaemonBlockSource::checks_blocks() const { return impl_->check_blocks; }

}  // namespace codex::daemon
