// The seam where the protocol core (protocol/, the core helper's
// codex::protocol::Node) plugs into the daemon: the daemon delivers each
// message received on /codex/altruistic/1.0.0 from an admitted member, calls
// on_tick when next_deadline() comes, tells it of local events, and carries
// every Outgoing message to its member (one uvarint length-prefixed message
// per stream). Actions (fetch, drop, rebuild a slot) are handed to the
// daemon's action callback. The interface mirrors Node's so an adapter over
// Node is a few lines; the daemon holds no protocol logic of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "codex/bytes.hpp"
#include "codex/identity.hpp"
#include "json_parse.hpp"

namespace codex::daemon {

using CoreTime = std::int64_t;  // milliseconds, monotonic

struct CoreOutgoing {
  PeerId to;
  Bytes payload;
};

struct CoreOutput {
  std::vector<CoreOutgoing> messages;
  // Actions, described for the daemon (the adapter translates the core's
  // variant into calls on the daemon: fetch a slot's blocks, drop a slot, ...).
  std::vector<std::function<void()>> actions;
};

class ProtocolCore {
 public:
  virtual ~ProtocolCore() = default;
  virtual void on_message(CoreTime now, const PeerId& from, ByteView payload, CoreOutput& out) = 0;
  virtual void on_tick(CoreTime now, CoreOutput& out) = 0;
  virtual CoreTime next_deadline() const = 0;
  // A member was admitted (its certificate passed) or left (disconnected, revoked).
  virtual void on_member_up(CoreTime now, const PeerId& member, CoreOutput& out) = 0;
  virtual void on_member_down(CoreTime now, const PeerId& member, CoreOutput& out) = 0;
  // JSON object for `codex-gossip status --json` ("core" member).
  virtual std::string status_json() const = 0;
  // A control-socket request the daemon does not answer itself (the
  // community's commands: publish, dataset, datasets, jobs, repair): the JSON
  // answer, or nullopt when it is not one of the core's commands either.
  virtual asio::awaitable<std::optional<std::string>> control(const json::Value& request) {
    (void)request;
    co_return std::nullopt;
  }
};

}  // namespace codex::daemon
