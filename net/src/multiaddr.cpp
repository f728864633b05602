// Multiaddr text and binary forms (multiformats/multiaddr). Protocol codes:
// ip4 4, tcp 6, ip6 41, dns 53, dns4 54, dns6 55, p2p 421. Hosts are checked
// (IP addresses parsed, DNS names limited to 253 letters, digits, '-', '.'),
// ports are 1..65535 (0 only when listening, to ask for any free port).
#include "codex/net/multiaddr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <vector>

#include "codex/varint.hpp"

namespace codex::net {

namespace {

constexpr std::uint64_t kIp4 = 4, kTcp = 6, kIp6 = 41, kDns = 53, kDns4 = 54, kDns6 = 55, kP2p = 421;
constexpr std::size_t kMaxDnsName = 253;
constexpr std::size_t kMaxText = 1024;

bool valid_dns_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxDnsName) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
      return false;
  return true;
}

std::vector<std::string_view> split(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t pos = 1;
  while (pos <= text.size()) {
    std::size_t next = text.find('/', pos);
    if (next == std::string_view::npos) next = text.size();
    parts.push_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}

Result<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || value > 65535 || (s.size() > 1 && s[0] == '0'))
    return make_error(Errc::corrupt, "multiaddr tcp port '{}' is not a number in 0..65535", s);
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<Multiaddr> Multiaddr::tcp(std::string_view ip, std::uint16_t port) {
  std::string s(ip);
  unsigned char buf[16];
  Multiaddr m;
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    m.kind_ = HostKind::ip4;
  } else if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    m.kind_ = HostKind::ip6;
  } else {
    return make_error(Errc::corrupt, "'{}' is not an IP address", ip);
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(m.kind_ == HostKind::ip4 ? AF_INET : AF_INET6, buf, text, sizeof text);
  m.host_ = text;
  m.port_ = port;
  return m;
}

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  if (text.size() > kMaxText) return make_error(Errc::corrupt, "multiaddr longer than {} characters", kMaxText);
  if (text.empty() || text[0] != '/') return make_error(Errc::corrupt, "multiaddr '{}' does not start with '/'", text);
  auto parts = split(text);
  if (parts.size() != 4 && parts.size() != 6)
    return make_error(Errc::corrupt, "multiaddr '{}' is not /<ip4|ip6|dns|dns4|dns6>/<host>/tcp/<port>[/p2p/<id>]",
                      text);
  Multiaddr m;
  const std::string_view proto = parts[0], host = parts[1];
  if (proto == "ip4" || proto == "ip6") {
    unsigned char buf[16];
    std::string h(host);
    const int family = proto == "ip4" ? AF_INET : AF_INET6;
    if (inet_pton(family, h.c_str(), buf) != 1)
      return make_error(Errc::corrupt, "multiaddr host '{}' is not an {} address", host, proto);
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(family, buf, canon, sizeof canon);
    m.kind_ = proto == "ip4" ? HostKind::ip4 : HostKind::ip6;
    m.host_ = canon;
  } else if (proto == "dns" || proto == "dns4" || proto == "dns6") {
    if (!valid_dns_name(host)) return make_error(Errc::corrupt, "multiaddr DNS name '{}' is not valid", host);
    m.kind_ = proto == "dns" ? HostKind::dns : proto == "dns4" ? HostKind::dns4 : HostKind::dns6;
    m.host_ = std::string(host);
  } else {
    return make_error(Errc::corrupt, "multiaddr protocol '{}' is not supported (ip4, ip6, dns, dns4, dns6)", proto);
  }
  if (parts[2] != "tcp") return make_error(Errc::corrupt, "multiaddr '{}': expected /tcp after the host", text);
  CODEX_TRY_ASSIGN(m.port_, parse_port(parts[3]));
  if (parts.size() == 6) {
    if (parts[4] != "p2p" && parts[4] != "ipfs")
      return make_error(Errc::corrupt, "multiaddr '{}': expected /p2p/<peer id> after the port", text);
    auto peer = PeerId::parse(parts[5]);
    if (!peer) return make_error(Errc::corrupt, "multiaddr peer id '{}': {}", parts[5], peer.error().message);
    m.peer_ = std::move(*peer);
  }
  return m;
}

Result<Multiaddr> Multiaddr::from_bytes(ByteView bytes) {
  if (bytes.size() > kMaxText) return make_error(Errc::corrupt, "binary multiaddr longer than {} bytes", kMaxText);
  std::size_t pos = 0;
  Multiaddr m;
  CODEX_TRY_ASSIGN(std::uint64_t code, read_varint(bytes, pos));
  if (code == kIp4 || code == kIp6) {
    const std::size_t n = code == kIp4 ? 4 : 16;
    if (bytes.size() - pos < n) return make_error(Errc::corrupt, "binary multiaddr: truncated IP address");
    char text[INET6_ADDRSTRLEN];
    inet_ntop(code == kIp4 ? AF_INET : AF_INET6, bytes.data() + pos, text, sizeof text);
    m.kind_ = code == kIp4 ? HostKind::ip4 : HostKind::ip6;
    m.host_ = text;
    pos += n;
  } else if (code == kDns || code == kDns4 || code == kDns6) {
    CODEX_TRY_ASSIGN(std::uint64_t len, read_varint(bytes, pos));
    if (len > bytes.size() - pos) return make_error(Errc::corrupt, "binary multiaddr: truncated DNS name");
    std::string name(reinterpret_cast<const char*>(bytes.data() + pos), len);
    if (!valid_dns_name(name)) return make_error(Errc::corrupt, "binary multiaddr: DNS name is not valid");
    m.kind_ = code == kDns ? HostKind::dns : code == kDns4 ? HostKind::dns4 : HostKind::dns6;
    m.host_ = std::move(name);
    pos += len;
  } else {
    return make_error(Errc::corrupt, "binary multiaddr: protocol code {} is not supported", code);
  }
  CODEX_TRY_ASSIGN(code, read_varint(bytes, pos));
  if (code != kTcp || bytes.size() - pos < 2) return make_error(Errc::corrupt, "binary multiaddr: expected a tcp port");
  m.port_ = static_cast<std::uint16_t>(bytes[pos] << 8 | bytes[pos + 1]);
  pos += 2;
  if (pos < bytes.size()) {
    CODEX_TRY_ASSIGN(code, read_varint(bytes, pos));
    if (code != kP2p) return make_error(Errc::corrupt, "binary multiaddr: protocol code {} after the port", code);
    CODEX_TRY_ASSIGN(std::uint64_t len, read_varint(bytes, pos));
    if (len != bytes.size() - pos) return make_error(Errc::corrupt, "binary multiaddr: peer id length is wrong");
    auto peer = PeerId::from_bytes(bytes.subspan(pos, len));
    if (!peer) return make_error(Errc::corrupt, "binary multiaddr peer id: {}", peer.error().message);
    m.peer_ = std::move(*peer);
  }
  return m;
}

std::string Multiaddr::to_string() const {
  static constexpr const char* names[] = {"ip4", "ip6", "dns", "dns4", "dns6"};
  std::string s = fmt::format("/{}/{}/tcp/{}", names[static_cast<int>(kind_)], host_, port_);
  if (peer_) s += "/p2p/" + peer_->to_string();
  return s;
}

Bytes Multiaddr::to_bytes() const {
  Bytes out;
  unsigned char buf[16];
  switch (kind_) {
    case HostKind::ip4:
      put_varint(out, kIp4);
      inet_pton(AF_INET, host_.c_str(), buf);
      out.insert(out.end(), buf, buf + 4);
      break;
    case HostKind::ip6:
      put_varint(out, kIp6);
      inet_pton(AF_INET6, host_.c_str(), buf);
      out.insert(out.end(), buf, buf + 16);
      break;
    default:
      put_varint(out, kind_ == HostKind::dns ? kDns : kind_ == HostKind::dns4 ? kDns4 : kDns6);
      put_varint(out, host_.size());
      out.insert(out.end(), host_.begin(), host_.end());
  }
  put_varint(out, kTcp);
  out.push_back(static_cast<std::uint8_t>(port_ >> 8));
  out.push_back(static_cast<std::uint8_t>(port_));
  if (peer_) {
    put_varint(out, kP2p);
    put_varint(out, peer_->bytes().size());
    out.insert(out.end(), peer_->bytes().begin(), peer_->bytes().end());
  }
  return out;
}

Multiaddr Multiaddr::with_peer(const PeerId& peer) const {
  Multiaddr m = *this;
  m.peer_ = peer;
  return m;
}

Multiaddr Multiaddr::without_peer() const {
  Multiaddr m = *this;
  m.peer_.reset();
  return m;
}

}  // namespace codex::net
