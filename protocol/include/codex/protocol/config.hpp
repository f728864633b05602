// Every tunable of the protocol core, with the defaults docs/protocol.md
// justifies for a storage community (section "Parameters"). Times are in
// milliseconds. The defaults are chosen so that a member sends well under one
// message per minute in steady state at 10,000 members: failure detection
// within hours is what durability needs (the durability model shows that a
// member's mean time to failure, not detection delay, dominates dataset loss),
// so the one-second probes of LAN service discovery would buy nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "codex/protocol/types.hpp"

namespace codex::protocol {

struct Config {
  // --- Membership: SWIM with Lifeguard (memberlist's formulas) ----------
  Time probe_interval = 30 * kMinute;  // one probe of one member per interval (docs/protocol.md: why)
  Time probe_timeout = 30 * kSecond;   // direct ack deadline, scaled by local health
  std::uint32_t indirect_checks = 3;   // members asked to probe on our behalf
  std::uint32_t suspicion_multiplier = 4;           // min timeout = mult * log10(N) * probe
  std::uint32_t suspicion_max_timeout_multiplier = 6;  // start at max = this * min
  std::uint32_t retransmit_multiplier = 3;  // each update piggybacked mult * ceil(log10(N+1)) times
  std::uint32_t max_piggyback = 8;          // updates carried per message
  std::uint32_t awareness_max = 8;          // Lifeguard local health: timeouts scale up to (1 + this)
  // Dedicated gossip rounds: news goes to gossip_fanout members at once,
  // then every interval while updates wait (0: piggyback only, SWIM's
  // original dissemination, which costs no extra messages; each record
  // would cost every member about its retransmission count in messages,
  // docs/protocol.md, "Parameters"). LAN profile (memberlist, Serf): 200 ms.
  Time gossip_interval = 0;
  std::uint32_t gossip_fanout = 2;
  Time sync_interval = kHour;  // push-pull anti-entropy with one random member
  std::uint32_t sync_buckets = 256;  // digest buckets exchanged (power of two, <= 256)

  // --- Heartbeats and audits ---------------------------------------------
  Time heartbeat_interval = kDay;      // one heartbeat to each watcher per interval
  // The holder of a slot heartbeats this many of the dataset's other holders
  // (those of the slots after its own, in slot order), not all of them:
  // loss_confirmations of them must agree on a silent holder, one more
  // covers a watcher that is itself lost or cut off (0: every co-holder).
  std::uint32_t heartbeat_watchers = 3;
  std::uint32_t heartbeat_proofs = 1;  // storage proofs per heartbeat (rotating sample)
  std::uint32_t proof_check_percent = 100;  // share of received proofs checked
  std::uint32_t suspect_after_missed = 1;   // missed heartbeats before a slot is suspect
  std::uint32_t lost_after_missed = 2;      // ... and before it is lost (> suspect_after_missed)
  std::uint32_t loss_confirmations = 2;     // watchers agreeing before repair starts
  // A publisher re-sends an Assign its holder has not acknowledged (with a
  // heartbeat) after this, doubling the wait each time, up to assign_tries
  // re-sends; after that the dataset's watchers find the slot missing.
  Time assign_retry = 10 * kMinute;
  std::uint32_t assign_tries = 6;

  // --- Repair --------------------------------------------------------------
  std::uint32_t repair_candidates = 3;  // ranked members asked to rebuild a lost slot
  Time repair_backoff = 2 * kMinute;    // rank r waits r * this before claiming
  Time repair_timeout = 6 * kHour;      // a claimed repair not heartbeating by then is re-requested
  std::uint32_t max_concurrent_repairs = 2;

  // --- Bounds on hostile input --------------------------------------------
  std::size_t max_message_size = 4u << 20;
  std::uint32_t max_list_entries = 65536;
};

}  // namespace codex::protocol
