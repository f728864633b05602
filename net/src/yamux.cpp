// yamux: frame header codec, the session's three coroutines (reader, writer,
// keepalive) and the stream operations. Single-threaded by design: every
// member is touched only on the io_context thread, so there are no locks;
// coroutines hand work to each other through WaitLists.
//
// Flow control: each stream starts with 256 KiB of credit each way. The
// reader of a stream returns credit (a WindowUpdate) once it has consumed
// half a window, so at most 256 KiB per stream is ever buffered; a peer that
// sends beyond its credit is breaking the protocol and is cut off.
#include "codex/net/yamux.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

namespace codex::net::yamux {

namespace {
// Largest data payload we send: header and payload make exactly four full
// TLS records (16 KiB each), so a frame written alone ends no short record.
constexpr std::size_t kMaxChunk = 64 * 1024 - kHeaderSize;
constexpr std::size_t kHighWater = 256 * 1024;       // stream writers wait above this much queued output
constexpr std::size_t kMaxQueuedFrames = 16384;      // a peer not reading its pongs/acks is cut off
constexpr std::size_t kBatch = 256 * 1024;           // small frames coalesced into one socket write
constexpr std::size_t kCoalesceBelow = 16 * 1024;    // frames this small are coalesced (one TLS record)
constexpr std::chrono::seconds kGoAwayGrace{2};      // time to flush GoAway before closing hard
}  // namespace

// A stream's received bytes. A frame's payload is read from the connection
// straight into the end of it, so it grows without zero-filling bytes that
// are about to be overwritten (a vector's resize would write every received
// byte twice).
class RecvBuffer {
 public:
  std::uint8_t* data() { return data_.get(); }
  std::size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // Frees the memory once empty (a stream dropped with data unread).
  void shrink_to_fit() {
    if (size_ != 0) return;
    data_.reset();
    capacity_ = 0;
  }
  void erase_front(std::size_t n) {
    std::memmove(data_.get(), data_.get() + n, size_ - n);
    size_ -= n;
  }
  // n more bytes at the end, their contents unspecified.
  void grow(std::size_t n) {
    if (size_ + n > capacity_) {
      const std::size_t capacity = std::max(size_ + n, 2 * capacity_);
      auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(capacity);
      if (size_ > 0) std::memcpy(bigger.get(), data_.get(), size_);
      data_ = std::move(bigger);
      capacity_ = capacity;
    }
    size_ += n;
  }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0, capacity_ = 0;
};

struct StreamState {
  std::uint32_t id = 0;
  bool outbound = false;
  bool acked = false;
  bool in_map = true;  // still tracked by the session
  bool remote_fin = false, local_fin = false, reset = false;
  bool detached = false;  // handle dropped after close_write: waiting for the peer's FIN
  RecvBuffer recv;
  std::size_t recv_off = 0;
  // The tail of recv the session is still reading from the connection (a
  // frame's payload under way): not data yet, never handed to the reader,
  // and recv is neither moved nor freed meanwhile.
  std::size_t filling = 0;
  bool released = false;  // release() came while filling: free recv once filled
  std::uint32_t recv_window = kInitialWindow;  // credit the peer has left
  std::uint32_t unreturned = 0;                // consumed, credit not yet given back
  std::uint64_t send_window = kInitialWindow;  // credit we have left
  WaitList wake;
  std::size_t unread() const { return recv.size() - filling - recv_off; }
};

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& h) {
  std::array<std::uint8_t, kHeaderSize> b{};
  b[0] = 0;
  b[1] = static_cast<std::uint8_t>(h.type);
  b[2] = static_cast<std::uint8_t>(h.flags >> 8);
  b[3] = static_cast<std::uint8_t>(h.flags);
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<std::uint8_t>(h.stream_id >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<std::uint8_t>(h.length >> (24 - 8 * i));
  return b;
}

Result<FrameHeader> decode_header(ByteView b) {
  if (b.size() != kHeaderSize) return make_error(Errc::corrupt, "yamux header is {} bytes, not 12", b.size());
  if (b[0] != 0) return make_error(Errc::corrupt, "yamux version {} is not 0", b[0]);
  if (b[1] > 3) return make_error(Errc::corrupt, "yamux frame type {} is unknown", b[1]);
  FrameHeader h;
  h.type = static_cast<FrameType>(b[1]);
  h.flags = static_cast<std::uint16_t>(b[2] << 8 | b[3]);
  h.stream_id = static_cast<std::uint32_t>(b[4]) << 24 | b[5] << 16 | b[6] << 8 | b[7];
  h.length = static_cast<std::uint32_t>(b[8]) << 24 | b[9] << 16 | b[10] << 8 | b[11];
  if (h.flags & ~0xf) return make_error(Errc::corrupt, "yamux flags {:#x} have unknown bits", h.flags);
  const bool session_frame = h.type == FrameType::ping || h.type == FrameType::go_away;
  if (session_frame && h.stream_id != 0)
    return make_error(Errc::corrupt, "yamux {} frame on stream {} (must be 0)",
                      h.type == FrameType::ping ? "ping" : "GoAway", h.stream_id);
  if (!session_frame && h.stream_id == 0)
    return make_error(Errc::corrupt, "yamux {} frame on stream 0",
                      h.type == FrameType::data ? "data" : "window update");
  if (h.type == FrameType::go_away && h.length > 2)
    return make_error(Errc::corrupt, "yamux GoAway code {} is unknown", h.length);
  return h;
}

// ---- Stream ----

Stream::Stream(std::shared_ptr<Session> session, std::shared_ptr<StreamState> state)
    : session_(std::move(session)), state_(std::move(state)) {}

// Dropping a stream ends it as gently as its state allows: after our FIN it
// lingers until the peer's FIN (so the peer reads all we sent; a reset would
// make it discard that), for at most stream_timeout; after the peer's FIN we
// send ours; otherwise it was abandoned mid-way, and is reset.
Stream::~Stream() {
  auto& s = *state_;
  if (s.in_map && !s.reset) {
    if (s.remote_fin && !s.local_fin) {
      s.local_fin = true;
      if (!session_->closed_) session_->enqueue({FrameType::data, kFin, s.id, 0});
      session_->forget(s.id);
    } else if (!s.local_fin) {
      reset();
    } else {
      session_->linger(state_);
    }
  }
  session_->release(s);
}

std::uint32_t Stream::id() const { return state_->id; }

asio::awaitable<Result<std::size_t>> Stream::read_some(MutableByteView buffer) {
  auto session = session_;
  auto state = state_;
  auto& s = *state;
  if (buffer.empty()) co_return std::size_t{0};
  const auto deadline = Clock::now() + session->limits_.stream_timeout;
  for (;;) {
    if (s.unread() > 0) {
      const std::size_t n = std::min(buffer.size(), s.unread());
      std::memcpy(buffer.data(), s.recv.data() + s.recv_off, n);
      s.recv_off += n;
      if (s.recv_off == s.recv.size() && s.filling == 0) {
        s.recv.clear();
        s.recv_off = 0;
      }
      session->consumed(s, n);
      co_return n;
    }
    if (s.reset) co_return make_error(Errc::io, "stream {} was reset", s.id);
    if (s.remote_fin) co_return std::size_t{0};
    if (session->closed_) co_return make_error(Errc::io, "connection closed");
    if (Clock::now() >= deadline)
      co_return make_error(Errc::io, "stream {}: nothing received for {} ms", s.id,
                           session->limits_.stream_timeout.count());
    co_await wait_on(&s.wake, deadline);
  }
}

asio::awaitable<Status> Stream::read_exact(MutableByteView buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    auto n = co_await read_some(buffer.subspan(done));
    if (!n) co_return std::move(n).error();
    if (*n == 0)
      co_return make_error(Errc::corrupt, "stream {} ended after {} of {} bytes", state_->id, done, buffer.size());
    done += *n;
  }
  co_return Status{};
}

asio::awaitable<Status> Stream::write(ByteView data) {
  auto session = session_;
  auto state = state_;
  auto& s = *state;
  std::size_t off = 0;
  while (off < data.size()) {
    const auto deadline = Clock::now() + session->limits_.stream_timeout;
    for (;;) {
      if (s.reset) co_return make_error(Errc::io, "stream {} was reset", s.id);
      if (session->closed_ || session->closing_) co_return make_error(Errc::io, "connection closed");
      if (s.local_fin) co_return make_error(Errc::failure, "stream {}: write after close", s.id);
      if (s.send_window > 0 && session->out_bytes_ < kHighWater) break;
      if (Clock::now() >= deadline)
        co_return make_error(Errc::io, "stream {}: peer granted no window for {} ms", s.id,
                             session->limits_.stream_timeout.count());
      co_await wait_any(&s.wake, &session->drained_, deadline);
    }
    const std::size_t n = std::min<std::size_t>({data.size() - off, s.send_window, kMaxChunk});
    session->enqueue({FrameType::data, 0, s.id, static_cast<std::uint32_t>(n)}, data.subspan(off, n));
    s.send_window -= n;
    off += n;
  }
  co_return Status{};
}

asio::awaitable<void> Stream::close_write() {
  auto& s = *state_;
  if (s.local_fin || s.reset || session_->closed_) co_return;
  s.local_fin = true;
  session_->enqueue({FrameType::data, kFin, s.id, 0});
  session_->remove_if_done(s);
}

void Stream::reset() {
  auto& s = *state_;
  if (s.reset) return;
  const bool tracked = s.in_map;
  s.reset = true;
  if (tracked) {
    if (!session_->closed_) session_->enqueue({FrameType::window_update, kRst, s.id, 0});
    session_->forget(s.id);
  }
  s.wake.notify();
}

// ---- Session ----

Session::Session(asio::any_io_executor executor, std::unique_ptr<Transport> transport, Role role,
                 SessionLimits limits, MemoryBudget* budget)
    : executor_(std::move(executor)),
      transport_(std::move(transport)),
      role_(role),
      limits_(limits),
      own_budget_{limits.max_buffered_bytes, 0},
      budget_(budget ? budget : &own_budget_),
      next_id_(role == Role::client ? 1 : 2) {
  last_received_ = idle_since_ = last_ping_ = Clock::now();
}

Session::~Session() {
  if (!closed_) transport_->close();
}

void Session::start(InboundHandler on_inbound, ClosedHandler on_closed) {
  on_inbound_ = std::move(on_inbound);
  on_closed_ = std::move(on_closed);
  started_ = true;
  asio::co_spawn(executor_, read_loop(shared_from_this()), asio::detached);
  asio::co_spawn(executor_, write_loop(shared_from_this()), asio::detached);
  asio::co_spawn(executor_, keepalive_loop(shared_from_this()), asio::detached);
}

Result<std::shared_ptr<Stream>> Session::open_stream() {
  if (closed_ || closing_) return make_error(Errc::io, "connection is closing");
  if (streams_.size() >= limits_.max_streams)
    return make_error(Errc::rejected, "{} streams already open on this connection", streams_.size());
  if (unacked_outbound_ >= limits_.max_unacked_outbound)
    return make_error(Errc::rejected, "{} streams not yet acknowledged by the peer", unacked_outbound_);
  if (next_id_ > 0xfffffffdu) return make_error(Errc::rejected, "stream ids of this connection are used up");
  auto state = std::make_shared<StreamState>();
  state->id = next_id_;
  state->outbound = true;
  next_id_ += 2;
  streams_.emplace(state->id, state);
  ++unacked_outbound_;
  enqueue({FrameType::window_update, kSyn, state->id, 0});
  return std::make_shared<Stream>(shared_from_this(), std::move(state));
}

void Session::close(GoAwayCode code, std::string reason) {
  if (closed_ || closing_) return;
  if (!started_) {
    fail(Error{Errc::io, std::move(reason)});
    return;
  }
  closing_ = true;
  close_reason_ = Error{code == GoAwayCode::normal ? Errc::io : Errc::corrupt, std::move(reason)};
  enqueue({FrameType::go_away, 0, 0, static_cast<std::uint32_t>(code)});
  // If the peer does not take the GoAway in time, close anyway.
  asio::co_spawn(executor_, [](std::shared_ptr<Session> self) -> asio::awaitable<void> {
    const auto deadline = Clock::now() + kGoAwayGrace;
    while (!self->closed_ && Clock::now() < deadline) co_await wait_on(&self->closed_wake_, deadline);
    if (!self->closed_) self->fail(*self->close_reason_);
  }(shared_from_this()), asio::detached);
}

void Session::fail(Error why) {
  if (closed_) return;
  closed_ = true;
  transport_->close();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    s->in_map = false;
    if (!(s->local_fin && s->remote_fin)) s->reset = true;
    s->wake.notify();
  }
  writer_wake_.notify();
  drained_.notify();
  closed_wake_.notify();
  if (on_closed_)
    asio::post(executor_, [self = shared_from_this(), why = std::move(why)] {
      auto handler = std::move(self->on_closed_);
      self->on_closed_ = nullptr;
      self->on_inbound_ = nullptr;
      if (handler) handler(why);
    });
}

void Session::enqueue(const FrameHeader& h, ByteView body) {
  if (closed_) return;
  Bytes frame(kHeaderSize + body.size());
  auto head = encode_header(h);
  std::memcpy(frame.data(), head.data(), kHeaderSize);
  if (!body.empty()) std::memcpy(frame.data() + kHeaderSize, body.data(), body.size());
  out_bytes_ += frame.size();
  out_.push_back(std::move(frame));
  if (out_bytes_ > limits_.max_queued_output || out_.size() > kMaxQueuedFrames) {
    fail(make_error(Errc::io, "peer is not reading: {} bytes queued for it", out_bytes_));
    return;
  }
  writer_wake_.notify();
}

void Session::send_window_update(StreamState& s, std::uint16_t flags, std::uint32_t delta) {
  enqueue({FrameType::window_update, flags, s.id, delta});
}

void Session::linger(std::shared_ptr<StreamState> state) {
  state->detached = true;
  asio::co_spawn(executor_, linger_loop(shared_from_this(), std::move(state)), asio::detached);
}

// Waits (waking early if the session ends) for the peer's FIN on a dropped
// stream; resets it if none came in time.
asio::awaitable<void> Session::linger_loop(std::shared_ptr<Session> self, std::shared_ptr<StreamState> state) {
  const auto deadline = Clock::now() + self->limits_.stream_timeout;
  while (state->in_map && !self->closed_ && Clock::now() < deadline)
    co_await wait_any(&state->wake, &self->closed_wake_, deadline);
  if (state->in_map && !state->reset && !self->closed_) {
    state->reset = true;
    self->enqueue({FrameType::window_update, kRst, state->id, 0});
    self->forget(state->id);
  }
}

void Session::forget(std::uint32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  auto& s = *it->second;
  s.in_map = false;
  if (s.outbound && !s.acked) --unacked_outbound_;
  streams_.erase(it);
  if (streams_.empty()) idle_since_ = Clock::now();
}

void Session::remove_if_done(StreamState& s) {
  if (s.local_fin && s.remote_fin) forget(s.id);
}

void Session::consumed(StreamState& s, std::size_t n) {
  buffered_ -= n;
  budget_->used -= n;
  if (s.remote_fin || s.reset || closed_) return;
  s.unreturned += static_cast<std::uint32_t>(n);
  if (s.unreturned >= kInitialWindow / 2) {
    send_window_update(s, 0, s.unreturned);
    s.recv_window += s.unreturned;
    s.unreturned = 0;
  }
}

void Session::release(StreamState& s) {
  const std::size_t n = s.recv.size() - s.recv_off;  // the part being filled was counted too
  buffered_ -= n;
  budget_->used -= n;
  if (s.filling > 0) {  // the payload under way is still written into recv
    s.recv_off = s.recv.size() - s.filling;
    s.released = true;
    return;
  }
  s.recv.clear();
  s.recv.shrink_to_fit();
  s.recv_off = 0;
}

asio::awaitable<Status> Session::discard(std::uint32_t length) {
  scratch_.resize(std::min<std::size_t>(length, 16 * 1024));
  while (length > 0) {
    const std::size_t n = std::min<std::size_t>(length, scratch_.size());
    auto st = co_await transport_->read_exact(MutableByteView(scratch_.data(), n));
    if (!st) co_return st;
    length -= static_cast<std::uint32_t>(n);
  }
  co_return Status{};
}

asio::awaitable<Status> Session::handle_frame(const FrameHeader& h) {
  if (h.type == FrameType::ping) {
    if (h.flags & kSyn) {
      enqueue({FrameType::ping, kAck, 0, h.length});
    } else if ((h.flags & kAck) && ping_sent_ && h.length == ping_id_) {
      rtt_ = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - *ping_sent_);
      ping_sent_.reset();
    }
    co_return Status{};
  }
  if (h.type == FrameType::go_away) {
    fail(make_error(Errc::io, "peer closed the connection (GoAway code {})", h.length));
    co_return Status{};
  }

  std::shared_ptr<StreamState> s;
  bool opened = false;
  if (auto it = streams_.find(h.stream_id); it != streams_.end()) s = it->second;
  if (h.flags & kSyn) {
    if (s) co_return make_error(Errc::corrupt, "SYN for stream {}, which is already open", h.stream_id);
    const bool peer_uses_odd = role_ == Role::server;
    if ((h.stream_id % 2 == 1) != peer_uses_odd)
      co_return make_error(Errc::corrupt, "peer opened stream {}, an id of our parity", h.stream_id);
    if (h.stream_id <= last_inbound_id_)
      co_return make_error(Errc::corrupt, "peer reused stream id {}", h.stream_id);
    last_inbound_id_ = h.stream_id;
    if (closing_ || streams_.size() >= limits_.max_streams) {
      // Refused, not a protocol error: tell the peer and drop what it sent.
      enqueue({FrameType::window_update, kRst, h.stream_id, 0});
      if (h.type == FrameType::data) {
        if (h.length > kInitialWindow)
          co_return make_error(Errc::corrupt, "stream {} sent {} bytes beyond its window", h.stream_id, h.length);
        co_return co_await discard(h.length);
      }
      co_return Status{};
    }
    s = std::make_shared<StreamState>();
    s->id = h.stream_id;
    s->acked = true;
    streams_.emplace(s->id, s);
    enqueue({FrameType::window_update, kAck, s->id, 0});
    opened = true;
  }
  if (!s) {
    // A stream we already forgot (reset or closed both ways): drop its data.
    if (h.type == FrameType::data) {
      if (h.length > kInitialWindow)
        co_return make_error(Errc::corrupt, "stream {} sent {} bytes beyond its window", h.stream_id, h.length);
      co_return co_await discard(h.length);
    }
    co_return Status{};
  }
  if ((h.flags & kAck) && s->outbound && !s->acked) {
    s->acked = true;
    --unacked_outbound_;
  }
  if (h.type == FrameType::window_update) {
    s->send_window += h.length;
    if (s->send_window > 0xffffffffull)
      co_return make_error(Errc::corrupt, "stream {} window grew past 2^32", s->id);
    if (h.length) s->wake.notify();
  } else if (h.length > 0) {
    if (h.length > s->recv_window)
      co_return make_error(Errc::corrupt, "stream {} sent {} bytes with {} of window left", s->id, h.length,
                           s->recv_window);
    if (s->remote_fin) co_return make_error(Errc::corrupt, "stream {} sent data after its FIN", s->id);
    if (s->detached) {
      // Nobody will read it: drop it, and give the credit straight back so
      // the peer can finish and send its FIN.
      auto st = co_await discard(h.length);
      if (!st) co_return st;
      if (!(h.flags & kFin)) enqueue({FrameType::window_update, 0, s->id, h.length});
    } else {
      s->recv_window -= h.length;
      if (s->reset || buffered_ + h.length > limits_.max_buffered_bytes ||
          budget_->used + h.length > budget_->limit) {
        // Nobody is reading this fast enough; drop the stream, not the connection.
        if (!s->reset) {
          s->reset = true;
          enqueue({FrameType::window_update, kRst, s->id, 0});
          forget(s->id);
          s->wake.notify();
        }
        co_return co_await discard(h.length);
      }
      if (s->recv_off > 0 && s->recv_off >= s->recv.size() / 2) {
        s->recv.erase_front(s->recv_off);
        s->recv_off = 0;
      }
      const std::size_t at = s->recv.size();
      s->recv.grow(h.length);
      buffered_ += h.length;
      budget_->used += h.length;
      s->filling = h.length;
      auto st = co_await transport_->read_exact(MutableByteView(s->recv.data() + at, h.length));
      s->filling = 0;
      if (s->released) {  // dropped meanwhile (accounted for by release)
        s->released = false;
        s->recv.clear();
        s->recv.shrink_to_fit();
        s->recv_off = 0;
      }
      if (!st) co_return st;
      s->wake.notify();
    }
  }
  if (h.flags & kFin) {
    s->remote_fin = true;
    s->wake.notify();
    remove_if_done(*s);
  }
  if (h.flags & kRst) {
    s->reset = true;
    forget(s->id);
    s->wake.notify();
  }
  if (opened && on_inbound_) on_inbound_(std::make_shared<Stream>(shared_from_this(), s));
  co_return Status{};
}

asio::awaitable<void> Session::read_loop(std::shared_ptr<Session> self) {
  std::array<std::uint8_t, kHeaderSize> head;
  while (!self->closed_) {
    auto st = co_await self->transport_->read_exact(head);
    if (!st) {
      self->fail(std::move(st).error());
      co_return;
    }
    self->last_received_ = Clock::now();
    auto h = decode_header(head);
    if (!h) {
      self->close(GoAwayCode::protocol_error, h.error().message);
      co_return;
    }
    st = co_await self->handle_frame(*h);
    if (!st) {
      if (st.error().code == Errc::io) {
        self->fail(std::move(st).error());
      } else {
        self->close(GoAwayCode::protocol_error, st.error().message);
      }
      co_return;
    }
    if (self->closing_) co_return;  // after a GoAway of ours, nothing the peer sends matters
  }
}

asio::awaitable<void> Session::write_loop(std::shared_ptr<Session> self) {
  for (;;) {
    while (self->out_.empty() && !self->closed_) co_await wait_on(&self->writer_wake_, Clock::time_point::max());
    if (self->closed_) co_return;
    // Small frames (headers, window updates, short messages) are coalesced
    // into one write; a large data frame goes out as it is, not copied
    // once more into a batch.
    Bytes batch = std::move(self->out_.front());
    self->out_.pop_front();
    if (batch.size() < kCoalesceBelow)
      while (!self->out_.empty() && self->out_.front().size() < kCoalesceBelow &&
             batch.size() + self->out_.front().size() <= kBatch) {
        batch.insert(batch.end(), self->out_.front().begin(), self->out_.front().end());
        self->out_.pop_front();
      }
    self->out_bytes_ -= std::min(self->out_bytes_, batch.size());
    self->writing_ = true;
    self->write_started_ = Clock::now();
    auto st = co_await self->transport_->write_all(batch);
    self->writing_ = false;
    self->drained_.notify();
    if (!st) {
      self->fail(std::move(st).error());
      co_return;
    }
    if (self->closing_ && self->out_.empty()) {
      self->fail(*self->close_reason_);
      co_return;
    }
  }
}

asio::awaitable<void> Session::keepalive_loop(std::shared_ptr<Session> self) {
  using std::chrono::milliseconds;
  const auto& l = self->limits_;
  milliseconds tick = std::min(l.keepalive_interval, l.write_timeout);
  if (l.idle_timeout.count() > 0) tick = std::min(tick, l.idle_timeout);
  tick = std::max(tick / 2, milliseconds(10));
  while (!self->closed_) {
    co_await wait_on(&self->closed_wake_, Clock::now() + tick);
    if (self->closed_ || self->closing_) co_return;
    const auto now = Clock::now();
    if (self->writing_ && now - self->write_started_ > l.write_timeout) {
      self->fail(make_error(Errc::io, "peer accepted no data for {} ms", l.write_timeout.count()));
      co_return;
    }
    if (now - self->last_received_ > 3 * l.keepalive_interval) {
      self->fail(make_error(Errc::io, "peer silent for {} ms", (3 * l.keepalive_interval).count()));
      co_return;
    }
    if (l.idle_timeout.count() > 0 && self->streams_.empty() && now - self->idle_since_ > l.idle_timeout) {
      self->close(GoAwayCode::normal, "idle");
      co_return;
    }
    if (now - self->last_ping_ >= l.keepalive_interval) {
      self->last_ping_ = now;
      self->ping_sent_ = now;
      self->enqueue({FrameType::ping, kSyn, 0, ++self->ping_id_});
    }
  }
}

}  // namespace codex::net::yamux
