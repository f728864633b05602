// Identify protobuf codec (libp2p/specs identify/README.md).
#include "codex/net/identify.hpp"

#include <array>

#include "codex/protobuf.hpp"

namespace codex::net::identify {
namespace {

constexpr std::array<std::string_view, 7> kFieldNames = {"",         "publicKey",       "listenAddrs", "protocols",
                                                         "observedAddr", "protocolVersion", "agentVersion"};
const protobuf::Schema kIdentify{"identify message", kFieldNames};

}  // namespace

Bytes encode(const Info& info) {
  protobuf::Writer w;
  if (!info.public_key.empty()) w.bytes(1, info.public_key);
  for (const auto& a : info.listen_addrs) w.bytes(2, a);
  for (const auto& p : info.protocols) w.string(3, p);
  if (!info.observed_addr.empty()) w.bytes(4, info.observed_addr);
  w.string(5, info.protocol_version);
  w.string(6, info.agent_version);
  return w.take();
}

Result<Info> decode(ByteView message) {
  if (message.size() > kMaxMessage)
    return make_error(Errc::corrupt, "identify message of {} bytes is over {}", message.size(), kMaxMessage);
  Info info;
  // Lenient varints: other implementations' encoders are not ours to bind.
  protobuf::Reader r(message, 0, kIdentify, protobuf::Encoding::lenient);
  while (!r.done()) {
    CODEX_TRY_ASSIGN(protobuf::Field f, r.next());
    if (!r.schema().known(f.number)) continue;
    CODEX_TRY_ASSIGN(ByteView bytes, r.bytes(f));
    const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    switch (f.number) {
      case 1: info.public_key.assign(bytes.begin(), bytes.end()); break;
      case 2:
        if (info.listen_addrs.size() >= kMaxEntries) return make_error(Errc::corrupt, "identify: too many addresses");
        info.listen_addrs.emplace_back(bytes.begin(), bytes.end());
        break;
      case 3:
        if (info.protocols.size() >= kMaxEntries) return make_error(Errc::corrupt, "identify: too many protocols");
        info.protocols.push_back(text);
        break;
      case 4: info.observed_addr.assign(bytes.begin(), bytes.end()); break;
      case 5: info.protocol_version = text; break;
      case 6: info.agent_version = text; break;
      default: break;
    }
  }
  return info;
}

}  // namespace codex::net::identify
