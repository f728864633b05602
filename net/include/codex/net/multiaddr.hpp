// Multiaddrs: self-describing network addresses, in the shapes this project
// dials and listens on: /ip4|/ip6|/dns|/dns4|/dns6 <host> /tcp <port>
// [/p2p <peer id>]. Text form for people and config files; binary form (the
// multicodec-tagged encoding) for identify. Anything else is refused with an
// error naming the part that was not understood.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codex/bytes.hpp"
#include "codex/error.hpp"
#include "codex/identity.hpp"

namespace codex::net {

class Multiaddr {
 public:
  enum class HostKind { ip4, ip6, dns, dns4, dns6 };

  static Result<Multiaddr> parse(std::string_view text);
  static Result<Multiaddr> from_bytes(ByteView bytes);
  // An IP address (v4 or v6, in its usual text) and a TCP port.
  static Result<Multiaddr> tcp(std::string_view ip, std::uint16_t port);

  std::string to_string() const;
  Bytes to_bytes() const;

  HostKind kind() const { return kind_; }
  bool is_dns() const { return kind_ != HostKind::ip4 && kind_ != HostKind::ip6; }
  const std::string& host() const { return host_; }  // IP text or DNS name
  std::uint16_t port() const { return port_; }
  const std::optional<PeerId>& peer() const { return peer_; }
  Multiaddr with_peer(const PeerId& peer) const;
  Multiaddr without_peer() const;

  bool operator==(const Multiaddr&) const = default;

 private:
  HostKind kind_ = HostKind::ip4;
  std::string host_;
  std::uint16_t port_ = 0;
  std::optional<PeerId> peer_;
};

}  // namespace codex::net
