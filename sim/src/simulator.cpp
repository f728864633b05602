// The simulator's engine: the event queue, the virtual network, failure
// injection, the transfers behind FetchSlot/RebuildSlot, and the ground truth
// the report scores the protocol against. See simulator.hpp.
#include "codex/sim/simulator.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <memory>
#include <queue>
#include <unordered_map>

#include "codex/protocol/directory.hpp"
#include "codex/protocol/messages.hpp"
#include "codex/protocol/node.hpp"
#include "codex/sha256.hpp"
#include "random.hpp"
#include "standins.hpp"

namespace codex::sim {
namespace {

using protocol::MemberId;
using protocol::Output;

constexpr Time kNever = INT64_MAX;
constexpr std::uint32_t kMaxMembers = 1u << 22;
constexpr std::uint32_t kMaxDatasets = 1u << 24;

enum class Kind : std::uint8_t {
  deliver, tick, transfer, join, publish, fail, churn_off, churn_on,
  correlated, leave, partition_start, partition_end, sample, join_late,
};

// 32 bytes; ordered by (time, seq) so equal times keep insertion order.
struct Event {
  Time time;
  std::uint64_t seq;
  std::uint32_t a;
  std::uint32_t b;
  Kind kind;
};
struct Later {
  bool operator()(const Event& x, const Event& y) const { return x.time != y.time ? x.time > y.time : x.seq > y.seq; }
};
// The queue, which can also name the event after the next one (for
// prefetch_for): in a binary heap that is the earlier child of the root.
struct EventQueue : std::priority_queue<Event, std::vector<Event>, Later> {
  const Event* second() const {
    if (c.size() < 2) return nullptr;
    if (c.size() == 2) return &c[1];
    return Later()(c[1], c[2]) ? &c[2] : &c[1];
  }
};

enum class State : std::uint8_t { waiting, up, offline, dead, left };

struct Member {
  std::unique_ptr<protocol::Node> node;
  MemberId id{};
  protocol::MemberHandle handle = protocol::MemberDirectory::kNone;  // in the shared directory
  State state = State::waiting;
  bool slow = false;
  bool death_detected = false;
  bool falsely_dead = false;
  std::uint32_t churn_generation = 0;
  Time tick_at = kNever;
  Time failed_at = 0;
  std::vector<std::uint64_t> stored;            // slot keys (dataset << 8 | slot)
  std::vector<protocol::LocalEvent> on_return;  // transfers that ended while offline
};

struct InFlight {
  std::uint32_t from = 0, to = 0;
  Bytes payload;
};

struct Transfer {
  std::uint32_t member = 0, dataset = 0, slot = 0;
  bool rebuild = false, cancelled = false;
  std::vector<std::uint32_t> sources;
};

struct DatasetTruth {
  protocol::DatasetDescriptor desc;
  std::uint32_t publisher = 0;
  bool published = false, placed = false, lost = false;
};

std::uint64_t slot_key(std::uint32_t dataset, std::uint32_t slot) { return std::uint64_t(dataset) << 8 | slot; }
std::uint64_t transfer_key(std::uint32_t member, std::uint32_t dataset, std::uint32_t slot) {
  return std::uint64_t(member) << 40 | std::uint64_t(dataset) << 8 | slot;
}

struct Running {
  double sum = 0, max = 0;
  std::uint64_t count = 0;
  void add(double x) {
    sum += x;
    max = std::max(max, x);
    ++count;
  }
  double mean() const { return count ? sum / double(count) : 0; }
};

class Simulation {
 public:
  explicit Simulation(const SimulationConfig& config)
      : c_(config),
        rng_(config.seed),
        network_rng_(config.seed ^ 0x6e6574776f726bULL),
        crypto_(mix(config.seed, 0xc0ffee)),
        proofs_([this](const protocol::DatasetId& d, std::uint32_t s) { return acting_holds(d, s); }),
        directory_(std::make_shared<protocol::MemberDirectory>()) {}

  SimulationReport run();

 private:
  // --- queue ----------------------------------------------------------------
  void push(Time time, Kind kind, std::uint32_t a = 0, std::uint32_t b = 0) {
    queue_.push(Event{time, seq_++, a, b, kind});
  }
  void trace(std::uint64_t a, std::uint64_t b) { digest_ = mix(digest_ ^ a, b); }

  // --- members --------------------------------------------------------------
  std::uint32_t add_member();
  void join(std::uint32_t i);
  void establish();
  void schedule_failures(std::uint32_t i);
  void fail(std::uint32_t i, State how);
  void go_offline(std::uint32_t i);
  void come_back(std::uint32_t i);
  void schedule_tick(std::uint32_t i);
  void schedule_tick(std::uint32_t i, Time next);  // next: the node's next_deadline()
  void after_call(std::uint32_t i);  // sends, acts, reschedules
  void after_call(std::uint32_t i, Time next);  // the same, the node's next_deadline() known
  void send_and_act(std::uint32_t i);
  protocol::Node& act(std::uint32_t i) {
    acting_ = i;
    crypto_.act_as(members_[i].id);
    return *members_[i].node;
  }
  bool acting_holds(const protocol::DatasetId& d, std::uint32_t s) const;
  bool up(std::uint32_t i) const { return members_[i].state == State::up; }
  bool alive(std::uint32_t i) const { return members_[i].state == State::up || members_[i].state == State::offline; }

  void prefetch_for(const Event& next, bool first_stage) const;

  // --- network --------------------------------------------------------------
  void send(std::uint32_t from, protocol::Outgoing&& message);
  void deliver(std::uint32_t slot);
  int side_of(std::uint32_t i, const Partition& p, std::uint32_t index) const {
    return double(mix(c_.seed ^ (0x9a27ULL + index), i) >> 11) * 0x1.0p-53 < p.fraction ? 1 : 0;
  }

  // --- data -----------------------------------------------------------------
  void handle(std::uint32_t i, protocol::Action& action);
  void transfer_done(std::uint32_t t);
  void publish(std::uint32_t d);
  void add_holder(std::uint32_t d, std::uint32_t s, std::uint32_t i);
  void remove_holder(std::uint32_t d, std::uint32_t s, std::uint32_t i);
  std::uint32_t slots_present(std::uint32_t d, bool up_only, std::uint32_t except = UINT32_MAX) const;
  std::uint32_t dataset_of(const protocol::DatasetId& id) const {
    auto it = dataset_index_.find(id);
    return it == dataset_index_.end() ? UINT32_MAX : it->second;
  }
  // Through the directory the nodes share (every member's id is interned
  // when it is added): one flat-table lookup per message sent.
  std::uint32_t member_of(const MemberId& id) const {
    const protocol::MemberHandle h = directory_->find(id);
    return h < member_by_handle_.size() ? member_by_handle_[h] : UINT32_MAX;
  }

  // --- measurement ----------------------------------------------------------
  void sample();
  void watch(std::string event) {
    report_.convergence.push_back(Convergence{std::move(event), now_, -1});
    if (!sampling_) {
      sampling_ = true;
      push(now_ + c_.sample_interval, Kind::sample);
    }
  }

  const SimulationConfig& c_;
  Random rng_, network_rng_;
  StandInCrypto crypto_;
  StandInProofs proofs_;
  std::shared_ptr<protocol::MemberDirectory> directory_;
  EventQueue queue_;
  std::uint64_t seq_ = 0;
  Time now_ = 0;
  std::uint32_t acting_ = 0;
  Output out_;
  std::uint64_t digest_ = 0;

  std::vector<Member> members_;
  std::vector<std::uint32_t> member_by_handle_;  // directory handle -> member (UINT32_MAX: none)
  std::vector<std::uint32_t> joined_;  // members that joined, in order (seeds for later joiners)
  std::vector<InFlight> in_flight_;
  std::vector<std::uint32_t> free_in_flight_;
  std::vector<Transfer> transfers_;
  std::vector<std::uint32_t> free_transfers_;
  std::unordered_map<std::uint64_t, std::uint32_t> transfer_by_key_;

  std::vector<DatasetTruth> datasets_;
  std::unordered_map<protocol::DatasetId, std::uint32_t, DigestHash> dataset_index_;
  std::vector<std::vector<std::uint32_t>> holders_;  // per slot key index d*(k+m)+s
  std::vector<Time> loss_since_;
  std::vector<std::uint8_t> repair_seen_;
  std::uint32_t width_ = 0;  // k+m

  std::uint64_t type_messages_[256] = {}, type_bytes_[256] = {};
  std::vector<bool> partition_active_;
  bool sampling_ = false;
  Running detection_, repair_start_, repair_done_;
  SimulationReport report_;
};

// --- members ------------------------------------------------------------------

std::uint32_t Simulation::add_member() {
  const auto i = static_cast<std::uint32_t>(members_.size());
  Member m;
  std::uint8_t seed_bytes[16];
  const std::uint64_t words[2] = {c_.seed, i};
  std::memcpy(seed_bytes, words, 16);
  m.id = sha256(ByteView(seed_bytes, 16));
  m.slow = c_.slow_fraction > 0 && double(mix(c_.seed ^ 0x510e, i) >> 11) * 0x1.0p-53 < c_.slow_fraction;
  const protocol::MemberHandle h = directory_->intern(m.id);
  m.handle = h;
  if (h >= member_by_handle_.size()) member_by_handle_.resize(h + 1, UINT32_MAX);
  member_by_handle_[h] = i;
  members_.push_back(std::move(m));
  return i;
}

void Simulation::join(std::uint32_t i) {
  Member& m = members_[i];
  protocol::SelfIdentity self{m.id, crypto_.certificate_for(m.id), {}};
  m.node = std::make_unique<protocol::Node>(c_.protocol, std::move(self), crypto_, proofs_, mix(c_.seed, i + 1), directory_);
  m.state = State::up;
  std::vector<protocol::Contact> seeds;
  for (int tries = 0; tries < 8 && seeds.size() < 3 && !joined_.empty(); ++tries) {
    const std::uint32_t j = joined_[rng_.below(joined_.size())];
    if (!up(j) || j == i) continue;
    if (std::any_of(seeds.begin(), seeds.end(), [&](const protocol::Contact& s) { return s.id == members_[j].id; })) continue;
    seeds.push_back(protocol::Contact{members_[j].id, {}});
  }
  act(i).join(now_, seeds, out_);
  joined_.push_back(i);
  report_.joins++;
  trace(0x101, i);
  after_call(i);
  schedule_failures(i);
}

void Simulation::schedule_failures(std::uint32_t i) {
  Member& m = members_[i];
  if (c_.mttf > 0) {
    const Time at = now_ + Time(rng_.exponential(double(c_.mttf)));
    if (at < c_.duration) push(at, Kind::fail, i);
  }
  if (c_.churn_uptime > 0) {
    const Time at = now_ + Time(rng_.exponential(double(c_.churn_uptime)));
    if (at < c_.duration) push(at, Kind::churn_off, i, m.churn_generation);
  }
}

void Simulation::establish() {
  // Every member founds a community of its own (which records its signed
  // alive record in the shared directory), then takes all the others in.
  std::vector<MemberId> ids;
  for (std::uint32_t i = 0; i < c_.members; ++i) ids.push_back(members_[add_member()].id);
  for (std::uint32_t i = 0; i < c_.members; ++i) {
    Member& m = members_[i];
    protocol::SelfIdentity self{m.id, crypto_.certificate_for(m.id), {}};
    m.node = std::make_unique<protocol::Node>(c_.protocol, std::move(self), crypto_, proofs_, mix(c_.seed, i + 1), directory_);
    m.state = State::up;
    act(i).join(now_, {}, out_);
    out_.clear();
    joined_.push_back(i);
    report_.joins++;
  }
  // In point order: each node's ring then merges them instead of sorting.
  std::sort(ids.begin(), ids.end(), [&](const MemberId& a, const MemberId& b) {
    return directory_->point(directory_->find(a)) < directory_->point(directory_->find(b));
  });
  for (std::uint32_t i = 0; i < c_.members; ++i) {
    act(i).restore(now_, ids, out_);
    out_.clear();  // MemberChanged for everyone: nothing to score
    trace(0xe57, i);
    schedule_tick(i);
    schedule_failures(i);
  }
}

void Simulation::fail(std::uint32_t i, State how) {
  Member& m = members_[i];
  if (m.state == State::dead || m.state == State::left || m.state == State::waiting) return;
  if (how == State::left && m.state == State::up) {
    act(i).leave(now_, out_);
    after_call(i);
    report_.leaves++;
  } else {
    report_.failures++;
  }
  trace(how == State::left ? 0x1ea : 0xdead, i);
  m.state = how;
  m.failed_at = now_;
  m.churn_generation++;
  m.node.reset();  // its memory goes with it
  m.on_return.clear();
  const std::vector<std::uint64_t> stored = std::move(m.stored);
  m.stored.clear();
  for (std::uint64_t key : stored) remove_holder(std::uint32_t(key >> 8), std::uint32_t(key & 0xff), i);
  if (c_.replace_failed && how == State::dead) {
    const std::uint32_t fresh = add_member();
    push(now_, Kind::join, fresh);
  }
}

void Simulation::go_offline(std::uint32_t i) {
  Member& m = members_[i];
  if (m.state != State::up) return;
  m.state = State::offline;
  m.churn_generation++;
  report_.churn_offline++;
  trace(0x0ff, i);
  const Time at = now_ + std::max<Time>(1, Time(rng_.exponential(double(c_.churn_downtime))));
  if (at < c_.duration) push(at, Kind::churn_on, i, m.churn_generation);
}

void Simulation::come_back(std::uint32_t i) {
  Member& m = members_[i];
  if (m.state != State::offline) return;
  m.state = State::up;
  m.churn_generation++;
  trace(0x0b, i);
  // Its clock jumped: the next tick catches up on everything that came due.
  auto pending = std::move(m.on_return);
  m.on_return.clear();
  for (auto& event : pending) {
    act(i).on_local(now_, event, out_);
    after_call(i);
  }
  m.tick_at = kNever;
  act(i).on_tick(now_, out_);
  after_call(i);
  const Time at = now_ + Time(rng_.exponential(double(c_.churn_uptime)));
  if (at < c_.duration) push(at, Kind::churn_off, i, m.churn_generation);
}

void Simulation::schedule_tick(std::uint32_t i) {
  Member& m = members_[i];
  if (!m.node || m.state != State::up) return;
  schedule_tick(i, m.node->next_deadline());
}

void Simulation::schedule_tick(std::uint32_t i, Time next) {
  Member& m = members_[i];
  if (!m.node || m.state != State::up) return;
  if (next == protocol::kNever) return;
  if (next <= now_) next = now_ + 1;  // ticks are never re-entrant
  if (next < m.tick_at) {
    m.tick_at = next;
    push(next, Kind::tick, i);
  }
}

void Simulation::after_call(std::uint32_t i) {
  send_and_act(i);
  schedule_tick(i);
}

void Simulation::after_call(std::uint32_t i, Time next) {
  send_and_act(i);
  schedule_tick(i, next);
}

void Simulation::send_and_act(std::uint32_t i) {
  for (auto& message : out_.messages) send(i, std::move(message));
  // Actions lead to no call into a node (handle() only records them), so a
  // deadline read before them is still the node's.
  std::vector<protocol::Action> actions = std::move(out_.actions);
  out_.clear();
  for (auto& action : actions) handle(i, action);
}

bool Simulation::acting_holds(const protocol::DatasetId& d, std::uint32_t s) const {
  const std::uint32_t index = dataset_of(d);
  if (index == UINT32_MAX) return false;
  const auto& stored = members_[acting_].stored;
  return std::find(stored.begin(), stored.end(), slot_key(index, s)) != stored.end();
}

// Start loading what an event to come will touch (its node's state, the
// view's entry of the sender, the message), so that it arrives while the
// current event runs: at 10,000 members all of it is cold in the cache, and
// a node's turn began with a dozen misses one after another. In two stages,
// since each address is read from the memory the stage before loads: the
// event after next gets its node's state (first_stage), the next event the
// sender's entry in it and the message. A hint only: nothing it does changes
// the run. Measured on the 10,000-member run: docs/simulator.md,
// "Prefetching".
void Simulation::prefetch_for(const Event& next, bool first_stage) const {
  if (next.kind == Kind::deliver) {
    const InFlight& message = in_flight_[next.a];
    const Member& to = members_[message.to];
    if (!to.node) return;
    if (first_stage) {
      to.node->prefetch();
      return;
    }
    to.node->prefetch(members_[message.from].handle);
    const auto* bytes = reinterpret_cast<const char*>(message.payload.data());
    for (std::size_t at = 0; at < message.payload.size() && at < 512; at += 64) __builtin_prefetch(bytes + at);
  } else if (next.kind == Kind::tick) {
    const Member& m = members_[next.a];
    if (m.node) m.node->prefetch();  // again in the second stage: cheap once loaded
  }
}

// --- network ----------------------------------------------------------------------

void Simulation::send(std::uint32_t from, protocol::Outgoing&& message) {
  report_.messages++;
  report_.bytes += message.payload.size();
  if (message.payload.size() >= 2) {
    type_messages_[message.payload[1]]++;
    type_bytes_[message.payload[1]] += message.payload.size();
  }
  const std::uint32_t to = member_of(message.to);
  if (to == UINT32_MAX) {
    report_.dropped++;
    return;
  }
  bool lost = network_rng_.chance(c_.loss);
  if (c_.asymmetric_fraction > 0 &&
      double(mix(c_.seed ^ 0xa5a5, std::uint64_t(from) << 32 | to) >> 11) * 0x1.0p-53 < c_.asymmetric_fraction)
    lost = lost || network_rng_.chance(c_.asymmetric_loss);
  // After loss_until the same draws are made (the run up to then is the
  // same as without it), but nothing is lost at random any more.
  if (c_.loss_until > 0 && now_ >= c_.loss_until) lost = false;
  for (std::uint32_t p = 0; p < c_.partitions.size() && !lost; ++p)
    if (partition_active_[p] && side_of(from, c_.partitions[p], p) != side_of(to, c_.partitions[p], p)) lost = true;
  double delay = double(c_.latency) + network_rng_.exponential(double(c_.jitter));
  if (members_[from].slow || members_[to].slow) delay *= c_.slow_factor;
  if (lost) {
    report_.dropped++;
    return;
  }
  std::uint32_t slot;
  if (!free_in_flight_.empty()) {
    slot = free_in_flight_.back();
    free_in_flight_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(in_flight_.size());
    in_flight_.emplace_back();
  }
  in_flight_[slot] = InFlight{from, to, std::move(message.payload)};
  push(now_ + std::max<Time>(1, Time(delay)), Kind::deliver, slot);
}

void Simulation::deliver(std::uint32_t slot) {
  InFlight message = std::move(in_flight_[slot]);
  in_flight_[slot].payload = Bytes();
  free_in_flight_.push_back(slot);
  if (!up(message.to)) {
    report_.dropped++;
    return;
  }
  trace(std::uint64_t(message.from) << 32 | message.to, fast_hash(message.payload.data(), message.payload.size(), now_));
  act(message.to).on_message(now_, members_[message.from].id, message.payload, out_);
  after_call(message.to);
}

// --- data -------------------------------------------------------------------------

void Simulation::add_holder(std::uint32_t d, std::uint32_t s, std::uint32_t i) {
  auto& list = holders_[std::size_t(d) * width_ + s];
  if (std::find(list.begin(), list.end(), i) != list.end()) return;
  list.push_back(i);
  members_[i].stored.push_back(slot_key(d, s));
}

void Simulation::remove_holder(std::uint32_t d, std::uint32_t s, std::uint32_t i) {
  const std::size_t index = std::size_t(d) * width_ + s;
  auto& list = holders_[index];
  auto it = std::find(list.begin(), list.end(), i);
  if (it == list.end()) return;
  list.erase(it);
  std::erase(members_[i].stored, slot_key(d, s));
  DatasetTruth& dataset = datasets_[d];
  if (!list.empty() || !dataset.placed) return;
  report_.slots_lost++;
  loss_since_[index] = now_;
  repair_seen_[index] = 0;
  if (!dataset.lost && slots_present(d, false) < dataset.desc.k) {
    dataset.lost = true;
    report_.datasets_lost++;
    trace(0x1057, d);
  }
}

std::uint32_t Simulation::slots_present(std::uint32_t d, bool up_only, std::uint32_t except) const {
  std::uint32_t present = 0;
  for (std::uint32_t s = 0; s < width_; ++s) {
    if (s == except) continue;
    for (std::uint32_t i : holders_[std::size_t(d) * width_ + s])
      if (up_only ? up(i) : alive(i)) {
        ++present;
        break;
      }
  }
  return present;
}

void Simulation::publish(std::uint32_t d) {
  // A random member that is up publishes it (it holds every slot until placed).
  std::uint32_t publisher = UINT32_MAX;
  for (int tries = 0; tries < 64 && publisher == UINT32_MAX; ++tries) {
    const std::uint32_t j = joined_[rng_.below(joined_.size())];
    if (up(j)) publisher = j;
  }
  if (publisher == UINT32_MAX) return;
  DatasetTruth& dataset = datasets_[d];
  dataset.publisher = publisher;
  dataset.published = true;
  trace(0x9b, std::uint64_t(d) << 32 | publisher);
  act(publisher).on_local(now_, protocol::DatasetPublished{dataset.desc}, out_);
  // A publisher that places a slot on itself keeps it: no fetch happens.
  if (auto view = members_[publisher].node->dataset(dataset.desc.id); view && view->own_slot && view->own_slot_stored)
    add_holder(d, *view->own_slot, publisher);
  after_call(publisher);
}

void Simulation::handle(std::uint32_t i, protocol::Action& action) {
  if (auto* fetch = std::get_if<protocol::FetchSlot>(&action)) {
    const std::uint32_t d = dataset_of(fetch->dataset.id);
    if (d == UINT32_MAX || fetch->slot >= width_) return;
    report_.fetches++;
    if (datasets_[d].placed) report_.late_fetches++;
    Transfer t{i, d, fetch->slot, false, false, {}};
    for (const MemberId& source : fetch->sources)
      if (std::uint32_t j = member_of(source); j != UINT32_MAX) t.sources.push_back(j);
    const Time took = Time(1000.0 * double(c_.slot_bytes) / c_.bandwidth_bytes_per_second) + c_.latency;
    std::uint32_t index;
    if (!free_transfers_.empty()) {
      index = free_transfers_.back();
      free_transfers_.pop_back();
      transfers_[index] = std::move(t);
    } else {
      index = static_cast<std::uint32_t>(transfers_.size());
      transfers_.push_back(std::move(t));
    }
    transfer_by_key_[transfer_key(i, d, fetch->slot)] = index;
    trace(0xfe7c, transfer_key(i, d, fetch->slot));
    push(now_ + took, Kind::transfer, index);
  } else if (auto* rebuild = std::get_if<protocol::RebuildSlot>(&action)) {
    const std::uint32_t d = dataset_of(rebuild->dataset.id);
    if (d == UINT32_MAX || rebuild->slot >= width_) return;
    report_.repairs_started++;
    const std::size_t index = std::size_t(d) * width_ + rebuild->slot;
    const auto& list = holders_[index];
    if (std::any_of(list.begin(), list.end(), [&](std::uint32_t j) { return up(j); })) report_.needless_repairs++;
    else if (!list.empty()) report_.transient_repairs++;
    else if (loss_since_[index] >= 0 && !repair_seen_[index]) {
      repair_seen_[index] = 1;
      repair_start_.add(double(now_ - loss_since_[index]) / 1000);
    }
    const Time took = Time(1000.0 * double(c_.slot_bytes) * datasets_[d].desc.k / c_.bandwidth_bytes_per_second) + c_.latency;
    Transfer t{i, d, rebuild->slot, true, false, {}};
    std::uint32_t slot;
    if (!free_transfers_.empty()) {
      slot = free_transfers_.back();
      free_transfers_.pop_back();
      transfers_[slot] = std::move(t);
    } else {
      slot = static_cast<std::uint32_t>(transfers_.size());
      transfers_.push_back(std::move(t));
    }
    transfer_by_key_[transfer_key(i, d, rebuild->slot)] = slot;
    trace(0x4eb, transfer_key(i, d, rebuild->slot));
    push(now_ + took, Kind::transfer, slot);
  } else if (auto* drop = std::get_if<protocol::DropSlot>(&action)) {
    const std::uint32_t d = dataset_of(drop->dataset);
    if (d == UINT32_MAX || drop->slot >= width_) return;
    trace(0xd409, transfer_key(i, d, drop->slot));
    report_.drops++;
    remove_holder(d, drop->slot, i);
  } else if (auto* cancel = std::get_if<protocol::CancelSlot>(&action)) {
    const std::uint32_t d = dataset_of(cancel->dataset);
    if (d == UINT32_MAX) return;
    auto it = transfer_by_key_.find(transfer_key(i, d, cancel->slot));
    if (it == transfer_by_key_.end()) return;
    Transfer& t = transfers_[it->second];
    if (t.rebuild) report_.repairs_cancelled++;
    t.cancelled = true;
    transfer_by_key_.erase(it);
    trace(0xca9c, transfer_key(i, d, cancel->slot));
  } else if (auto* changed = std::get_if<protocol::MemberChanged>(&action)) {
    const std::uint32_t j = member_of(changed->member);
    if (j == UINT32_MAX) return;
    Member& target = members_[j];
    if (changed->status == protocol::MemberStatus::dead) {
      if (target.state == State::dead) {
        if (!target.death_detected) {
          target.death_detected = true;
          report_.deaths_detected++;
          detection_.add(double(now_ - target.failed_at) / 1000);
        }
      } else if (target.state == State::up && !target.falsely_dead) {
        target.falsely_dead = true;
        report_.false_deaths++;
      }
    } else if (changed->status == protocol::MemberStatus::suspect) {
      if (target.state == State::up) report_.false_suspicions++;
    } else if (changed->status == protocol::MemberStatus::alive) {
      target.falsely_dead = false;
    }
  }
}

void Simulation::transfer_done(std::uint32_t index) {
  Transfer t = std::move(transfers_[index]);
  free_transfers_.push_back(index);
  if (t.cancelled) return;
  transfer_by_key_.erase(transfer_key(t.member, t.dataset, t.slot));
  Member& m = members_[t.member];
  if (m.state == State::dead || m.state == State::left || !m.node) return;
  const DatasetTruth& dataset = datasets_[t.dataset];
  bool ok;
  if (t.rebuild) {
    ok = slots_present(t.dataset, true, t.slot) >= dataset.desc.k;
  } else {
    const auto& list = holders_[std::size_t(t.dataset) * width_ + t.slot];
    ok = std::any_of(t.sources.begin(), t.sources.end(), [&](std::uint32_t j) {
      return up(j) && (j == dataset.publisher || std::find(list.begin(), list.end(), j) != list.end());
    });
  }
  if (m.state == State::offline) ok = false;
  trace(0xd0e, std::uint64_t(index) << 1 | ok);
  protocol::LocalEvent event;
  if (ok) {
    const std::size_t key = std::size_t(t.dataset) * width_ + t.slot;
    const bool already = std::any_of(holders_[key].begin(), holders_[key].end(), [&](std::uint32_t j) { return alive(j); });
    if (t.rebuild) {
      report_.repair_bytes += c_.slot_bytes * dataset.desc.k;
      if (already) report_.duplicate_rebuilds++;
    } else {
      report_.fetch_bytes += c_.slot_bytes;
    }
    add_holder(t.dataset, t.slot, t.member);
    if (loss_since_[key] >= 0) {
      report_.slots_rebuilt++;
      repair_done_.add(double(now_ - loss_since_[key]) / 1000);
      loss_since_[key] = -1;
    }
    DatasetTruth& truth = datasets_[t.dataset];
    if (!truth.placed && slots_present(t.dataset, false) == width_) truth.placed = true;
    event = protocol::SlotStored{dataset.desc.id, t.slot};
  } else {
    (t.rebuild ? report_.repairs_failed : report_.fetches_failed)++;
    event = protocol::SlotFailed{dataset.desc.id, t.slot};
  }
  if (m.state == State::offline) {
    m.on_return.push_back(event);
    return;
  }
  act(t.member).on_local(now_, event, out_);
  after_call(t.member);
}

// --- measurement --------------------------------------------------------------------

void Simulation::sample() {
  std::size_t up_count = 0;
  for (const Member& m : members_) up_count += m.state == State::up;
  bool agree = true;
  for (const Member& m : members_)
    if (m.state == State::up && m.node->live_members() != up_count) {
      agree = false;
      break;
    }
  bool open = false;
  for (Convergence& c : report_.convergence) {
    if (c.converged_after >= 0) continue;
    if (agree) c.converged_after = now_ - c.at;
    else open = true;
  }
  sampling_ = open;
  if (open) push(now_ + c_.sample_interval, Kind::sample);
}

SimulationReport Simulation::run() {
  const auto started = std::chrono::steady_clock::now();
  width_ = std::uint32_t(c_.k + c_.m);
  members_.reserve(c_.members * 2);
  if (c_.established) {
    establish();
  } else {
    for (std::uint32_t i = 0; i < c_.members; ++i) {
      add_member();
      push(c_.members > 1 ? Time(double(c_.join_spread) * i / (c_.members - 1)) : 0, Kind::join, i);
    }
    if (c_.join_spread < c_.duration) push(c_.join_spread, Kind::sample, 0, 1);  // opens the "joins" watch
  }
  if (c_.join_late_fraction > 0) push(c_.join_late_at, Kind::join_late);
  datasets_.resize(c_.datasets);
  holders_.resize(std::size_t(c_.datasets) * width_);
  loss_since_.assign(holders_.size(), -1);
  repair_seen_.assign(holders_.size(), 0);
  for (std::uint32_t d = 0; d < c_.datasets; ++d) {
    DatasetTruth& dataset = datasets_[d];
    std::uint8_t seed_bytes[16];
    const std::uint64_t words[2] = {c_.seed ^ 0xda7a, d};
    std::memcpy(seed_bytes, words, 16);
    dataset.desc.id = sha256(ByteView(seed_bytes, 16));
    dataset.desc.k = std::uint8_t(c_.k);
    dataset.desc.m = std::uint8_t(c_.m);
    dataset.desc.l0 = std::uint8_t(c_.l0);
    dataset_index_[dataset.desc.id] = d;
    push(c_.publish_at + (c_.datasets > 1 ? Time(double(c_.publish_spread) * d / (c_.datasets - 1)) : 0), Kind::publish, d);
  }
  if (c_.correlated_fraction > 0) push(c_.correlated_at, Kind::correlated);
  if (c_.leave_fraction > 0) push(c_.leave_at, Kind::leave);
  partition_active_.assign(c_.partitions.size(), false);
  for (std::uint32_t p = 0; p < c_.partitions.size(); ++p) {
    push(c_.partitions[p].start, Kind::partition_start, p);
    push(c_.partitions[p].start + c_.partitions[p].duration, Kind::partition_end, p);
  }

  while (!queue_.empty()) {
    const Event e = queue_.top();
    if (e.time > c_.duration) break;
    queue_.pop();
    if (!queue_.empty()) prefetch_for(queue_.top(), false);
    if (const Event* after = queue_.second()) prefetch_for(*after, true);
    now_ = e.time;
    report_.events++;
    if (c_.progress && (report_.events & 0xfffff) == 0) c_.progress(now_, report_.events);
    switch (e.kind) {
      case Kind::deliver: deliver(e.a); break;
      case Kind::tick: {
        Member& m = members_[e.a];
        if (m.tick_at != e.time || m.state != State::up) break;
        m.tick_at = kNever;
        // A deadline that moved later since this tick was queued (an Ack
        // answered the probe whose timeout it was): nothing is due, so the
        // node is not called, only woken at its new deadline.
        if (const Time due = m.node->next_deadline(); due > now_) {
          if (due != protocol::kNever) {
            m.tick_at = due;
            push(due, Kind::tick, e.a);
          }
          break;
        }
        act(e.a).on_tick(now_, out_);
        const Time next = m.node->next_deadline();
        if (next <= now_) report_.deadline_stalls++;
        after_call(e.a, next);
        break;
      }
      case Kind::transfer: transfer_done(e.a); break;
      case Kind::join: join(e.a); break;
      case Kind::join_late: {
        const auto count = std::uint32_t(std::lround(c_.join_late_fraction * c_.members));
        for (std::uint32_t n = 0; n < count; ++n) join(add_member());
        watch("late-joins");
        break;
      }
      case Kind::publish: publish(e.a); break;
      case Kind::fail: fail(e.a, State::dead); break;
      case Kind::churn_off:
        if (members_[e.a].churn_generation == e.b) go_offline(e.a);
        break;
      case Kind::churn_on:
        if (members_[e.a].churn_generation == e.b) come_back(e.a);
        break;
      case Kind::correlated:
      case Kind::leave: {
        const double fraction = e.kind == Kind::leave ? c_.leave_fraction : c_.correlated_fraction;
        std::vector<std::uint32_t> victims;
        for (std::uint32_t i = 0; i < members_.size(); ++i)
          if (alive(i) && rng_.chance(fraction)) victims.push_back(i);
        for (std::uint32_t i : victims) fail(i, e.kind == Kind::leave ? State::left : State::dead);
        watch(e.kind == Kind::leave ? "leaves" : "correlated-failure");
        break;
      }
      case Kind::partition_start: partition_active_[e.a] = true; break;
      case Kind::partition_end:
        partition_active_[e.a] = false;
        watch("partition-heal");
        break;
      case Kind::sample:
        if (e.b == 1) watch("joins");
        else sample();
        break;
    }
  }
  now_ = std::min(now_, c_.duration);

  // The end state, scored.
  SimulationReport& r = report_;
  r.members = c_.members;
  r.datasets = c_.datasets;
  r.simulated = c_.duration;
  r.proofs_made = proofs_.made();
  std::size_t up_count = 0;
  for (const Member& m : members_) up_count += m.state == State::up;
  r.views_agree = true;
  std::size_t first = SIZE_MAX;
  for (const Member& m : members_) {
    if (m.state != State::up) continue;
    const std::size_t live = m.node->live_members();
    if (first == SIZE_MAX) first = live;
    if (live != first) r.views_agree = false;
  }
  r.views_true = r.views_agree && first == up_count;
  for (std::uint32_t d = 0; d < datasets_.size(); ++d) {
    if (datasets_[d].placed) r.datasets_placed++;
    else r.datasets_unplaced++;
    if (!datasets_[d].placed || datasets_[d].lost) continue;
    for (std::uint32_t s = 0; s < width_; ++s) {
      std::uint32_t alive_holders = 0;
      for (std::uint32_t i : holders_[std::size_t(d) * width_ + s]) alive_holders += alive(i);
      if (alive_holders > 1) r.slots_doubly_held++;
      if (alive_holders == 0) r.slots_unrepaired++;
    }
  }
  const double member_seconds = double(c_.members) * double(c_.duration) / 1000.0;
  r.messages_per_member_second = double(r.messages) / member_seconds;
  r.bytes_per_member_second = double(r.bytes) / member_seconds;
  r.bytes_per_member_second_real_proofs =
      (double(r.bytes) + double(r.proofs_made) * double(c_.real_proof_bytes > 8 ? c_.real_proof_bytes - 8 : 0)) / member_seconds;
  r.detection_mean_s = detection_.mean();
  r.detection_max_s = detection_.max;
  r.repair_start_mean_s = repair_start_.mean();
  r.repair_start_max_s = repair_start_.max;
  r.repair_done_mean_s = repair_done_.mean();
  r.repair_done_max_s = repair_done_.max;
  r.trace_digest = digest_;
  for (int t = 0; t < 256; ++t)
    if (type_messages_[t] > 0)
      r.by_type.push_back({protocol::message_type_name(protocol::MessageType(t)), type_messages_[t], type_bytes_[t]});
  std::stable_sort(r.by_type.begin(), r.by_type.end(), [](const auto& a, const auto& b) { return a.messages > b.messages; });
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  r.peak_memory_bytes = std::uint64_t(usage.ru_maxrss) * 1024;
  return r;
}

}  // namespace

Status check(const SimulationConfig& c) {
  if (c.members < 1 || c.members > kMaxMembers) return make_error(Errc::usage, "members must be between 1 and {} (got {})", kMaxMembers, c.members);
  if (c.datasets > kMaxDatasets) return make_error(Errc::usage, "datasets must be at most {} (got {})", kMaxDatasets, c.datasets);
  if (c.k < 1 || c.m < 0 || c.k + c.m > 255) return make_error(Errc::usage, "k+m must be between 1 and 255 with k >= 1 (got {}+{})", c.k, c.m);
  if (c.l0 < 1 || c.l0 > std::max(1, c.m)) return make_error(Errc::usage, "l0 must be between 1 and m (got {})", c.l0);
  if (std::uint32_t(c.k + c.m) > c.members) return make_error(Errc::usage, "k+m={} slots need at least as many members (got {})", c.k + c.m, c.members);
  if (c.duration <= 0) return make_error(Errc::usage, "the duration must be positive");
  if (!(c.join_late_fraction >= 0 && c.join_late_fraction <= 10) || c.join_late_at < 0)
    return make_error(Errc::usage, "late joins need a fraction between 0 and 10 and a time that is not negative");
  auto fraction = [](double x) { return std::isfinite(x) && x >= 0 && x <= 1; };
  if (!fraction(c.loss) || !fraction(c.asymmetric_fraction) || !fraction(c.asymmetric_loss) || !fraction(c.slow_fraction) ||
      !fraction(c.correlated_fraction) || !fraction(c.leave_fraction))
    return make_error(Errc::usage, "loss rates and fractions must be between 0 and 1");
  for (const Partition& p : c.partitions)
    if (!fraction(p.fraction) || p.start < 0 || p.duration <= 0) return make_error(Errc::usage, "a partition needs a start, a positive duration and a fraction in [0, 1]");
  if (!(c.slow_factor >= 1 && c.slow_factor <= 1000)) return make_error(Errc::usage, "the slow factor must be between 1 and 1000");
  if (!(c.bandwidth_bytes_per_second > 0) || c.slot_bytes == 0) return make_error(Errc::usage, "bandwidth and slot size must be positive");
  if (c.latency < 0 || c.jitter < 0 || c.sample_interval <= 0 || c.join_spread < 0 || c.publish_spread < 0 || c.publish_at < 0)
    return make_error(Errc::usage, "times must not be negative");
  if (c.mttf < 0 || c.churn_uptime < 0 || c.churn_downtime <= 0) return make_error(Errc::usage, "failure times must be positive");
  return {};
}

Result<SimulationReport> simulate(const SimulationConfig& config) {
  CODEX_TRY(check(config));
  Simulation simulation(config);
  return simulation.run();
}

}  // namespace codex::sim
