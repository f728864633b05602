// Identify protobuf codec (libp2p/specs identify/README.md).
#include "codex/net/identify.hpp"

#include "protobuf.hpp"

namespace codex::net::identify {

Bytes encode(const Info& info) {
  Bytes out;
  if (!info.public_key.empty()) pb::put_bytes_field(out, 1, info.public_key);
  for (const auto& a : info.listen_addrs) pb::put_bytes_field(out, 2, a);
  for (const auto& p : info.protocols) pb::put_string_field(out, 3, p);
  if (!info.observed_addr.empty()) pb::put_bytes_field(out, 4, info.observed_addr);
  pb::put_string_field(out, 5, info.protocol_version);
  pb::put_string_field(out, 6, info.agent_version);
  return out;
}

Result<Info> decode(ByteView message) {
  if (message.size() > kMaxMessage)
    return make_error(Errc::corrupt, "identify message of {} bytes is over {}", message.size(), kMaxMessage);
  Info info;
  pb::Reader r(message);
  while (!r.done()) {
    CODEX_TRY_ASSIGN(pb::Field f, r.next());
    if (f.number >= 1 && f.number <= 6 && f.wire != pb::kLengthDelimited)
      return make_error(Errc::corrupt, "identify field {} has the wrong wire type", f.number);
    const std::string text(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
    switch (f.number) {
      case 1: info.public_key.assign(f.bytes.begin(), f.bytes.end()); break;
      case 2:
        if (info.listen_addrs.size() >= kMaxEntries) return make_error(Errc::corrupt, "identify: too many addresses");
        info.listen_addrs.emplace_back(f.bytes.begin(), f.bytes.end());
        break;
      case 3:
        if (info.protocols.size() >= kMaxEntries) return make_error(Errc::corrupt, "identify: too many protocols");
        info.protocols.push_back(text);
        break;
      case 4: info.observed_addr.assign(f.bytes.begin(), f.bytes.end()); break;
      case 5: info.protocol_version = text; break;
      case 6: info.agent_version = text; break;
      default: break;
    }
  }
  return info;
}

}  // namespace codex::net::identify
