// The two standard libp2p services every Host serves to every peer:
// /ipfs/ping/1.0.0 (the dialler sends 32 random bytes, the listener echoes
// them) and /ipfs/id/1.0.0 (the listener sends one length-prefixed Identify
// protobuf and closes the stream). The Identify codec is pure and fuzzed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::net {

namespace ping {
inline constexpr std::string_view kProtocolId = "/ipfs/ping/1.0.0";
inline constexpr std::size_t kSize = 32;
}  // namespace ping

namespace identify {
inline constexpr std::string_view kProtocolId = "/ipfs/id/1.0.0";
inline constexpr std::string_view kProtocolVersion = "ipfs/0.1.0";
inline constexpr std::size_t kMaxMessage = 16 * 1024;
inline constexpr std::size_t kMaxEntries = 128;  // addresses or protocols

// Field numbers of libp2p's Identify message.
struct Info {
  std::string protocol_version;          // 5
  std::string agent_version;             // 6
  Bytes public_key;                      // 1: protobuf PublicKey
  std::vector<Bytes> listen_addrs;       // 2: binary multiaddrs
  Bytes observed_addr;                   // 4: binary multiaddr
  std::vector<std::string> protocols;    // 3
  bool operator==(const Info&) const = default;
};

Bytes encode(const Info& info);
// Bounded: at most kMaxMessage bytes, kMaxEntries addresses and protocols;
// unknown fields are skipped (signedPeerRecord, 8, among them).
Result<Info> decode(ByteView message);
}  // namespace identify

}  // namespace codex::net
