// The fetch scheduler (fetch.hpp).
#include "codex/daemon/fetch.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

namespace codex::daemon {

using namespace blockexc;

struct Fetcher::State {
  std::vector<Cid> cids;
  std::vector<bool> got;
  std::vector<std::vector<PeerId>> holders;       // per index: members that said "have", minus failed ones
  std::map<PeerId, std::deque<std::size_t>> queues;
  std::map<PeerId, std::size_t> running;  // workers (streams) per member
  std::unordered_map<Digest, std::size_t, DigestHash> by_digest;
  std::size_t unresolved = 0;
  std::size_t pending_tasks = 0;
  asio::steady_timer wake;
  explicit State(asio::io_context& io) : wake(io, asio::steady_timer::time_point::max()) {}
  void done_one() {
    if (--pending_tasks == 0) wake.cancel();
  }
};

asio::awaitable<FetchOutcome> Fetcher::fetch(const std::vector<Cid>& cids, std::vector<PeerId> peers) {
  auto state = std::make_shared<State>(io_);
  state->cids = cids;
  state->got.assign(cids.size(), false);
  state->holders.resize(cids.size());
  for (std::size_t i = 0; i < cids.size(); ++i) {
    if (!cids[i].sha256_digest()) continue;  // cannot be verified: never fetched
    if (network_.held(cids[i])) {
      state->got[i] = true;
      continue;
    }
    state->by_digest.emplace(*cids[i].sha256_digest(), i);
  }
  if (state->by_digest.empty() || peers.empty()) co_return FetchOutcome{state->got};

  // Who has what.
  state->pending_tasks = peers.size();
  for (const auto& peer : peers) asio::co_spawn(io_, ask_have(state, peer), asio::detached);
  if (state->pending_tasks > 0) {  // (tasks may finish before this point: cancel() wakes no one then)
    std::error_code ec;
    co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  log_.debug("fetch", "{} blocks wanted, holders known", state->by_digest.size());
  // Each wanted block to the holder with the shortest queue.
  for (const auto& [digest, index] : state->by_digest) {
    auto& holders = state->holders[index];
    if (holders.empty()) continue;
    auto best = std::min_element(holders.begin(), holders.end(), [&](const PeerId& a, const PeerId& b) {
      return state->queues[a].size() < state->queues[b].size();
    });
    state->queues[*best].push_back(index);
    ++state->unresolved;
  }
  if (state->unresolved == 0) co_return FetchOutcome{state->got};
  state->wake.expires_at(asio::steady_timer::time_point::max());
  state->pending_tasks = 0;
  for (const auto& [peer, queue] : state->queues)
    if (!queue.empty()) start_worker(state, peer);
  if (state->pending_tasks > 0) {
    std::error_code ec;
    co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  FetchOutcome outcome{state->got, network_.flush()};
  if (!outcome.stored) {
    log_.error("fetch", "cannot store fetched blocks: {}", outcome.stored.error().message);
    for (std::size_t i = 0; i < cids.size(); ++i)
      if (outcome.got[i] && !network_.held(cids[i])) outcome.got[i] = false;
  }
  co_return outcome;
}

void Fetcher::start_worker(std::shared_ptr<State> state, const PeerId& peer) {
  if (state->running[peer] > 0) return;
  const std::size_t streams = std::clamp<std::size_t>(limits_.streams, 1, 16);
  for (std::size_t i = 0; i < streams; ++i) {
    ++state->running[peer];
    ++state->pending_tasks;
    asio::co_spawn(io_, worker(state, peer), asio::detached);
  }
}

asio::awaitable<void> Fetcher::ask_have(std::shared_ptr<State> state, PeerId peer) {
  struct Done {
    State& s;
    ~Done() { s.done_one(); }
  } done{*state};
  auto stream = co_await network_.open(peer);
  if (!stream) {
    log_.debug("fetch", "peer={} unreachable: {}", peer.to_string(), stream.error().message);
    co_return;
  }
  std::vector<std::size_t> wanted;
  for (const auto& [digest, index] : state->by_digest) wanted.push_back(index);
  std::sort(wanted.begin(), wanted.end());
  const std::size_t chunk = Limits{}.max_wantlist_entries;
  for (std::size_t start = 0; start < wanted.size(); start += chunk) {
    const std::size_t end = std::min(wanted.size(), start + chunk);
    Message m;
    std::unordered_map<Digest, std::size_t, DigestHash> asked;
    for (std::size_t k = start; k < end; ++k) {
      const Cid& cid = state->cids[wanted[k]];
      m.wantlist.entries.push_back({BlockAddress::of_cid(cid), 0, false, WantType::have, true});
      asked.emplace(*cid.sha256_digest(), wanted[k]);
    }
    if (!co_await (*stream)->send(encode(m))) co_return;
    std::size_t answered = 0;
    while (answered < asked.size()) {
      auto frame = co_await (*stream)->receive();
      if (!frame) {
        (*stream)->close();
        co_return;
      }
      auto reply = decode(*frame);
      if (!reply) {
        network_.misbehaved(peer, fmt::format("sent a malformed block-exchange message: {}", reply.error().message));
        (*stream)->close();
        co_return;
      }
      for (const auto& p : reply->presences) {
        if (p.address.leaf) continue;
        auto digest = p.address.cid.sha256_digest();
        if (!digest) continue;
        auto it = asked.find(*digest);
        if (it == asked.end()) continue;
        if (p.type == PresenceType::have) state->holders[it->second].push_back(peer);
        asked.erase(it);
      }
      if (reply->presences.empty() && reply->payload.empty()) break;  // an empty answer: nothing more coming
    }
  }
  (*stream)->close();
}

void Fetcher::reassign(State& state, std::size_t index, const PeerId& failed) {
  auto& holders = state.holders[index];
  holders.erase(std::remove(holders.begin(), holders.end(), failed), holders.end());
  if (holders.empty()) {
    --state.unresolved;  // on no reachable member
    return;
  }
  auto best = std::min_element(holders.begin(), holders.end(), [&](const PeerId& a, const PeerId& b) {
    return state.queues[a].size() < state.queues[b].size();
  });
  state.queues[*best].push_back(index);
}

asio::awaitable<void> Fetcher::worker(std::shared_ptr<State> state, PeerId peer) {
  auto& queue = state->queues[peer];
  std::unordered_map<Digest, std::size_t, DigestHash> inflight;
  auto give_back = [&] {
    std::vector<std::size_t> back;
    for (const auto& [d, index] : inflight) back.push_back(index);
    for (auto index : queue) back.push_back(index);
    inflight.clear();
    queue.clear();
    std::sort(back.begin(), back.end());
    std::vector<PeerId> restart;
    for (auto index : back) {
      reassign(*state, index, peer);
      for (const auto& h : state->holders[index])
        if (!state->running[h] && std::find(restart.begin(), restart.end(), h) == restart.end()) restart.push_back(h);
    }
    for (const auto& h : restart)
      if (h != peer) start_worker(state, h);
  };
  auto stream = co_await network_.open(peer);
  if (!stream) {
    log_.info("fetch", "peer={} unreachable, asking others: {}", peer.to_string(), stream.error().message);
    --state->running[peer];
    give_back();
    state->done_one();
    co_return;
  }
  auto last_progress = std::chrono::steady_clock::now();
  const std::size_t streams = std::clamp<std::size_t>(limits_.streams, 1, 16);
  const std::size_t window = std::max<std::size_t>(1, std::clamp<std::size_t>(limits_.window, 1, 256) / streams);
  for (;;) {
    if (inflight.size() <= window / 2 && !queue.empty()) {
      Message m;
      while (inflight.size() < window && !queue.empty()) {
        std::size_t index = queue.front();
        queue.pop_front();
        const Cid& cid = state->cids[index];
        m.wantlist.entries.push_back({BlockAddress::of_cid(cid), 0, false, WantType::block, true});
        inflight.emplace(*cid.sha256_digest(), index);
      }
      if (!co_await (*stream)->send(encode(m))) {
        log_.info("fetch", "peer={} stream broke, asking others", peer.to_string());
        break;
      }
    }
    if (inflight.empty()) break;
    // A member that keeps the stream alive but answers nothing useful for
    // request_timeout loses its requests to the other holders.
    if (std::chrono::steady_clock::now() - last_progress > limits_.request_timeout) {
      log_.info("fetch", "peer={} answered nothing for {} s, asking others", peer.to_string(),
                limits_.request_timeout.count());
      break;
    }
    auto frame = co_await (*stream)->receive();
    if (!frame) {
      log_.info("fetch", "peer={} gone ({}), asking others", peer.to_string(), frame.error().message);
      break;
    }
    auto reply = decode(*frame);
    if (!reply) {
      network_.misbehaved(peer, fmt::format("sent a malformed block-exchange message: {}", reply.error().message));
      break;
    }
    // Verify the whole message before storing any of it.
    std::vector<BlockDelivery> accepted;
    bool bad = false;
    for (auto& d : reply->payload) {
      if (auto ok = verify_delivery(d); !ok) {
        network_.misbehaved(peer, fmt::format("sent a wrong block: {}", ok.error().message));
        bad = true;
        break;
      }
      auto digest = *d.cid.sha256_digest();
      if (inflight.count(digest)) accepted.push_back(std::move(d));
    }
    if (bad) break;
    if (!accepted.empty()) {
      if (auto stored = network_.store(peer, accepted); !stored) {
        log_.error("fetch", "cannot store blocks: {}", stored.error().message);
        for (const auto& d : accepted) {
          auto it = inflight.find(*d.cid.sha256_digest());
          if (it != inflight.end()) {
            inflight.erase(it);
            --state->unresolved;
          }
        }
        continue;
      }
      for (const auto& d : accepted) {
        auto it = inflight.find(*d.cid.sha256_digest());
        if (it == inflight.end()) continue;  // delivered twice in one message
        state->got[it->second] = true;
        inflight.erase(it);
        last_progress = std::chrono::steady_clock::now();
        --state->unresolved;
      }
    }
    for (const auto& digest : dont_have_digests(*reply)) {
      auto it = inflight.find(digest);
      if (it == inflight.end()) continue;
      std::size_t index = it->second;
      inflight.erase(it);
      reassign(*state, index, peer);  // asked of the next holder below
      for (const auto& h : state->holders[index])
        if (!state->running[h] && h != peer) start_worker(state, h);
    }
  }
  (*stream)->close();
  --state->running[peer];
  give_back();
  state->done_one();
}

}  // namespace codex::daemon
