// Block-exchange messages from peers (daemon): what decodes re-encodes to a
// message that decodes to the same, and checking a delivery against its CID
// and proof never crashes.
#include "codex/daemon/blockexc_message.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  auto message = daemon::blockexc::decode(input);
  if (!message) return;
  for (const auto& delivery : message->payload) (void)daemon::blockexc::verify_delivery(delivery);
  auto back = daemon::blockexc::decode(daemon::blockexc::encode(*message));
  CODEX_FUZZ_CHECK(back && *back == *message);
}
