// The daemon's end of a block stream: blocks fetched from members one
// request at a time, nothing stored (block_stream.hpp).
#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "codex/daemon/block_stream.hpp"

namespace codex::daemon {

using namespace blockexc;

namespace {

// Wakes everyone waiting on it (a timer that never expires, cancelled);
// waiters re-check their condition.
struct Signal {
  asio::steady_timer timer;
  explicit Signal(asio::io_context& io) : timer(io, asio::steady_timer::time_point::max()) {}
  void notify() { timer.cancel(); }
  asio::awaitable<void> wait() {
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
};

// Every delivery of a message checked (blockexc::verify_delivery).
Status verify_all(const Message& message) { return verify_deliveries(message.payload); }

// A message hashed on the verify pool.
struct VerifyJob {
  Message message;
  Status verdict;
  bool done = false;
  asio::steady_timer wake;
  explicit VerifyJob(asio::io_context& io) : wake(io, asio::steady_timer::time_point::max()) {}
};

// Closes a stream whose member stays silent too long while it is armed.
struct Watchdog {
  FetchStream* stream = nullptr;
  bool armed = false, fired = false;
};

}  // namespace

struct StreamFetcher::State : std::enable_shared_from_this<StreamFetcher::State> {
  struct Request {
    std::uint64_t id;
    Digest digest;
    std::vector<PeerId> tried;  // members that answered dontHave or failed it
    bool fault = false;         // some member failed it (not only dontHave)
  };
  struct Member {
    std::deque<Request> queue;
    std::size_t inflight = 0;
    std::size_t workers = 0;
    bool dead = false;  // gone, broke its stream, stalled or lied: not asked again
    std::uint64_t delivered = 0, missed = 0;  // blocks it gave, dontHave answers, this session
    std::unique_ptr<Signal> work;

    // Who is asked first: members that have given blocks (0), then members
    // not heard from yet (1; at most kProbeRequests each until they answer),
    // then members that have only said dontHave (2). With many members and
    // few holders a block is not walked through every member that lacks it:
    // each of those costs at most a few dontHaves per session.
    static constexpr std::size_t kProbeRequests = 4;
    std::size_t load() const { return queue.size() + inflight; }
    int rank() const { return delivered > 0 ? 0 : missed == 0 ? 1 : 2; }
  };

  asio::io_context& io;
  FetchNetwork& network;
  const Log& log;
  StreamFetchLimits limits;
  std::map<PeerId, Member> members;
  Done done;
  Note note;
  bool stopped = false;
  asio::thread_pool* verify_pool = nullptr;

  State(asio::io_context& io, FetchNetwork& network, const Log& log, StreamFetchLimits limits, Done done, Note note)
      : io(io), network(network), log(log), limits(limits), done(std::move(done)), note(std::move(note)) {}

  void finish(const Request& r, Result<Bytes> block) {
    if (!stopped) done(r.id, std::move(block));
  }

  // Requests waiting for a member not heard from yet to answer (every
  // candidate of theirs is such a member with its probe requests out).
  std::deque<Request> parked;

  // To the live member that has not failed it yet, best ranked (Member::rank),
  // then with the least work; parked while the members not heard from yet
  // have their probe requests out and no member that has given blocks has
  // room.
  void assign(Request r) {
    if (stopped) return;
    Member* best = nullptr;
    const PeerId* best_id = nullptr;
    bool probing = false;  // a member of rank 1 is left but has its probes out
    for (auto& [id, m] : members) {
      if (m.dead || std::find(r.tried.begin(), r.tried.end(), id) != r.tried.end()) continue;
      if (m.rank() == 1 && m.load() >= Member::kProbeRequests) {
        probing = true;
        continue;
      }
      if (!best || std::make_pair(m.rank(), m.load()) < std::make_pair(best->rank(), best->load())) {
        best = &m;
        best_id = &id;
      }
    }
    // While members are still being probed, a member that has given blocks
    // takes a window's worth; the rest waits (one round trip) so that the
    // work spreads over every holder, not over the first to answer.
    if (probing && (!best || best->rank() == 2 || best->load() >= std::max<std::size_t>(limits.window, 1))) {
      parked.push_back(std::move(r));
      return;
    }
    if (!best) {
      const Cid cid = Cid::from_digest(codec::block, r.digest);
      if (r.tried.empty())
        finish(r, make_error(Errc::unavailable, "block '{}': no member is reachable", cid.to_string()));
      else if (r.fault)
        finish(r, make_error(Errc::unavailable, "block '{}': every member asked failed to give it ({} asked)",
                             cid.to_string(), r.tried.size()));
      else
        finish(r, make_error(Errc::not_found, "block '{}' is on no reachable member ({} asked)", cid.to_string(),
                             r.tried.size()));
      return;
    }
    best->queue.push_back(std::move(r));
    const std::size_t streams = std::clamp<std::size_t>(limits.streams, 1, 16);
    if (best->workers < streams) {
      ++best->workers;
      asio::co_spawn(io, worker(shared_from_this(), *best_id), asio::detached);
    }
    best->work->notify();
  }

  // Something was learnt about a member: parked requests are placed again.
  void unpark() {
    std::deque<Request> waiting = std::move(parked);
    parked.clear();
    for (auto& r : waiting) assign(std::move(r));
  }

  void fail_member(const PeerId& peer, Member& m) {
    m.dead = true;
    std::deque<Request> queue = std::move(m.queue);
    m.queue.clear();
    m.work->notify();  // idle workers of this member end
    for (auto& r : queue) {
      r.tried.push_back(peer);
      r.fault = true;
      assign(std::move(r));
    }
    unpark();
  }

  static asio::awaitable<void> worker(std::shared_ptr<State> self, PeerId peer) {
    State& st = *self;
    Member& m = st.members.at(peer);
    std::unordered_map<Digest, std::vector<Request>, DigestHash> inflight;
    std::size_t inflight_count = 0;
    std::string why;  // set when this member is to be given up
    Bytes frame;      // each message from the member, read into the same memory
    auto stream = co_await st.network.open(peer);
    if (!stream) why = fmt::format("unreachable: {}", stream.error().message);
    const std::size_t streams = std::clamp<std::size_t>(st.limits.streams, 1, 16);
    const std::size_t window = std::max<std::size_t>(1, std::clamp<std::size_t>(st.limits.window, 1, 256) / streams);
    asio::steady_timer watchdog(st.io);
    auto watch = std::make_shared<Watchdog>();
    if (stream) watch->stream = stream->get();
    while (why.empty() && !st.stopped && !m.dead) {
      // Top the window up once half of it has come back.
      if (inflight_count <= window / 2 && !m.queue.empty()) {
        Message message;
        while (inflight_count < window && !m.queue.empty()) {
          Request r = std::move(m.queue.front());
          m.queue.pop_front();
          message.wantlist.entries.push_back(
              {BlockAddress::of_cid(Cid::from_digest(codec::block, r.digest)), 0, false, WantType::block, true});
          inflight[r.digest].push_back(std::move(r));
          ++inflight_count;
          ++m.inflight;
        }
        if (!co_await (*stream)->send(encode(message))) {
          why = "its stream broke";
          break;
        }
      }
      if (inflight_count == 0) {
        co_await m.work->wait();
        continue;
      }
      // A member that keeps its connection but answers nothing loses its requests.
      watch->armed = true;
      watchdog.expires_after(st.limits.request_timeout);
      watchdog.async_wait([watch](std::error_code ec) {
        if (ec || !watch->armed) return;
        watch->fired = true;
        watch->stream->close();
      });
      Status received = co_await (*stream)->receive_into(frame);
      watch->armed = false;
      watchdog.cancel();
      if (watch->fired) {
        why = fmt::format("answered nothing for {} s", st.limits.request_timeout.count() / 1000.0);
        break;
      }
      if (!received) {
        why = fmt::format("gone ({})", received.error().message);
        break;
      }
      auto reply = decode(frame);
      if (!reply) {
        why = fmt::format("sent a malformed block-exchange message: {}", reply.error().message);
        st.network.misbehaved(peer, why);
        break;
      }
      // Verify the whole message before passing any of it on (hashing on
      // the pool, this coroutine waiting; nothing else touches the message).
      Status verdict;
      if (st.verify_pool && !reply->payload.empty()) {
        // The message goes to the pool and comes back with the verdict,
        // posted to this event loop; this coroutine waits on a timer.
        auto job = std::make_shared<VerifyJob>(st.io);
        job->message = std::move(*reply);
        asio::post(*st.verify_pool, [job, &io = st.io] {
          job->verdict = verify_all(job->message);
          asio::post(io, [job] {
            job->done = true;
            job->wake.cancel();
          });
        });
        while (!job->done) {
          std::error_code ec;
          co_await job->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        *reply = std::move(job->message);
        verdict = std::move(job->verdict);

      } else {
        verdict = verify_all(*reply);
      }
      if (!verdict) {
        why = fmt::format("sent a wrong block: {}", verdict.error().message);
        st.network.misbehaved(peer, why);
        break;
      }
      for (auto& d : reply->payload) {
        auto it = inflight.find(*d.cid.sha256_digest());
        if (it == inflight.end()) continue;  // not asked for: ignored
        auto requests = std::move(it->second);
        inflight.erase(it);
        inflight_count -= requests.size();
        m.inflight -= requests.size();
        ++m.delivered;
        for (std::size_t i = 0; i + 1 < requests.size(); ++i) st.finish(requests[i], Bytes(d.data));
        st.finish(requests.back(), std::move(d.data));
      }
      for (const auto& digest : dont_have_digests(*reply)) {
        auto it = inflight.find(digest);
        if (it == inflight.end()) continue;
        auto requests = std::move(it->second);
        inflight.erase(it);
        inflight_count -= requests.size();
        m.inflight -= requests.size();
        ++m.missed;
        for (auto& r : requests) {
          r.tried.push_back(peer);
          st.assign(std::move(r));
        }
      }
      st.unpark();
    }
    if (stream) (*stream)->close();
    --m.workers;
    m.inflight -= inflight_count;
    if (!why.empty() && !st.stopped && !m.dead) {
      st.log.info("fetch", "peer={} {}: its requests go to other members", peer.to_string(), why);
      st.note(fmt::format("member {} {}; asking other members", peer.to_string(), why));
      st.fail_member(peer, m);
    }
    for (auto& [digest, requests] : inflight)
      for (auto& r : requests) {
        r.tried.push_back(peer);
        r.fault = true;
        st.assign(std::move(r));
      }
    st.unpark();
  }
};

StreamFetcher::StreamFetcher(asio::io_context& io, FetchNetwork& network, const Log& log, StreamFetchLimits limits,
                             std::vector<PeerId> members, Done done, Note note, asio::thread_pool* verify_pool)
    : state_(std::make_shared<State>(io, network, log, limits, std::move(done), std::move(note))) {
  state_->verify_pool = verify_pool;
  for (const auto& id : members) state_->members[id].work = std::make_unique<Signal>(io);
}

StreamFetcher::~StreamFetcher() { stop(); }

void StreamFetcher::want(std::uint64_t id, const Digest& digest) { state_->assign(State::Request{id, digest, {}}); }

void StreamFetcher::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->parked.clear();
  for (auto& [id, m] : state_->members) {
    m.queue.clear();
    m.work->notify();
  }
}

}  // namespace codex::daemon
