// The protocol core (codex::protocol::Node, protocol/) at work in a member's
// daemon, behind the daemon's ProtocolCore seam:
//  - member ids are the peers' Ed25519 keys; signatures and certificates are
//    the real ones (Ed25519Crypto); storage proofs are made and checked over
//    the repository (RepositoryProofs), and a proof that cannot be made
//    because the slot is damaged or gone is reported to the core at once;
//  - the core's membership runs over /codex/altruistic/1.0.0; members it
//    learns of are dialled;
//  - the actions it decides (FetchSlot, RebuildSlot, DropSlot, CancelSlot)
//    are carried out by the slot executor (slot_executor.hpp) over block
//    exchange and libcore's decoder, and reported back (SlotStored/SlotFailed);
//  - datasets put into the repository are published on request (codex-put);
//    a member restarted with slots in its repository asks the community
//    whether each is still its own: it resumes heartbeating a slot nobody
//    else holds, and drops one whose new holder is heartbeating it;
//  - the community's view of a dataset is gathered from the members
//    (/codex/community-view/1.0.0): which member holds each slot, the
//    watchers' verdict on it, who is rebuilding it;
//  - control commands: publish, dataset, datasets, jobs, repair.
// Parameters are the daemon's Config (gossip.conf).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "codex/community.hpp"
#include "codex/daemon/config.hpp"
#include "codex/daemon/log.hpp"
#include "codex/daemon/protocol_core.hpp"
#include "codex/identity.hpp"
#include "codex/net/host.hpp"
#include "codex/repository.hpp"

namespace codex::daemon {

inline constexpr std::string_view kCommunityViewProtocol = "/codex/community-view/1.0.0";

// What the daemon lends the core: its event loop, repository and log,
// streams and dials over its Host, its admitted members, and a way to send
// what the core produces outside a daemon callback (finished transfers).
// Plain functions, so the daemon keeps its internals to itself. Every
// function is called on the io_context's thread.
struct CoreLink {
  asio::io_context* io = nullptr;
  Repository* repository = nullptr;
  const Log* log = nullptr;
  std::filesystem::path dir;  // the repository directory (repairs keep scratch space under it)
  // A stream to an admitted member speaking `protocol` (dialled through its known addresses).
  std::function<asio::awaitable<Result<std::shared_ptr<net::Stream>>>(const PeerId&, std::string_view protocol)>
      open_stream;
  // A member's addresses (binary multiaddrs as it announced them) and standing
  // changed: remember them and connect when it is alive.
  std::function<void(const PeerId&, const std::vector<Bytes>& addresses, bool alive)> member_changed;
  // Serve `protocol` to admitted members.
  std::function<void(std::string protocol, net::Host::Handler)> handle;
  // Members connected and admitted both ways, sorted.
  std::function<std::vector<PeerId>()> usable_peers;
  // Cut off a member that sent something wrong (logged).
  std::function<void(const PeerId&, const std::string& why)> misbehaved;
  // Send the messages and do the actions of an output made outside a daemon callback.
  std::function<void(CoreOutput)> apply;
  // This node's listening addresses, for its member record.
  std::function<std::vector<Bytes>()> listen_addresses;
};

std::unique_ptr<ProtocolCore> make_protocol_core(CoreLink link, const Config& config, const Ed25519Key& key,
                                                 const MembershipCertificate& certificate);

}  // namespace codex::daemon
