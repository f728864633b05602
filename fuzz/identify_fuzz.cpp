// Identify messages from peers: bounded decoding; what decodes survives a
// re-encode and decode unchanged.
#include <cstdlib>

#include "codex/net/identify.hpp"
#include "codex/net/multiaddr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex::net;
  auto info = identify::decode(codex::ByteView(data, size));
  if (!info) return 0;
  if (info->listen_addrs.size() > identify::kMaxEntries || info->protocols.size() > identify::kMaxEntries) std::abort();
  auto again = identify::decode(identify::encode(*info));
  if (!again || !(*again == *info)) std::abort();
  for (const auto& a : info->listen_addrs) (void)Multiaddr::from_bytes(a);
  return 0;
}
