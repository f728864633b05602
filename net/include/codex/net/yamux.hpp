// yamux (libp2p/specs yamux/README.md): many streams over one connection,
// each with its own credit-based flow control. This file has the 12-byte
// frame header codec (pure, fuzzed) and the Session that runs the protocol
// over a Transport, handing out Streams.
//
// What a peer can make a Session hold is bounded by SessionLimits: streams
// open at once, outbound streams not yet acknowledged (the spec's backlog),
// unread bytes per stream (the 256 KiB window) and per connection, queued
// output; a peer that breaks the protocol (data beyond its window, a frame
// for a stream id it may not use, a malformed header) gets GoAway(protocol
// error) and the connection is closed.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <asio.hpp>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"
#include "codex/net/transport.hpp"

namespace codex::net::yamux {

inline constexpr std::string_view kProtocolId = "/yamux/1.0.0";
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint32_t kInitialWindow = 256 * 1024;

enum class FrameType : std::uint8_t { data = 0, window_update = 1, ping = 2, go_away = 3 };
enum Flag : std::uint16_t { kSyn = 1, kAck = 2, kFin = 4, kRst = 8 };
enum class GoAwayCode : std::uint32_t { normal = 0, protocol_error = 1, internal_error = 2 };

struct FrameHeader {
  FrameType type = FrameType::data;
  std::uint16_t flags = 0;
  std::uint32_t stream_id = 0;
  std::uint32_t length = 0;
  bool operator==(const FrameHeader&) const = default;
};

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header);
// Strict: version 0, a known type, only known flags, ping and GoAway on
// stream 0 and data/window updates on another. Errc::corrupt otherwise.
Result<FrameHeader> decode_header(ByteView twelve_bytes);

struct SessionLimits {
  std::size_t max_streams = 64;             // open at once, both directions
  std::size_t max_unacked_outbound = 256;   // our SYNs not yet ACKed (spec backlog)
  std::size_t max_buffered_bytes = 8u << 20;  // unread data, all streams of the connection
  std::size_t max_queued_output = 16u << 20;  // frames waiting for the socket
  std::chrono::milliseconds keepalive_interval{15000};  // ping; silent for 3 intervals = dead
  std::chrono::milliseconds idle_timeout{300000};       // no stream open this long: close (0: never)
  std::chrono::milliseconds stream_timeout{60000};      // a read or write waiting this long fails
  std::chrono::milliseconds write_timeout{30000};       // the socket accepting nothing this long: close
};

// Unread bytes held across all sessions of a host; beyond `limit`, incoming
// data resets its stream instead of being buffered.
struct MemoryBudget {
  std::size_t limit = 64u << 20;
  std::size_t used = 0;
};

class Session;
struct StreamState;

// One yamux stream. Held by shared_ptr. Finish with close_write(): dropping
// the last reference then lets the peer read everything we sent. Dropping a
// stream we had not closed resets it (unless the peer had closed its side,
// then we close ours). All calls on the io_context thread.
class Stream {
 public:
  Stream(std::shared_ptr<Session> session, std::shared_ptr<StreamState> state);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Bytes read into `buffer` (at least one), or 0 at the end of the stream
  // (the peer closed its side), or an error (reset, connection gone, timeout).
  asio::awaitable<Result<std::size_t>> read_some(MutableByteView buffer);
  asio::awaitable<Status> read_exact(MutableByteView buffer);
  // Sends all of `data`, waiting for window credit from the peer.
  asio::awaitable<Status> write(ByteView data);
  asio::awaitable<void> close_write();  // FIN: no more data from us
  void reset();                         // RST: abandon both directions

  std::uint32_t id() const;
  const PeerId& remote_peer() const { return remote_peer_; }
  std::string_view protocol() const { return protocol_; }
  void set_remote_peer(PeerId peer) { remote_peer_ = std::move(peer); }
  void set_protocol(std::string protocol) { protocol_ = std::move(protocol); }

 private:
  std::shared_ptr<Session> session_;
  std::shared_ptr<StreamState> state_;
  PeerId remote_peer_;
  std::string protocol_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  enum class Role { client, server };  // client: the side that dialled (odd stream ids)
  using InboundHandler = std::function<void(std::shared_ptr<Stream>)>;
  using ClosedHandler = std::function<void(const Error& why)>;

  Session(asio::any_io_executor executor, std::unique_ptr<Transport> transport, Role role,
          SessionLimits limits, MemoryBudget* budget = nullptr);
  ~Session();

  // Starts the reader, writer and keepalive coroutines. `on_inbound` gets
  // each stream the peer opens; `on_closed` is called once when the session ends.
  void start(InboundHandler on_inbound, ClosedHandler on_closed);
  // Opens a stream (SYN queued; data may follow at once).
  Result<std::shared_ptr<Stream>> open_stream();
  // GoAway with `code`, then the connection is closed; streams end with an error.
  void close(GoAwayCode code, std::string reason);
  bool closed() const { return closed_; }
  std::size_t stream_count() const { return streams_.size(); }
  std::size_t buffered_bytes() const { return buffered_; }
  std::optional<std::chrono::microseconds> last_rtt() const { return rtt_; }

 private:
  friend class Stream;
  static asio::awaitable<void> read_loop(std::shared_ptr<Session> self);
  static asio::awaitable<void> write_loop(std::shared_ptr<Session> self);
  static asio::awaitable<void> keepalive_loop(std::shared_ptr<Session> self);
  static asio::awaitable<void> linger_loop(std::shared_ptr<Session> self, std::shared_ptr<StreamState> state);
  asio::awaitable<Status> handle_frame(const FrameHeader& h);
  asio::awaitable<Status> discard(std::uint32_t length);
  void enqueue(const FrameHeader& h, ByteView body = {});
  void send_window_update(StreamState& s, std::uint16_t flags, std::uint32_t delta);
  void remove_if_done(StreamState& s);
  void linger(std::shared_ptr<StreamState> state);
  void forget(std::uint32_t id);
  void consumed(StreamState& s, std::size_t n);
  void release(StreamState& s);
  void fail(Error why);

  asio::any_io_executor executor_;
  std::unique_ptr<Transport> transport_;
  Role role_;
  SessionLimits limits_;
  MemoryBudget own_budget_;
  MemoryBudget* budget_;
  InboundHandler on_inbound_;
  ClosedHandler on_closed_;

  std::unordered_map<std::uint32_t, std::shared_ptr<StreamState>> streams_;
  std::uint32_t next_id_;
  std::uint32_t last_inbound_id_ = 0;
  std::size_t unacked_outbound_ = 0;
  std::size_t buffered_ = 0;

  std::deque<Bytes> out_;
  std::size_t out_bytes_ = 0;
  WaitList writer_wake_;   // the write loop waits for output here
  WaitList drained_;       // stream writers wait here for the output queue to drain
  WaitList closed_wake_;   // the keepalive, linger and GoAway timers sleep here
  bool writing_ = false;
  Clock::time_point write_started_{};
  Clock::time_point last_received_{};
  Clock::time_point idle_since_{};

  std::uint32_t ping_id_ = 0;
  std::optional<Clock::time_point> ping_sent_;
  Clock::time_point last_ping_{};
  std::optional<std::chrono::microseconds> rtt_;

  bool started_ = false;
  bool closing_ = false;   // GoAway queued; the write loop closes after flushing it
  bool closed_ = false;
  std::optional<Error> close_reason_;
  Bytes scratch_;
};

}  // namespace codex::net::yamux
