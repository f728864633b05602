// The daemon's event loop and services (daemon.hpp). Everything runs on one
// Asio io_context thread: the Host's connections, the admission exchange,
// block exchange serving and fetching, the tree protocol, the control socket
// and the protocol core's timer. Asio (standalone, C++20 coroutines) is the
// event loop: the net/ stack is built on it, and a coroutine per stream keeps
// each protocol's code straight-line.
#include "codex/daemon/daemon.hpp"

#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <ctime>
#include <deque>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "codex/codex_tree.hpp"
#include "codex/community.hpp"
#include "codex/daemon/block_stream.hpp"
#include "codex/daemon/blockexc_message.hpp"
#include "codex/daemon/control.hpp"
#include "codex/daemon/core_adapter.hpp"
#include "codex/daemon/fetch.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/daemon/tree_exchange.hpp"
#include "codex/dataset.hpp"
#include "codex/json.hpp"
#include "codex/manifest.hpp"
#include "codex/net/host.hpp"
#include "codex/repository.hpp"
#include "codex/repository_admin.hpp"

// CODEX_TRY for coroutines (co_return instead of return).
#define CODEX_CO_TRY(expr)                          \
  do {                                              \
    auto&& codex_co_try_ = (expr);                  \
    if (!codex_co_try_.ok())                        \
      co_return std::move(codex_co_try_).error();   \
  } while (0)
#define CODEX_CO_TRY_ASSIGN(lhs, expr)                                  \
  auto&& CODEX_CONCAT(codex_co_try_, __LINE__) = (expr);                \
  if (!CODEX_CONCAT(codex_co_try_, __LINE__).ok())                      \
    co_return std::move(CODEX_CONCAT(codex_co_try_, __LINE__)).error(); \
  lhs = std::move(CODEX_CONCAT(codex_co_try_, __LINE__)).value()

namespace codex::daemon {

namespace {

using net::Multiaddr;
using net::Stream;

constexpr std::size_t kMaxAdmissionMessage = 4096;
constexpr std::size_t kMaxRefusalReason = 256;
constexpr std::size_t kMaxBlockexcFrame = 16u << 20;
constexpr std::size_t kMaxAltruisticMessage = 1u << 20;
constexpr std::size_t kDeliveryBytesPerMessage = 1u << 20;

enum AdmissionKind : std::uint8_t { kCertificate = 1, kRevocation = 2, kRefused = 3, kAccepted = 4 };

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

CoreTime monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Bytes admission_message(AdmissionKind kind, ByteView body) {
  Bytes out{kind};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::string short_id(const PeerId& id) { return id.to_string(); }

// After a transfer: what the heap kept for reuse goes back to the system,
// so an idle daemon stays small (codex-gossip raises glibc's trim threshold).
void release_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace

struct PeerState {
  bool connected = false;
  bool admitted = false;  // it showed a valid certificate to us
  bool accepted = false;  // it accepted ours
  std::optional<MembershipCertificate> certificate;
  std::vector<Multiaddr> addresses;
  std::shared_ptr<Stream> admission_out;
  std::uint64_t blocks_received = 0;
  std::uint64_t blocks_sent = 0;
};

struct Daemon::Impl : std::enable_shared_from_this<Daemon::Impl> {
  asio::io_context& io;
  DaemonOptions options;
  Log& log;
  NodePaths paths;
  Ed25519Key key;
  PeerId self;
  std::optional<MembershipCertificate> certificate;
  std::optional<Community> community;
  std::optional<RevocationList> revocations;
  std::unique_ptr<Repository> repository;
  std::unique_ptr<BlockSource> serve_source;  // the repository's blocks as served to members (read_many)
  std::unique_ptr<net::Host> host;
  std::unique_ptr<ControlServer> control;
  std::unique_ptr<ProtocolCore> core;
  std::unique_ptr<asio::steady_timer> core_timer;
  std::unique_ptr<asio::steady_timer> maintenance_timer;
  std::unordered_map<PeerId, PeerState> peers;
  std::vector<std::pair<PeerId, Multiaddr>> bootstrap;
  std::optional<std::pair<Cid, CodexTree>> tree_cache;  // serving leaf proofs
  std::int64_t started_at = unix_now();
  std::uint64_t blocks_served = 0, blocks_fetched = 0, peers_dropped = 0;
  std::uint64_t served_at_last_trim = 0;
  bool stopping = false;
  // Fault injection for tests (codex-gossip partition): peers cut off, and
  // the share of outgoing community messages dropped. Never persisted.
  std::vector<PeerId> partitioned;
  std::uint32_t loss_percent = 0;
  std::uint64_t messages_dropped = 0;
  std::minstd_rand loss_draw{std::random_device{}()};
  struct PeerNetwork;
  std::unique_ptr<PeerNetwork> stream_network;  // the block streams' (stores nothing)
  // Hashing of fetched blocks, off the event loop (idle threads cost nothing).
  asio::thread_pool verify_pool{2};

  Impl(asio::io_context& io, DaemonOptions options, Log& log, Ed25519Key key)
      : io(io), options(std::move(options)), log(log), paths{this->options.repo_dir}, key(std::move(key)),
        self(this->key.peer_id()) {}

  // ---- admission ----

  bool is_member(const PeerId& peer) const {
    auto it = peers.find(peer);
    if (it == peers.end() || !it->second.admitted || !it->second.certificate) return false;
    return it->second.certificate->expires > unix_now();
  }

  bool usable(const PeerId& peer) const {
    auto it = peers.find(peer);
    return it != peers.end() && it->second.connected && it->second.accepted && is_member(peer);
  }

  std::vector<PeerId> usable_peers() const {
    std::vector<PeerId> out;
    for (const auto& [id, state] : peers)
      if (usable(id)) out.push_back(id);
    std::sort(out.begin(), out.end());
    return out;
  }

  bool own_certificate_valid() const {
    return certificate && community && check_admission(*certificate, self, *community, *revocations, unix_now()).ok();
  }

  void drop_peer(const PeerId& peer, std::string_view why) {
    ++peers_dropped;
    log.warn("peer", "peer={} dropped: {}", short_id(peer), why);
    auto it = peers.find(peer);
    if (it != peers.end()) {
      it->second.admitted = false;
      it->second.accepted = false;
    }
    host->disconnect(peer);
  }

  void on_connected(const PeerId& peer) {
    auto& state = peers[peer];
    state.connected = true;
    log.debug("peer", "peer={} connected", short_id(peer));
    asio::co_spawn(io, admission_out(shared_from_this(), peer), asio::detached);
  }

  void on_disconnected(const PeerId& peer) {
    auto it = peers.find(peer);
    if (it == peers.end()) return;
    bool was_member = it->second.admitted;
    it->second.connected = false;
    it->second.admitted = false;
    it->second.accepted = false;
    it->second.admission_out.reset();
    log.info("peer", "peer={} disconnected", short_id(peer));
    if (was_member && core) {
      CoreOutput out;
      core->on_member_down(monotonic_ms(), peer, out);
      apply(std::move(out));
    }
  }

  // Our side: show our certificate and revocations on a stream of our own,
  // then listen on it for the peer's verdict and later revocations.
  static asio::awaitable<void> admission_out(std::shared_ptr<Impl> self_, PeerId peer) {
    Impl& d = *self_;
    auto stream = co_await d.host->open_stream(peer, {}, kAdmissionProtocol);
    if (!stream) {
      d.log.debug("admission", "peer={} cannot open admission stream: {}", short_id(peer), stream.error().message);
      co_return;
    }
    auto s = *stream;
    // (No co_await inside ?: - GCC 12 miscompiles the temporaries there.)
    Bytes first = d.certificate ? admission_message(kCertificate, d.certificate->encode())
                                : admission_message(kRefused, as_bytes("no certificate"));
    Status sent = co_await net::write_length_prefixed(*s, first);
    if (!sent) co_return;
    if (d.revocations)
      for (const auto& [member, revocation] : d.revocations->all())
        if (!(co_await net::write_length_prefixed(*s, admission_message(kRevocation, revocation.encode())))) co_return;
    d.peers[peer].admission_out = s;
    for (;;) {
      auto message = co_await net::read_length_prefixed(*s, kMaxAdmissionMessage);
      if (!message || message->empty()) break;
      if (!co_await d.handle_admission_message(peer, *message, s, false)) break;
    }
    auto it = d.peers.find(peer);
    if (it != d.peers.end() && it->second.admission_out == s) it->second.admission_out.reset();
  }

  // The peer's side shown to us on a stream it opened.
  static asio::awaitable<void> admission_in(std::shared_ptr<Impl> self_, std::shared_ptr<Stream> s) {
    Impl& d = *self_;
    const PeerId peer = s->remote_peer();
    for (;;) {
      auto message = co_await net::read_length_prefixed(*s, kMaxAdmissionMessage);
      if (!message) {
        if (!d.is_member(peer)) d.log.debug("admission", "peer={} admission stream ended: {}", short_id(peer), message.error().message);
        break;
      }
      if (message->empty() || !co_await d.handle_admission_message(peer, *message, s, true)) break;
    }
  }

  // false: stop reading this stream.
  asio::awaitable<bool> handle_admission_message(const PeerId& peer, ByteView message, std::shared_ptr<Stream> s,
                                                 bool inbound) {
    const std::uint8_t kind = message[0];
    ByteView body = message.subspan(1);
    if (kind == kCertificate && inbound) {
      std::string refusal;
      if (!community || !revocations) {
        refusal = "this node is not a member of any community";
      } else {
        auto cert = MembershipCertificate::decode(body);
        if (!cert) {
          refusal = cert.error().message;
        } else if (auto ok = check_admission(*cert, peer, *community, *revocations, unix_now()); !ok) {
          refusal = ok.error().message;
        } else {
          auto& state = peers[peer];
          bool was = state.admitted;
          state.admitted = true;
          state.certificate = *cert;
          if (!was) {
            log.info("admission", "peer={} admitted (certificate serial {}, expires {})", short_id(peer), cert->serial,
                     cert->expires);
            if (core) {
              CoreOutput out;
              core->on_member_up(monotonic_ms(), peer, out);
              apply(std::move(out));
            }
          }
          co_await net::write_length_prefixed(*s, admission_message(kAccepted, {}));
          co_return true;
        }
      }
      log.warn("admission", "peer={} refused: {}", short_id(peer), refusal);
      if (refusal.size() > kMaxRefusalReason) refusal.resize(kMaxRefusalReason);
      co_await net::write_length_prefixed(*s, admission_message(kRefused, as_bytes(refusal)));
      co_await s->close_write();
      // Give the refusal a moment to leave, then close the connection.
      asio::steady_timer t(io, std::chrono::milliseconds(200));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ignored_ec));
      host->disconnect(peer);
      co_return false;
    }
    if (kind == kRefused) {
      std::string reason(reinterpret_cast<const char*>(body.data()), std::min(body.size(), kMaxRefusalReason));
      if (inbound) {
        log.warn("admission", "peer={} refused: it has no certificate ({})", short_id(peer), reason);
        host->disconnect(peer);
      } else {
        log.warn("admission", "peer={} refused us: {}", short_id(peer), reason);
      }
      co_return false;
    }
    if (kind == kAccepted && !inbound) {
      peers[peer].accepted = true;
      log.debug("admission", "peer={} accepted our certificate", short_id(peer));
      co_return true;
    }
    if (kind == kRevocation) {
      // Only members' revocations are read (a stranger's words are not acted on).
      if (!is_member(peer)) co_return true;
      auto r = Revocation::decode(body);
      if (!r) {
        drop_peer(peer, fmt::format("sent a malformed revocation: {}", r.error().message));
        co_return false;
      }
      auto added = add_revocation(*r);
      if (!added) {
        drop_peer(peer, fmt::format("sent a revocation that does not verify: {}", added.error().message));
        co_return false;
      }
      co_return true;
    }
    drop_peer(peer, fmt::format("sent admission message kind {} out of place", kind));
    co_return false;
  }

  std::error_code ignored_ec;

  // Verifies, keeps, persists and spreads a revocation; drops the member.
  Result<bool> add_revocation(const Revocation& revocation) {
    if (!revocations) return make_error(Errc::usage, "this node is not a member of any community");
    CODEX_TRY_ASSIGN(bool added, revocations->add(revocation));
    if (!added) return false;
    CODEX_TRY(append_revocation(paths, revocation));
    log.info("admission", "revocation of {} up to serial {} accepted", short_id(revocation.member), revocation.serial);
    Bytes message = admission_message(kRevocation, revocation.encode());
    for (auto& [id, state] : peers) {
      if (state.admission_out) {
        auto s = state.admission_out;
        asio::co_spawn(io, [s, message]() -> asio::awaitable<void> { co_await net::write_length_prefixed(*s, message); },
                       asio::detached);
      }
    }
    auto it = peers.find(revocation.member);
    if (it != peers.end() && it->second.certificate && revocation.covers(*it->second.certificate)) {
      bool was = it->second.admitted;
      it->second.admitted = false;
      it->second.accepted = false;
      if (it->second.connected) host->disconnect(revocation.member);
      if (was && core) {
        CoreOutput out;
        core->on_member_down(monotonic_ms(), revocation.member, out);
        apply(std::move(out));
      }
    }
    if (revocation.member == self && certificate && revocation.covers(*certificate))
      log.error("admission", "this node's own certificate is revoked: it is no longer a member");
    return true;
  }

  // ---- block exchange: serving ----

  // The digest at a leaf of a tree this repository knows, and its proof.
  Result<std::pair<Digest, blockexc::LeafProof>> leaf(const Cid& tree_cid, std::uint64_t index) {
    if (!tree_cache || tree_cache->first != tree_cid) {
      CODEX_TRY_ASSIGN(auto leaves, repository->tree_leaves(tree_cid));
      CODEX_TRY_ASSIGN(auto tree, CodexTree::build(std::move(leaves)));
      tree_cache.emplace(tree_cid, std::move(tree));
    }
    const auto& tree = tree_cache->second;
    if (index >= tree.leaf_count()) return make_error(Errc::not_found, "leaf {} is past the tree's end", index);
    CODEX_TRY_ASSIGN(auto path, tree.proof(index));
    return std::make_pair(tree.leaves()[index], blockexc::LeafProof{0x12, index, tree.leaf_count(), std::move(path)});
  }

  static asio::awaitable<void> serve_blockexc(std::shared_ptr<Impl> self_, std::shared_ptr<Stream> s) {
    Impl& d = *self_;
    const PeerId peer = s->remote_peer();
    const std::uint64_t served_before = d.blocks_served;
    co_await d.serve_blockexc_messages(peer, s);
    // A fetch's streams end with it: give its message buffers back now
    // rather than at the next maintenance round.
    if (d.blocks_served != served_before) release_memory();
  }

  asio::awaitable<void> serve_blockexc_messages(const PeerId& peer, std::shared_ptr<Stream> s) {
    Impl& d = *this;
    std::vector<Bytes> spare;  // buffers of blocks sent, for the next ones read
    for (;;) {
      auto frame = co_await net::read_length_prefixed(*s, kMaxBlockexcFrame);
      if (!frame) break;
      if (!d.is_member(peer)) break;  // revoked or expired since the stream opened
      auto message = blockexc::decode(*frame);
      if (!message) {
        d.drop_peer(peer, fmt::format("sent a malformed block-exchange message: {}", message.error().message));
        break;
      }
      // Deliveries we did not ask for on this stream are ignored unread.
      // The entries are answered a slice at a time: the blocks a slice asks
      // for are read and checked against their digests together
      // (repository_source: two at a time on every core), then answered in
      // the order asked.
      if (!d.serve_source) d.serve_source = repository_source(*d.repository);
      const auto& entries = message->wantlist.entries;
      blockexc::Message reply;
      std::size_t reply_bytes = 0;
      bool failed = false;
      struct Answer {
        std::optional<Digest> digest;
        std::optional<blockexc::LeafProof> proof;
        Bytes data;
        bool have = false;
      };
      constexpr std::size_t kSlice = 16;
      std::vector<Answer> answers(kSlice);
      std::vector<Digest> reads;
      std::vector<std::size_t> read_at;
      std::vector<Bytes> blocks;
      std::vector<Status> read_status;
      auto send = [&]() -> asio::awaitable<bool> {
        const bool sent = static_cast<bool>(co_await net::write_length_prefixed(*s, blockexc::encode(reply)));
        for (auto& delivery : reply.payload)
          if (spare.size() < kSlice) spare.push_back(std::move(delivery.data));
        reply = {};
        reply_bytes = 0;
        co_return sent;
      };
      for (std::size_t first = 0; first < entries.size() && !failed; first += kSlice) {
        const std::size_t n = std::min(kSlice, entries.size() - first);
        reads.clear();
        read_at.clear();
        for (std::size_t i = 0; i < n; ++i) {
          const auto& entry = entries[first + i];
          Answer& a = answers[i];
          a = Answer{};
          if (entry.cancel) continue;
          if (entry.address.leaf) {
            if (auto l = d.leaf(entry.address.tree_cid, entry.address.index)) {
              a.digest = l->first;
              a.proof = std::move(l->second);
            }
          } else {
            a.digest = entry.address.cid.sha256_digest();
          }
          if (!entry.address.leaf && entry.address.cid.codec() == codec::manifest) {
            // Manifests live with their dataset, not among the blocks.
            if (auto bytes = d.local_manifest(entry.address.cid)) {
              a.have = true;
              a.data = std::move(*bytes);
            }
          } else if (a.digest) {
            if (entry.want_type == blockexc::WantType::have) {
              auto location = d.repository->locate_block(*a.digest);
              a.have = (location && location->has_value()) || *a.digest == empty_digest();
            } else {
              reads.push_back(*a.digest);
              read_at.push_back(i);
            }
          }
        }
        if (!reads.empty()) {
          blocks.resize(reads.size());
          // Buffers of blocks already sent, reused: a block read into one of
          // the same size is not zero-filled first.
          for (auto& b : blocks)
            if (b.capacity() == 0 && !spare.empty()) {
              b = std::move(spare.back());
              spare.pop_back();
            }
          read_status.resize(reads.size());
          d.serve_source->read_many(reads, std::span<Bytes>(blocks.data(), reads.size()),
                                    std::span<Status>(read_status.data(), reads.size()));
          for (std::size_t k = 0; k < reads.size(); ++k)
            if (read_status[k].ok()) {
              answers[read_at[k]].have = true;
              answers[read_at[k]].data = std::move(blocks[k]);
            }
        }
        for (std::size_t i = 0; i < n; ++i) {
          const auto& entry = entries[first + i];
          Answer& a = answers[i];
          if (entry.cancel) continue;
          if (entry.want_type == blockexc::WantType::have || !a.have) {
            if (a.have || entry.send_dont_have)
              reply.presences.push_back(
                  {entry.address, a.have ? blockexc::PresenceType::have : blockexc::PresenceType::dont_have, {}});
            continue;
          }
          if (d.options.serve_hook && entry.address.cid.codec() != codec::manifest && !d.options.serve_hook(a.data))
            continue;
          Cid cid = entry.address.leaf ? Cid::from_digest(codec::block, *a.digest) : entry.address.cid;
          reply_bytes += a.data.size();
          reply.payload.push_back({std::move(cid), std::move(a.data), entry.address, std::move(a.proof)});
          ++d.blocks_served;
          d.peers[peer].blocks_sent++;
          if (reply_bytes >= kDeliveryBytesPerMessage && !co_await send()) {
            failed = true;
            break;
          }
        }
      }
      if (failed) break;
      if ((!reply.payload.empty() || !reply.presences.empty()) && !co_await send()) break;
    }
  }

  // ---- the tree protocol: a dataset tree's leaves ----

  static asio::awaitable<void> serve_tree(std::shared_ptr<Impl> self_, std::shared_ptr<Stream> s) {
    co_await daemon::serve_tree(*s, *self_->repository);
  }

  // ---- protocol core ----

  void apply(CoreOutput out) {
    for (auto& message : out.messages) {
      if (!is_member(message.to)) continue;  // the community's words go to members only
      if (loss_percent > 0 && loss_draw() % 100 < loss_percent) {
        ++messages_dropped;  // injected loss (codex-gossip partition --loss)
        continue;
      }
      asio::co_spawn(io, send_core(shared_from_this(), std::move(message)), asio::detached);
    }
    for (auto& action : out.actions) action();
    schedule_core();
  }

  static asio::awaitable<void> send_core(std::shared_ptr<Impl> self_, CoreOutgoing message) {
    Impl& d = *self_;
    std::vector<Multiaddr> addresses = d.peers[message.to].addresses;
    auto s = co_await d.host->open_stream(message.to, addresses, kAltruisticProtocol);
    if (!s) {
      d.log.debug("core", "peer={} unreachable: {}", short_id(message.to), s.error().message);
      co_return;
    }
    if (co_await net::write_length_prefixed(**s, message.payload)) co_await (*s)->close_write();
  }

  static asio::awaitable<void> serve_core(std::shared_ptr<Impl> self_, std::shared_ptr<Stream> s) {
    Impl& d = *self_;
    const PeerId peer = s->remote_peer();
    for (;;) {
      auto message = co_await net::read_length_prefixed(*s, kMaxAltruisticMessage);
      if (!message || !d.core || !d.is_member(peer)) break;
      CoreOutput out;
      d.core->on_message(monotonic_ms(), peer, *message, out);
      d.apply(std::move(out));
    }
  }

  void schedule_core() {
    if (!core || stopping) return;
    CoreTime deadline = core->next_deadline();
    CoreTime now = monotonic_ms();
    core_timer->expires_after(std::chrono::milliseconds(std::max<CoreTime>(0, deadline - now)));
    core_timer->async_wait([self_ = shared_from_this()](std::error_code ec) {
      if (ec || self_->stopping || !self_->core) return;
      CoreOutput out;
      self_->core->on_tick(monotonic_ms(), out);
      self_->apply(std::move(out));
    });
  }

  // ---- maintenance: bootstrap dialling, certificate expiry ----

  void maintain() {
    if (stopping) return;
    for (const auto& [peer, address] : bootstrap) {
      if (peer == self || host->is_connected(peer)) continue;
      auto& state = peers[peer];
      if (std::find(state.addresses.begin(), state.addresses.end(), address) == state.addresses.end())
        state.addresses.push_back(address);
      asio::co_spawn(io,
                     [self_ = shared_from_this(), peer = peer, address = address]() -> asio::awaitable<void> {  // init-captures: clang 14 cannot capture bindings
                       std::vector<Multiaddr> addresses{address};
                       auto r = co_await self_->host->ping(peer, addresses);
                       if (!r)
                         self_->log.debug("peer", "peer={} bootstrap dial failed: {}", short_id(peer), r.error().message);
                     },
                     asio::detached);
    }
    const std::int64_t now = unix_now();
    for (auto& [id, state] : peers) {
      if (state.admitted && state.certificate && state.certificate->expires <= now) {
        log.info("admission", "peer={} certificate expired", short_id(id));
        state.admitted = false;
        host->disconnect(id);
      }
    }
    // Serving ended since the last round: give the buffers back.
    if (blocks_served != served_at_last_trim) {
      served_at_last_trim = blocks_served;
      release_memory();
    }
    maintenance_timer->expires_after(std::chrono::seconds(5));
    maintenance_timer->async_wait([self_ = shared_from_this()](std::error_code ec) {
      if (!ec) self_->maintain();
    });
  }

  // ---- control socket ----

  std::string status_json() const {
    std::string listen = "[";
    for (const auto& a : host->listen_addresses())
      listen += (listen.size() > 1 ? "," : "") + json_quote(a.with_peer(self).to_string());
    listen += "]";
    std::size_t connected = 0, members = 0;
    for (const auto& [id, state] : peers) {
      connected += state.connected;
      members += usable(id);
    }
    JsonObject o;
    o.add("ok", true).add("peer_id", self.to_string());
    if (community) o.add("community", community->to_string());
    else o.add_null("community");
    o.add("member", own_certificate_valid());
    if (certificate) o.add("certificate_expires", certificate->expires);
    o.add_raw("listen", listen)
        .add("peers_connected", static_cast<std::uint64_t>(connected))
        .add("members_connected", static_cast<std::uint64_t>(members))
        .add("uptime_seconds", unix_now() - started_at)
        .add("blocks_served", blocks_served)
        .add("blocks_fetched", blocks_fetched)
        .add("peers_dropped", peers_dropped);
    if (core) o.add_raw("core", core->status_json());
    return o.str();
  }

  std::string peers_json() const {
    std::vector<PeerId> ids;
    for (const auto& [id, state] : peers)
      if (state.connected) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    std::string list = "[";
    for (const auto& id : ids) {
      const auto& state = peers.at(id);
      std::string addresses = "[";
      for (const auto& a : state.addresses) addresses += (addresses.size() > 1 ? "," : "") + json_quote(a.to_string());
      addresses += "]";
      list += (list.size() > 1 ? "," : "") + JsonObject()
                                                 .add("peer_id", id.to_string())
                                                 .add("member", is_member(id))
                                                 .add("accepted_us", state.accepted)
                                                 .add_raw("addresses", addresses)
                                                 .add("blocks_sent", state.blocks_sent)
                                                 .add("blocks_received", state.blocks_received)
                                                 .str();
    }
    list += "]";
    return JsonObject().add("ok", true).add_raw("peers", list).str();
  }

  std::string members_json() const {
    std::string list = "[";
    auto add = [&](const PeerId& id, const MembershipCertificate& c, bool is_self, bool connected) {
      list += (list.size() > 1 ? "," : "") + JsonObject()
                                                 .add("peer_id", id.to_string())
                                                 .add("self", is_self)
                                                 .add("connected", connected)
                                                 .add("serial", c.serial)
                                                 .add("expires", c.expires)
                                                 .str();
    };
    if (certificate && own_certificate_valid()) add(self, *certificate, true, true);
    std::vector<PeerId> ids;
    for (const auto& [id, state] : peers)
      if (state.certificate && !revocations->revoked(*state.certificate) && state.certificate->expires > unix_now())
        ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (const auto& id : ids) add(id, *peers.at(id).certificate, false, peers.at(id).connected);
    list += "]";
    return JsonObject().add("ok", true).add_raw("members", list).str();
  }

  // codex-gossip partition: a test's fault injection (see the man page).
  std::string partition(const json::Value& request) {
    const json::Value* heal = request.find("heal");
    const json::Value* drop = request.find("drop");
    const json::Value* loss = request.find("loss_percent");
    if (heal && heal->kind != json::Kind::boolean)
      return control_error(make_error(Errc::usage, "partition: \"heal\" must be true or false"));
    if (drop && (drop->kind != json::Kind::array || drop->array.size() > 4096))
      return control_error(make_error(Errc::usage, "partition: \"drop\" must be a list of at most 4096 peer ids"));
    if (loss && (loss->kind != json::Kind::integer || loss->negative || loss->magnitude > 100))
      return control_error(make_error(Errc::usage, "partition: \"loss_percent\" must be an integer from 0 to 100"));
    std::vector<PeerId> add;
    if (drop)
      for (const auto& v : drop->array) {
        if (v.kind != json::Kind::string)
          return control_error(make_error(Errc::usage, "partition: \"drop\" must hold peer id strings"));
        auto peer = PeerId::parse(v.string);
        if (!peer) return control_error(make_error(Errc::usage, "partition: bad peer id in \"drop\": {}", peer.error().message));
        if (*peer != self) add.push_back(*peer);
      }
    const bool changed = (heal && heal->boolean) || !add.empty() || loss;
    if (heal && heal->boolean) {
      partitioned.clear();
      loss_percent = 0;
    }
    for (const auto& p : add)
      if (std::find(partitioned.begin(), partitioned.end(), p) == partitioned.end()) partitioned.push_back(p);
    if (loss) loss_percent = static_cast<std::uint32_t>(loss->magnitude);
    if (changed) {
      host->set_blocked(partitioned);
      if (partitioned.empty() && loss_percent == 0)
        log.warn("partition", "test partition healed: every peer reachable, no message dropped");
      else
        log.warn("partition", "test partition: {} peer(s) cut off, {}% of outgoing community messages dropped",
                 partitioned.size(), loss_percent);
    }
    std::string list = "[";
    for (const auto& p : partitioned) list += (list.size() > 1 ? "," : "") + json_quote(p.to_string());
    list += "]";
    return JsonObject()
        .add("ok", true)
        .add_raw("dropped", list)
        .add("loss_percent", static_cast<std::uint64_t>(loss_percent))
        .add("messages_dropped", messages_dropped)
        .str();
  }

  static asio::awaitable<std::string> handle_control(std::shared_ptr<Impl> self_, const json::Value& request) {
    Impl& d = *self_;
    const json::Value* command = request.find("command");
    if (!command || command->kind != json::Kind::string)
      co_return control_error(make_error(Errc::usage, "control request has no \"command\" string"));
    const std::string& c = command->string;
    if (c == "status") co_return d.status_json();
    if (c == "peers") co_return d.peers_json();
    if (c == "members") co_return d.members_json();
    if (c == "partition") co_return d.partition(request);
    if (c == "revoke") {
      const json::Value* hex = request.find("revocation");
      auto bytes = hex && hex->kind == json::Kind::string ? from_hex(hex->string) : std::nullopt;
      if (!bytes) co_return control_error(make_error(Errc::usage, "revoke needs \"revocation\" as hex"));
      auto r = Revocation::decode(*bytes);
      if (!r) co_return control_error(r.error());
      auto added = d.add_revocation(*r);
      if (!added) co_return control_error(added.error());
      co_return JsonObject().add("ok", true).add("new", *added).str();
    }
    if (c == "fetch") {
      const json::Value* cid_text = request.find("cid");
      if (!cid_text || cid_text->kind != json::Kind::string)
        co_return control_error(make_error(Errc::usage, "fetch needs \"cid\""));
      auto cid = Cid::parse(cid_text->string);
      if (!cid) co_return control_error(cid.error());
      auto report = co_await d.fetch_dataset(*cid);
      if (!report) co_return control_error(report.error());
      co_return JsonObject()
          .add("ok", true)
          .add("cid", cid->to_string())
          .add("blocks", report->blocks)
          .add("already_held", report->already_held)
          .add("fetched", report->fetched)
          .add("missing", report->missing)
          .add("complete", report->missing == 0)
          .str();
    }
    if (c == "dataset-meta") {
      const json::Value* cid_text = request.find("cid");
      if (!cid_text || cid_text->kind != json::Kind::string)
        co_return control_error(make_error(Errc::usage, "dataset-meta needs \"cid\""));
      auto cid = Cid::parse(cid_text->string);
      if (!cid) co_return control_error(cid.error());
      auto meta = co_await d.fetch_meta(*cid);
      if (!meta) co_return control_error(meta.error());
      co_return JsonObject()
          .add("ok", true)
          .add("blocks", static_cast<std::uint64_t>(meta->leaves.size()))
          .add("members", static_cast<std::uint64_t>(d.usable_peers().size()))
          .str();
    }
    if (c == "blocks") {
      const json::Value* list = request.find("digests");
      if (!list || list->kind != json::Kind::array || list->array.size() > 4096)
        co_return control_error(make_error(Errc::usage, "blocks needs \"digests\": at most 4096 hex digests"));
      std::vector<Cid> cids;
      for (const auto& v : list->array) {
        auto bytes = v.kind == json::Kind::string ? from_hex(v.string) : std::nullopt;
        if (!bytes || bytes->size() != 32) co_return control_error(make_error(Errc::usage, "bad digest in \"digests\""));
        Digest digest;
        std::copy(bytes->begin(), bytes->end(), digest.begin());
        cids.push_back(Cid::from_digest(codec::block, digest));
      }
      auto outcome = co_await d.fetch_blocks(cids);
      std::string got = "[";
      for (std::size_t i = 0; i < cids.size(); ++i) got += std::string(i ? "," : "") + (outcome.got[i] ? "true" : "false");
      got += "]";
      co_return JsonObject().add("ok", true).add_raw("stored", got).str();
    }
    if (c == "pin" || c == "unpin") {
      const json::Value* cid_text = request.find("cid");
      if (!cid_text || cid_text->kind != json::Kind::string)
        co_return control_error(make_error(Errc::usage, "{} needs \"cid\"", c));
      auto cid = Cid::parse(cid_text->string);
      if (!cid) co_return control_error(cid.error());
      // (Not a conditional expression: GCC 12 miscompiles co_await in one.)
      if (c == "pin") co_return co_await d.pin(*cid);
      co_return co_await d.unpin(*cid);
    }
    if (d.core)
      if (auto answer = co_await d.core->control(request)) co_return *answer;
    co_return control_error(make_error(Errc::usage, "unknown control command '{}'", c));
  }

  // ---- pinning: a plain dataset kept by choice ----

  // The core's answer to `request` (publish, forget), or why there is none.
  asio::awaitable<Status> tell_core(std::string_view command, const Cid& cid) {
    if (!core) co_return Status{};
    auto request = json::parse(JsonObject().add("command", command).add("cid", cid.to_string()).str());
    if (!request) co_return std::move(request).error();
    auto answer = co_await core->control(*request);
    if (!answer) co_return Status{};
    auto parsed = json::parse(*answer);
    if (!parsed) co_return std::move(parsed).error();
    if (const json::Value* ok = parsed->find("ok"); ok && ok->kind == json::Kind::boolean && ok->boolean) co_return Status{};
    const json::Value* error = parsed->find("error");
    co_return make_error(Errc::failure, "{}", error && error->kind == json::Kind::string ? error->string : *answer);
  }

  // Fetches a plain dataset from the members (every block checked), keeps it
  // and serves it; the core lists it as held here. Protected datasets are
  // kept by placement, not by choice.
  asio::awaitable<std::string> pin(Cid cid) {
    auto meta = co_await fetch_meta(cid);
    if (!meta) co_return control_error(meta.error());
    if (meta->manifest.is_protected())
      co_return control_error(make_error(Errc::usage,
                                         "{} is protected: the community keeps its slots by placement (see codex-gossip "
                                         "dataset); pin keeps plain datasets",
                                         cid.to_string()));
    auto report = co_await fetch_dataset(cid);
    if (!report) co_return control_error(report.error());
    if (report->missing)
      co_return control_error(make_error(Errc::unavailable,
                                         "{} of {} blocks of {} are on no reachable member: not pinned (the blocks "
                                         "fetched are kept; pin again to finish)",
                                         report->missing, report->blocks, cid.to_string()));
    if (auto told = co_await tell_core("publish", cid); !told) co_return control_error(told.error());
    log.info("pin", "dataset {} pinned: {} blocks, {} fetched, kept and served here", cid.to_string(), report->blocks,
             report->fetched);
    co_return JsonObject()
        .add("ok", true)
        .add("cid", cid.to_string())
        .add("blocks", report->blocks)
        .add("already_held", report->already_held)
        .add("fetched", report->fetched)
        .add("pinned", true)
        .str();
  }

  // Stops keeping a pinned dataset: the core forgets it and the repository
  // removes it (codex-repo gc reclaims the space).
  asio::awaitable<std::string> unpin(Cid cid) {
    auto record = repository->find_dataset(cid);
    if (!record) co_return control_error(record.error());
    if (!*record) co_return control_error(make_error(Errc::not_found, "{} is not kept here", cid.to_string()));
    if ((*record)->manifest.is_protected())
      co_return control_error(make_error(Errc::usage, "{} is protected: its slots are kept by placement, not pinned",
                                         cid.to_string()));
    if (auto told = co_await tell_core("forget", cid); !told) co_return control_error(told.error());
    auto admin = RepositoryAdmin::open(repository->dir());
    if (!admin) co_return control_error(admin.error());
    if (auto removed = (*admin)->remove_dataset(cid); !removed) co_return control_error(removed.error());
    log.info("pin", "dataset {} unpinned: removed here (codex-repo gc reclaims its space)", cid.to_string());
    co_return JsonObject().add("ok", true).add("cid", cid.to_string()).add("pinned", false).str();
  }

  // ---- fetching ----

  struct DatasetReport {
    std::uint64_t blocks = 0, already_held = 0, fetched = 0, missing = 0;
  };

  asio::awaitable<FetchOutcome> fetch_blocks(const std::vector<Cid>& cids) {
    PeerNetwork network(*this);
    Fetcher fetcher(io, network, log, FetchLimits{options.config.fetch_parallel, 4, options.config.request_timeout});
    auto outcome = co_await fetcher.fetch(cids, usable_peers());
    std::uint64_t n = 0;
    for (bool b : outcome.got) n += b;
    blocks_fetched += n;
    co_return outcome;
  }

  // The manifest's bytes when the repository has them (as a block or a dataset).
  std::optional<Bytes> local_manifest(const Cid& manifest_cid) {
    Bytes bytes;
    if (repository->read_block(*manifest_cid.sha256_digest(), bytes)) return bytes;
    auto held = repository->find_dataset(manifest_cid);
    if (held && *held) return (*held)->manifest_bytes;
    return std::nullopt;
  }

  Status store_tree(const Cid& tree, const std::vector<Digest>& leaves) {
    CODEX_TRY_ASSIGN(auto batch, repository->begin_batch());
    batch->add_tree(tree, leaves);
    return batch->commit();
  }

  // Distinct blocks of the tree the repository lacks (padding excluded).
  std::vector<Cid> lacking(const std::vector<Digest>& leaves) {
    std::vector<Cid> wanted;
    std::unordered_set<Digest, DigestHash> seen;
    for (const auto& leaf : leaves) {
      if (leaf == empty_digest() || !seen.insert(leaf).second) continue;
      auto location = repository->locate_block(leaf);
      if (location && location->has_value()) continue;
      wanted.push_back(Cid::from_digest(codec::block, leaf));
    }
    return wanted;
  }

  Status record_dataset(const Cid& manifest_cid, const Bytes& manifest_bytes, const Manifest& manifest) {
    CODEX_TRY_ASSIGN(auto held, repository->find_dataset(manifest_cid));
    if (held) return {};
    CODEX_TRY_ASSIGN(auto batch, repository->begin_batch());
    DatasetRecord record;
    record.manifest_cid = manifest_cid;
    record.manifest_bytes = manifest_bytes;
    record.manifest = manifest;
    record.added_at = unix_now();
    batch->add_dataset(std::move(record));
    return batch->commit();
  }

  struct DatasetMeta {
    Bytes manifest_bytes;
    Manifest manifest;
    std::vector<Digest> leaves;
  };

  // A dataset's manifest and tree, from the repository or from members
  // (verified, then stored in the repository: they are small).
  asio::awaitable<Result<DatasetMeta>> fetch_meta(Cid manifest_cid) {
    if (manifest_cid.codec() != codec::manifest || !manifest_cid.sha256_digest())
      co_return make_error(Errc::usage, "'{}' is not a manifest CID", manifest_cid.to_string());
    std::optional<Bytes> manifest_bytes = local_manifest(manifest_cid);
    if (!manifest_bytes) {
      std::vector<Cid> one(1, manifest_cid);
      FetchOutcome got = co_await fetch_blocks(one);
      if (!got.got[0])
        co_return make_error(Errc::not_found, "no member reachable has manifest {}", manifest_cid.to_string());
      manifest_bytes = local_manifest(manifest_cid);
      if (!manifest_bytes) co_return make_error(Errc::io, "manifest {} was stored but cannot be read back", manifest_cid.to_string());
    }
    Result<Manifest> manifest = decode_manifest(*manifest_bytes);
    if (!manifest) co_return std::move(manifest).error();
    const std::uint64_t count = manifest->block_count();
    Result<std::vector<Digest>> leaves = repository->tree_leaves(manifest->tree);
    if (!leaves) {
      CODEX_CO_TRY(check_tree_size(manifest_cid, count));
      leaves = co_await fetch_tree(manifest->tree, count);
      if (!leaves) co_return std::move(leaves).error();
      Status stored = store_tree(manifest->tree, *leaves);
      if (!stored) co_return std::move(stored).error();
    }
    co_return DatasetMeta{std::move(*manifest_bytes), std::move(*manifest), std::move(*leaves)};
  }

  // Manifest, tree and every block of a dataset that the repository lacks,
  // from members; what is fetched is stored as it arrives (a fetch resumes).
  asio::awaitable<Result<DatasetReport>> fetch_dataset(Cid manifest_cid) {
    // No gc sweep until the dataset is recorded: until then no dataset names
    // the tree and blocks stored batch by batch (repository_admin.hpp, GcHold).
    Result<GcHold> gc_hold = GcHold::take(repository->dir());
    if (!gc_hold) co_return std::move(gc_hold).error();
    auto meta = co_await fetch_meta(manifest_cid);
    if (!meta) co_return std::move(meta).error();
    const Bytes* manifest_bytes = &meta->manifest_bytes;
    const Manifest* manifest = &meta->manifest;
    const std::vector<Digest>* leaves = &meta->leaves;
    const std::uint64_t count = manifest->block_count();
    DatasetReport report;
    report.blocks = count;
    std::vector<Cid> wanted = lacking(*leaves);
    report.already_held = count - wanted.size();
    if (!wanted.empty()) {
      FetchOutcome outcome = co_await fetch_blocks(wanted);
      for (std::size_t i = 0; i < outcome.got.size(); ++i) {
        if (outcome.got[i]) ++report.fetched;
        else ++report.missing;
      }
    }
    // The dataset is recorded once the repository holds all of it; until then
    // the manifest block, the tree and the blocks fetched so far are stored.
    if (report.missing == 0) {
      Status recorded = record_dataset(manifest_cid, *manifest_bytes, *manifest);
      if (!recorded) co_return std::move(recorded).error();
    }
    log.info("fetch", "dataset {}: {} blocks, {} held, {} fetched, {} on no reachable member", manifest_cid.to_string(),
             report.blocks, report.already_held, report.fetched, report.missing);
    release_memory();
    co_return report;
  }

  asio::awaitable<Result<std::vector<Digest>>> fetch_tree(const Cid& tree, std::uint64_t count) {
    for (const auto& peer : usable_peers()) {
      auto s = co_await host->open_stream(peer, {}, kTreeProtocol);
      if (!s) continue;
      auto leaves = co_await request_tree(**s, tree, count);
      if (leaves) co_return leaves;
      if (leaves.error().code == Errc::rejected) drop_peer(peer, leaves.error().message);
      if (leaves.error().code == Errc::corrupt) co_return leaves;
    }
    co_return make_error(Errc::not_found, "no member reachable knows tree {}", tree.to_string());
  }

  // ---- block stream: blocks from members straight to a tool ----

  struct BlockStreamSession {
    std::deque<std::optional<Result<Bytes>>> answers;  // answers[i] is for request base + i
    std::uint64_t base = 0;
    std::deque<std::string> notes;
    bool ended = false, writer_done = false;
    std::uint64_t sent = 0, failed = 0;
    asio::steady_timer wake, done;
    explicit BlockStreamSession(asio::io_context& io)
        : wake(io, asio::steady_timer::time_point::max()), done(io, asio::steady_timer::time_point::max()) {}
  };

  static asio::awaitable<void> block_stream_writer(std::shared_ptr<BlockStreamSession> session,
                                                   asio::local::stream_protocol::socket& socket) {
    std::error_code ec;
    auto header = [](std::uint8_t type, std::size_t len) {
      std::array<std::uint8_t, 5> h{type};
      for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
      return h;
    };
    while (!session->ended && !ec) {
      if (!session->notes.empty()) {
        std::string note = std::move(session->notes.front());
        session->notes.pop_front();
        auto h = header(kFrameNote, note.size());
        std::array<asio::const_buffer, 2> buffers{asio::buffer(h), asio::buffer(note)};
        co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (!session->answers.empty() && session->answers.front() && *session->answers.front()) {
        // The blocks ready at the front, up to 32 of them or 1 MiB, in one
        // gathered write (one system call, not one per block).
        std::vector<Bytes> blocks;
        std::size_t bytes = 0;
        while (!session->answers.empty() && session->answers.front() && *session->answers.front() &&
               blocks.size() < 32 && bytes < (1u << 20)) {
          blocks.push_back(std::move(**session->answers.front()));
          bytes += blocks.back().size();
          session->answers.pop_front();
          ++session->base;
        }
        std::vector<std::array<std::uint8_t, 5>> headers(blocks.size());
        std::vector<asio::const_buffer> buffers;
        buffers.reserve(2 * blocks.size());
        for (std::size_t i = 0; i < blocks.size(); ++i) {
          headers[i] = header(kFrameBlock, blocks[i].size());
          buffers.push_back(asio::buffer(headers[i]));
          buffers.push_back(asio::buffer(blocks[i]));
        }
        co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
        session->sent += blocks.size();
        continue;
      }
      if (!session->answers.empty() && session->answers.front()) {
        Result<Bytes> answer = std::move(*session->answers.front());
        session->answers.pop_front();
        ++session->base;
        {
          std::string why = answer.error().message;
          if (why.size() > 4096) why.resize(4096);
          auto h = header(kFrameError, why.size() + 1);
          const std::uint8_t code = static_cast<std::uint8_t>(answer.error().code);
          std::array<asio::const_buffer, 3> buffers{asio::buffer(h), asio::buffer(&code, 1), asio::buffer(why)};
          co_await asio::async_write(socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
          ++session->failed;
        }
        continue;
      }
      std::error_code ignored;
      co_await session->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    session->writer_done = true;
    session->done.cancel();
  }

  static asio::awaitable<void> serve_block_stream(std::shared_ptr<Impl> self_, asio::local::stream_protocol::socket& socket) {
    Impl& d = *self_;
    const std::vector<PeerId> members = d.usable_peers();
    std::error_code ec;
    const std::string hello = JsonObject()
                                  .add("ok", true)
                                  .add("window", static_cast<std::uint64_t>(kBlockStreamWindow))
                                  .add("members", static_cast<std::uint64_t>(members.size()))
                                  .str() +
                              "\n";
    co_await asio::async_write(socket, asio::buffer(hello), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    if (!d.stream_network) d.stream_network = std::make_unique<PeerNetwork>(d);
    auto session = std::make_shared<BlockStreamSession>(d.io);
    StreamFetcher fetcher(
        d.io, *d.stream_network, d.log,
        StreamFetchLimits{d.options.config.fetch_parallel, 4,
                          std::chrono::duration_cast<std::chrono::milliseconds>(d.options.config.request_timeout)},
        members,
        [session, self_](std::uint64_t id, Result<Bytes> block) {
          if (session->ended || id < session->base || id - session->base >= session->answers.size()) return;
          if (block) ++self_->blocks_fetched;
          session->answers[id - session->base] = std::move(block);
          session->wake.cancel();
        },
        [session](const std::string& note) {
          session->notes.push_back(note);
          session->wake.cancel();
        },
        &d.verify_pool);
    asio::co_spawn(d.io, block_stream_writer(session, socket), asio::detached);
    std::uint64_t next_id = 0;
    std::vector<std::uint8_t> body;
    std::string why;
    for (;;) {
      std::array<std::uint8_t, 5> h;
      co_await asio::async_read(socket, asio::buffer(h), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // the tool is done (or gone)
      std::uint32_t len = 0;
      for (int i = 0; i < 4; ++i) len = len << 8 | h[1 + i];
      if (h[0] != kFrameWant || len == 0 || len % 32 != 0 || len / 32 > kBlockStreamWindow) {
        why = fmt::format("bad frame (type {}, {} bytes)", h[0], len);
        break;
      }
      body.resize(len);
      co_await asio::async_read(socket, asio::buffer(body), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      const std::size_t n = len / 32;
      if (session->answers.size() + n > kBlockStreamWindow) {
        why = fmt::format("more than {} blocks outstanding", kBlockStreamWindow);
        break;
      }
      for (std::size_t i = 0; i < n; ++i) {
        Digest digest;
        std::copy_n(body.begin() + static_cast<std::ptrdiff_t>(i * 32), 32, digest.begin());
        session->answers.emplace_back();
        fetcher.want(next_id++, digest);
      }
    }
    if (!why.empty()) d.log.warn("control", "block stream ended: {}", why);
    fetcher.stop();
    session->ended = true;
    session->wake.cancel();
    while (!session->writer_done) {
      std::error_code ignored;
      co_await session->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    d.log.info("fetch", "block stream: {} blocks passed on, {} not found on any member", session->sent, session->failed);
    release_memory();
  }

  // What the Fetcher needs from the network, over this daemon's Host.
  struct PeerNetwork : FetchNetwork {
    Impl& d;
    explicit PeerNetwork(Impl& d) : d(d) {}
    asio::awaitable<Result<std::unique_ptr<FetchStream>>> open(const PeerId& peer) override {
      auto s = co_await d.host->open_stream(peer, {}, blockexc::kProtocolId);
      if (!s) co_return std::move(s).error();
      struct HostStream : FetchStream {
        std::shared_ptr<Stream> s;
        asio::awaitable<Status> send(ByteView m) override { co_return co_await net::write_length_prefixed(*s, m); }
        asio::awaitable<Result<Bytes>> receive() override { co_return co_await net::read_length_prefixed(*s, kMaxBlockexcFrame); }
        asio::awaitable<Status> receive_into(Bytes& buffer) override {
          auto size = co_await net::read_length_prefix(*s, kMaxBlockexcFrame);
          if (!size) co_return std::move(size).error();
          buffer.resize(*size);  // zero-fills only what the buffer grows by
          co_return co_await s->read_exact(buffer);
        }
        void close() override { s->reset(); }
      };
      auto out = std::make_unique<HostStream>();
      out->s = *s;
      co_return std::unique_ptr<FetchStream>(std::move(out));
    }
    // Blocks are committed 8 MiB at a time (one fsync and one transaction
    // each): a crash loses at most that much, fetched again on resume.
    static constexpr std::uint64_t kCommitBytes = 8u << 20;
    std::unique_ptr<Repository::Batch> batch;
    Status store(const PeerId& peer, std::span<const blockexc::BlockDelivery> blocks) override {
      if (!batch) {
        CODEX_TRY_ASSIGN(batch, d.repository->begin_batch());
      }
      for (const auto& b : blocks) CODEX_TRY(batch->add_block(*b.cid.sha256_digest(), b.data));
      d.peers[peer].blocks_received += blocks.size();
      if (batch->bytes_written() >= kCommitBytes) return flush();
      return {};
    }
    Status flush() override {
      if (!batch) return {};
      auto b = std::move(batch);
      return b->commit();
    }
    bool held(const Cid& cid) override {
      auto location = d.repository->locate_block(*cid.sha256_digest());
      return location && location->has_value();
    }
    void misbehaved(const PeerId& peer, const std::string& why) override { d.drop_peer(peer, why); }
  };
};

Daemon::Daemon(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() { stop(); }

Result<std::unique_ptr<Daemon>> Daemon::create(asio::io_context& io, DaemonOptions options, Log& log) {
  NodePaths paths{options.repo_dir};
  CODEX_TRY(ensure_dir(paths.dir));
  CODEX_TRY_ASSIGN(auto key, Ed25519Key::load_or_create(paths.node_key()));
  auto impl = std::make_shared<Impl>(io, std::move(options), log, std::move(key));
  CODEX_TRY_ASSIGN(impl->certificate, load_certificate(paths));
  if (impl->certificate) {
    if (impl->certificate->member != impl->self)
      return make_error(Errc::usage, "'{}' is a certificate for {}, not for this node ({})", paths.certificate().string(),
                        impl->certificate->member.to_string(), impl->self.to_string());
    impl->community = impl->certificate->community();
    impl->revocations.emplace(*impl->community);
    CODEX_TRY_ASSIGN(auto known, load_revocations(paths, *impl->community));
    for (const auto& r : known) CODEX_TRY(impl->revocations->add(r));
  }
  CODEX_TRY_ASSIGN(impl->repository, Repository::open(paths.dir.string(), Repository::OpenMode::create));
  for (const auto& text : impl->options.config.bootstrap) {
    auto address = Multiaddr::parse(text);
    if (!address) return make_error(Errc::usage, "bootstrap address '{}': {}", text, address.error().message);
    if (!address->peer())
      return make_error(Errc::usage, "bootstrap address '{}' has no /p2p/<peer id>", text);
    impl->bootstrap.emplace_back(*address->peer(), address->without_peer());
  }
  net::Limits limits;
  limits.max_connections = impl->options.config.max_connections;
  limits.session.stream_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(impl->options.config.idle_timeout);
  impl->host = std::make_unique<net::Host>(io, impl->key, limits);
  impl->core_timer = std::make_unique<asio::steady_timer>(io);
  impl->maintenance_timer = std::make_unique<asio::steady_timer>(io);
  return std::unique_ptr<Daemon>(new Daemon(impl));
}

void Daemon::set_core(std::unique_ptr<ProtocolCore> core) { impl_->core = std::move(core); }

Status Daemon::start() {
  Impl& d = *impl_;
  std::weak_ptr<Impl> weak = impl_;
  d.host->set_protocol_gate([weak](const PeerId& peer, std::string_view protocol) {
    auto d = weak.lock();
    if (!d) return false;
    if (protocol == kAdmissionProtocol) return true;
    return d->is_member(peer);
  });
  d.host->on_peer_connected([weak](const PeerId& peer) {
    if (auto d = weak.lock()) d->on_connected(peer);
  });
  d.host->on_peer_disconnected([weak](const PeerId& peer) {
    if (auto d = weak.lock()) d->on_disconnected(peer);
  });
  d.host->handle(std::string(kAdmissionProtocol), [weak](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
    if (auto d = weak.lock()) co_await Impl::admission_in(d, std::move(s));
  });
  d.host->handle(std::string(blockexc::kProtocolId), [weak](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
    if (auto d = weak.lock()) co_await Impl::serve_blockexc(d, std::move(s));
  });
  d.host->handle(std::string(kTreeProtocol), [weak](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
    if (auto d = weak.lock()) co_await Impl::serve_tree(d, std::move(s));
  });
  std::vector<std::string> listen = d.options.config.listen;
  if (listen.empty()) listen.push_back("/ip4/127.0.0.1/tcp/0");
  for (const auto& text : listen) {
    CODEX_TRY_ASSIGN(auto address, Multiaddr::parse(text));
    auto st = d.host->listen(address);
    if (!st) return make_error(st.error().code, "cannot listen on {}: {}", text, st.error().message);
  }
  // The protocol core, for a member: its membership runs over the community
  // protocol; members it learns of are dialled.
  if (!d.core && d.options.config.protocol_core && d.own_certificate_valid()) {
    CoreLink link;
    link.io = &d.io;
    link.repository = d.repository.get();
    link.log = &d.log;
    link.dir = d.paths.dir;
    link.open_stream = [weak](const PeerId& peer, std::string_view protocol)
        -> asio::awaitable<Result<std::shared_ptr<Stream>>> {
      auto d = weak.lock();
      if (!d) co_return make_error(Errc::failure, "daemon stopping");
      std::vector<Multiaddr> addresses = d->peers[peer].addresses;
      co_return co_await d->host->open_stream(peer, addresses, protocol);
    };
    link.handle = [weak](std::string protocol, net::Host::Handler handler) {
      if (auto d = weak.lock()) d->host->handle(std::move(protocol), std::move(handler));
    };
    link.usable_peers = [weak]() {
      auto d = weak.lock();
      return d ? d->usable_peers() : std::vector<PeerId>{};
    };
    link.misbehaved = [weak](const PeerId& peer, const std::string& why) {
      if (auto d = weak.lock()) d->drop_peer(peer, why);
    };
    link.apply = [weak](CoreOutput out) {
      if (auto d = weak.lock()) d->apply(std::move(out));
    };
    link.listen_addresses = [weak]() {
      std::vector<Bytes> out;
      if (auto d = weak.lock())
        for (const auto& a : d->host->listen_addresses()) out.push_back(a.to_bytes());
      return out;
    };
    link.member_changed = [weak](const PeerId& member, const std::vector<Bytes>& addresses, bool alive) {
      auto d = weak.lock();
      if (!d || member == d->self) return;
      auto& state = d->peers[member];
      for (const auto& bytes : addresses)
        if (auto a = Multiaddr::from_bytes(bytes))
          if (std::find(state.addresses.begin(), state.addresses.end(), *a) == state.addresses.end())
            state.addresses.push_back(a->without_peer());
      if (alive && !state.connected && !state.addresses.empty())
        asio::co_spawn(d->io,
                       [d, member]() -> asio::awaitable<void> {
                         std::vector<Multiaddr> addresses = d->peers[member].addresses;
                         co_await d->host->ping(member, addresses);
                       },
                       asio::detached);
    };
    d.core = make_protocol_core(std::move(link), d.options.config, d.key, *d.certificate);
    if (d.options.core_wrapper) d.core = d.options.core_wrapper(std::move(d.core));
  }
  if (d.core)
    d.host->handle(std::string(kAltruisticProtocol), [weak](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
      if (auto d = weak.lock()) co_await Impl::serve_core(d, std::move(s));
    });
  CODEX_TRY_ASSIGN(d.control, ControlServer::open(d.io, d.paths.control_socket(),
                                                  [weak](const json::Value& request) -> asio::awaitable<std::string> {
                                                    auto d = weak.lock();
                                                    if (!d) co_return control_error(make_error(Errc::failure, "daemon stopping"));
                                                    co_return co_await Impl::handle_control(d, request);
                                                  }));
  d.control->add_session("block-stream",
                         [weak](const json::Value&, asio::local::stream_protocol::socket& socket) -> asio::awaitable<void> {
                           if (auto d = weak.lock()) co_await Impl::serve_block_stream(d, socket);
                         });
  for (const auto& a : d.host->listen_addresses()) d.log.info("daemon", "listening on {}", a.with_peer(d.self).to_string());
  if (d.own_certificate_valid())
    d.log.info("daemon", "peer {} member of community {}", d.self.to_string(), d.community->to_string());
  else
    d.log.warn("daemon", "peer {} has no valid membership certificate: peers will refuse it (see codex-gossip join)",
               d.self.to_string());
  d.maintain();
  d.schedule_core();
  return {};
}

void Daemon::stop() {
  if (!impl_ || impl_->stopping) return;
  Impl& d = *impl_;
  d.stopping = true;
  d.maintenance_timer->cancel();
  d.core_timer->cancel();
  if (d.control) d.control->close();
  d.host->close();
  d.log.info("daemon", "stopped");
}

}  // namespace codex::daemon
