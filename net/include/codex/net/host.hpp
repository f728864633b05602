// The Host: this node on the libp2p network. It listens and dials over TCP,
// secures every connection with libp2p TLS 1.3 (both sides authenticated by
// their peer ids), multiplexes streams with yamux and negotiates each
// stream's protocol with multistream-select. It always serves
// /ipfs/ping/1.0.0 and /ipfs/id/1.0.0; other protocols are served by handlers
// the application registers, behind a gate the application controls (the
// daemon's admission: a peer that is not a member gets "na" for everything
// but ping, identify and the admission protocol).
//
// Every resource a peer can make the Host hold is bounded by Limits (see
// docs/transport.md for the values and why). Single-threaded: call
// everything on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"
#include "codex/net/identify.hpp"
#include "codex/net/multiaddr.hpp"
#include "codex/net/yamux.hpp"

namespace codex::net {

using Stream = yamux::Stream;

struct Limits {
  std::size_t max_connections = 256;          // established, all peers
  std::size_t max_connections_per_peer = 2;   // two when both dial at once
  std::size_t max_pending_handshakes = 32;    // inbound connections not yet authenticated
  std::chrono::milliseconds handshake_timeout{10000};    // TCP accept/connect to yamux ready
  std::chrono::milliseconds negotiation_timeout{10000};  // multistream-select on a stream
  std::size_t max_buffered_bytes_total = 64u << 20;      // unread stream data, all connections
  yamux::SessionLimits session;               // per connection: streams, buffers, timeouts
  std::string agent_version = "codex-tools/0.1.0";
};

// uvarint length-prefixed messages on a stream. Reading refuses a length
// over max_bytes (Errc::corrupt) before reading the body.
asio::awaitable<Result<Bytes>> read_length_prefixed(Stream& stream, std::size_t max_bytes);
asio::awaitable<Status> write_length_prefixed(Stream& stream, ByteView message);
// The two halves, for a message read into (or written from) memory the caller
// owns: the length prefix alone (over max_bytes: Errc::corrupt, nothing more
// read), and a prefix written before `size` bytes the caller then writes.
asio::awaitable<Result<std::size_t>> read_length_prefix(Stream& stream, std::size_t max_bytes);
asio::awaitable<Status> write_length_prefix(Stream& stream, std::size_t size);

class Host {
 public:
  using Handler = std::function<asio::awaitable<void>(std::shared_ptr<Stream>)>;
  using Gate = std::function<bool(const PeerId&, std::string_view protocol)>;
  using PeerCallback = std::function<void(const PeerId&)>;

  Host(asio::io_context& io, const Ed25519Key& identity, Limits limits = {});
  ~Host();  // closes everything
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const PeerId& peer_id() const;
  // /ip4 or /ip6 with /tcp (port 0: any free port).
  Status listen(const Multiaddr& address);
  std::vector<Multiaddr> listen_addresses() const;  // with the ports actually bound

  void handle(std::string protocol_id, Handler handler);
  // Consulted on every inbound proposal of a handled protocol (not for ping
  // and identify, which are always served): false answers "na".
  void set_protocol_gate(Gate gate);
  void on_peer_connected(PeerCallback callback);     // first connection to a peer up
  void on_peer_disconnected(PeerCallback callback);  // last connection to a peer gone

  // A stream to `peer` speaking `protocol_id`, over an existing connection or
  // a new one dialled through `addresses` (tried in order).
  asio::awaitable<Result<std::shared_ptr<Stream>>> open_stream(const PeerId& peer,
                                                               std::span<const Multiaddr> addresses,
                                                               std::string_view protocol_id);
  // /ipfs/ping/1.0.0 round trip.
  asio::awaitable<Result<std::chrono::microseconds>> ping(const PeerId& peer, std::span<const Multiaddr> addresses);
  // /ipfs/id/1.0.0: what the peer says about itself.
  asio::awaitable<Result<identify::Info>> identify(const PeerId& peer, std::span<const Multiaddr> addresses);

  void disconnect(const PeerId& peer);
  // Fault injection for tests (codex-gossip partition): connections to these
  // peers are cut now and refused from then on, inbound (after the
  // handshake names the peer) and outbound (before dialling), until the set
  // is replaced. Empty: nobody is blocked (the default).
  void set_blocked(std::vector<PeerId> peers);
  bool blocked(const PeerId& peer) const;
  std::vector<PeerId> connected_peers() const;
  bool is_connected(const PeerId& peer) const;
  std::size_t connection_count() const;
  void close();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace codex::net
