// Protocol messages between members (protocol core): what decodes
// re-encodes to bytes that decode and encode again to the same bytes.
#include "codex/protocol/messages.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  auto message = protocol::decode(input);
  if (!message) return;
  const Bytes bytes = protocol::encode(*message);
  auto back = protocol::decode(bytes);
  CODEX_FUZZ_CHECK(back);
  CODEX_FUZZ_CHECK(protocol::encode(*back) == bytes);
}
