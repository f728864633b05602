// The protocol core (codex::protocol::Node, protocol/) behind the daemon's
// ProtocolCore seam: member ids are the peers' Ed25519 keys, signatures and
// certificates are the real ones (Ed25519Crypto), storage proofs are made
// and checked over the repository (RepositoryProofs). The core's membership
// (SWIM) runs over /codex/altruistic/1.0.0; members it learns of are handed
// to the daemon to dial. Slot transfers the core asks for (FetchSlot,
// RebuildSlot) are not carried out yet: they are logged and answered with
// SlotFailed so the core looks elsewhere; DropSlot and CancelSlot are logged.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "codex/community.hpp"
#include "codex/daemon/log.hpp"
#include "codex/daemon/protocol_core.hpp"
#include "codex/identity.hpp"
#include "codex/repository.hpp"

namespace codex::daemon {

struct CoreHooks {
  // A member's standing or addresses changed (binary multiaddrs).
  std::function<void(const PeerId& member, const std::vector<Bytes>& addresses, bool alive)> member_changed;
};

std::unique_ptr<ProtocolCore> make_protocol_core(const Ed25519Key& key, const MembershipCertificate& certificate,
                                                 Repository& repository, std::vector<Bytes> addresses,
                                                 const Log& log, CoreHooks hooks);

}  // namespace codex::daemon
