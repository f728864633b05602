// Fetching blocks from members: ask every member which of the wanted blocks
// it has (want-have), then spread want-block requests over the holders,
// several members in parallel, a window of requests in flight per member.
// Every delivery is verified (blockexc::verify_delivery) before it is stored;
// a member that sends a wrong block is reported and cut off and nothing of
// that message is stored. A block a member does not give (dontHave, the
// member gone, a broken stream) is asked of its next holder. Blocks are
// stored as they arrive, so an interrupted fetch resumes where it stopped.
//
// The network is behind FetchNetwork, so the scheduler is tested without sockets.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <vector>

#include <asio.hpp>

#include "codex/cid.hpp"
#include "codex/daemon/blockexc_message.hpp"
#include "codex/daemon/log.hpp"
#include "codex/identity.hpp"

namespace codex::daemon {

struct FetchLimits {
  std::size_t window = 64;  // want-block requests in flight per member (at most 256)
  // Streams per member the window is spread over: one yamux stream carries
  // at most its flow-control window (256 KiB) per round trip.
  std::size_t streams = 4;
  std::chrono::seconds request_timeout{300};
};

// One blockexc stream to a member: length-prefixed messages both ways.
class FetchStream {
 public:
  virtual ~FetchStream() = default;
  virtual asio::awaitable<Status> send(ByteView message) = 0;
  virtual asio::awaitable<Result<Bytes>> receive() = 0;  // errors on timeout or end
  // receive() into a buffer the caller keeps from message to message, so
  // that a message is not read into fresh, zero-filled memory each time.
  // The default moves receive()'s answer in.
  virtual asio::awaitable<Status> receive_into(Bytes& buffer) {
    auto message = co_await receive();
    if (!message) co_return std::move(message).error();
    buffer = std::move(*message);
    co_return Status{};
  }
  virtual void close() = 0;
};

class FetchNetwork {
 public:
  virtual ~FetchNetwork() = default;
  virtual asio::awaitable<Result<std::unique_ptr<FetchStream>>> open(const PeerId& peer) = 0;
  // Takes verified blocks for storing (all or nothing); they may be held
  // back and written with later ones until flush().
  virtual Status store(const PeerId& from, std::span<const blockexc::BlockDelivery> blocks) = 0;
  // Makes every block given to store() durable (called when a fetch ends).
  virtual Status flush() = 0;
  virtual bool held(const Cid& cid) = 0;
  virtual void misbehaved(const PeerId& peer, const std::string& why) = 0;
};

struct FetchOutcome {
  std::vector<bool> got;  // per requested CID: now held locally
  Status stored;          // flush()'s verdict: when it failed, nothing new is held
};

class Fetcher {
 public:
  Fetcher(asio::io_context& io, FetchNetwork& network, const Log& log, FetchLimits limits)
      : io_(io), network_(network), log_(log), limits_(limits) {}
  asio::awaitable<FetchOutcome> fetch(const std::vector<Cid>& cids, std::vector<PeerId> peers);

 private:
  struct State;
  asio::awaitable<void> ask_have(std::shared_ptr<State> state, PeerId peer);
  asio::awaitable<void> worker(std::shared_ptr<State> state, PeerId peer);
  void reassign(State& state, std::size_t index, const PeerId& failed);
  void start_worker(std::shared_ptr<State> state, const PeerId& peer);

  asio::io_context& io_;
  FetchNetwork& network_;
  const Log& log_;
  FetchLimits limits_;
};

}  // namespace codex::daemon
