// Multiaddrs from peers (binary, identify) and config (text): parsing never
// crashes, and every accepted address round-trips through both forms.
#include <cstdlib>
#include <string_view>

#include "codex/net/multiaddr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex::net;
  if (auto m = Multiaddr::from_bytes(codex::ByteView(data, size)); m) {
    auto text = Multiaddr::parse(m->to_string());
    if (!text || !(*text == *m)) std::abort();
  }
  if (auto m = Multiaddr::parse(std::string_view(reinterpret_cast<const char*>(data), size)); m) {
    auto bin = Multiaddr::from_bytes(m->to_bytes());
    if (!bin || !(*bin == *m)) std::abort();
  }
  return 0;
}
