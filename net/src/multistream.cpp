// multistream-select 1.0: the message codec and both ends of a negotiation.
#include "codex/net/multistream.hpp"

#include "codex/varint.hpp"

namespace codex::net::multistream {

namespace {

bool valid_text(std::string_view s) {
  // UTF-8 without control characters (protocol ids are printable text).
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

Bytes encode(std::string_view text) {
  Bytes out;
  put_varint(out, text.size() + 1);
  out.insert(out.end(), text.begin(), text.end());
  out.push_back('\n');
  return out;
}

Bytes encode_list(const std::vector<std::string>& protocols) {
  Bytes body;
  for (const auto& p : protocols) {
    Bytes m = encode(p);
    body.insert(body.end(), m.begin(), m.end());
  }
  Bytes out;
  put_varint(out, body.size() + 1);
  out.insert(out.end(), body.begin(), body.end());
  out.push_back('\n');
  return out;
}

Result<std::string> decode(ByteView data, std::size_t& pos, bool text_only) {
  std::size_t p = pos;
  CODEX_TRY_ASSIGN(std::uint64_t len, read_varint(data, p));
  if (len == 0 || len > kMaxMessage)
    return make_error(Errc::corrupt, "multistream message length {} is not in 1..{}", len, kMaxMessage);
  if (data.size() - p < len) return make_error(Errc::corrupt, "multistream message truncated");
  if (data[p + len - 1] != '\n') return make_error(Errc::corrupt, "multistream message does not end in a newline");
  std::string text(reinterpret_cast<const char*>(data.data() + p), len - 1);
  if (text_only && !valid_text(text)) return make_error(Errc::corrupt, "multistream message is not printable UTF-8 text");
  pos = p + len;
  return text;
}

asio::awaitable<Result<std::string>> read_message(Channel& channel, bool text) {
  // The length prefix one byte at a time (it is at most 2 bytes for 1024).
  Bytes buf;
  for (;;) {
    std::uint8_t b = 0;
    auto st = co_await channel.read_exact(MutableByteView(&b, 1));
    if (!st) co_return std::move(st).error();
    buf.push_back(b);
    if (!(b & 0x80)) break;
    if (buf.size() >= 2) co_return make_error(Errc::corrupt, "multistream message longer than {} bytes", kMaxMessage);
  }
  std::size_t pos = 0;
  auto length = read_varint(buf, pos);
  if (!length) co_return std::move(length).error();
  const std::uint64_t len = *length;
  if (len == 0 || len > kMaxMessage)
    co_return make_error(Errc::corrupt, "multistream message length {} is not in 1..{}", len, kMaxMessage);
  const std::size_t head = buf.size();
  buf.resize(head + len);
  auto st = co_await channel.read_exact(MutableByteView(buf.data() + head, len));
  if (!st) co_return std::move(st).error();
  pos = 0;
  co_return decode(buf, pos, text);
}

asio::awaitable<Status> select(Channel& channel, std::string_view protocol) {
  Bytes hello = encode(kProtocolId);
  Bytes proposal = encode(protocol);
  hello.insert(hello.end(), proposal.begin(), proposal.end());
  auto st = co_await channel.write(hello);
  if (!st) co_return st;
  auto header = co_await read_message(channel);
  if (!header) co_return std::move(header).error();
  if (*header != kProtocolId)
    co_return make_error(Errc::corrupt, "peer does not speak multistream 1.0 (said '{}')", *header);
  auto answer = co_await read_message(channel);
  if (!answer) co_return std::move(answer).error();
  if (*answer == protocol) co_return Status{};
  if (*answer == "na") co_return make_error(Errc::rejected, "peer does not offer {}", protocol);
  co_return make_error(Errc::corrupt, "peer answered '{}' to a proposal of {}", *answer, protocol);
}

asio::awaitable<Result<std::string>> respond(Channel& channel,
                                             const std::function<bool(std::string_view)>& supported,
                                             const std::function<std::vector<std::string>()>& list) {
  auto st = co_await channel.write(encode(kProtocolId));
  if (!st) co_return std::move(st).error();
  auto header = co_await read_message(channel);
  if (!header) co_return std::move(header).error();
  if (*header != kProtocolId)
    co_return make_error(Errc::corrupt, "peer does not speak multistream 1.0 (said '{}')", *header);
  for (std::size_t i = 0; i < kMaxProposals; ++i) {
    auto proposal = co_await read_message(channel);
    if (!proposal) co_return std::move(proposal).error();
    if (*proposal == "ls") {
      st = co_await channel.write(encode_list(list()));
    } else if (*proposal != "na" && supported(*proposal)) {
      st = co_await channel.write(encode(*proposal));
      if (!st) co_return std::move(st).error();
      co_return std::move(*proposal);
    } else {
      st = co_await channel.write(encode("na"));
    }
    if (!st) co_return std::move(st).error();
  }
  co_return make_error(Errc::rejected, "peer proposed {} protocols, none agreed", kMaxProposals);
}

}  // namespace codex::net::multistream
