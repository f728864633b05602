// multistream-select 1.0 (libp2p/specs connections/README.md): how two
// peers agree on the protocol of a connection or stream. Every message is a
// uvarint length (counting a trailing newline), the text, and '\n'. Both
// sides send "/multistream/1.0.0"; the initiator proposes a protocol id and
// the responder echoes it (accepted) or answers "na"; "ls" asks for the list.
//
// Reads are exact (never past the end of the negotiation), so the bytes that
// follow, a TLS ClientHello or a stream's first message, are left untouched
// for the next layer. Messages are at most 1024 bytes; a responder takes at
// most 16 proposals before giving up on the peer.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "codex/bytes.hpp"
#include "codex/error.hpp"

namespace codex::net::multistream {

inline constexpr std::string_view kProtocolId = "/multistream/1.0.0";
inline constexpr std::size_t kMaxMessage = 1024;  // length prefix value, newline included
inline constexpr std::size_t kMaxProposals = 16;

// One message: varint(len(text)+1) || text || '\n'.
Bytes encode(std::string_view text);
// The answer to "ls": one message whose body is the protocols, each encoded
// as a message itself (go-multistream's layout).
Bytes encode_list(const std::vector<std::string>& protocols);
// Decodes one message at data[pos]; advances pos. Errc::corrupt if it is
// malformed (no newline, too long, empty; with `text`, also control
// characters or invalid UTF-8 -- every message but an "ls" answer is text).
Result<std::string> decode(ByteView data, std::size_t& pos, bool text = true);

// What negotiation reads from and writes to: a socket before TLS, the TLS
// connection before yamux, a yamux stream.
struct Channel {
  std::function<asio::awaitable<Status>(MutableByteView)> read_exact;
  std::function<asio::awaitable<Status>(ByteView)> write;
};

asio::awaitable<Result<std::string>> read_message(Channel& channel, bool text = true);
// Initiator: proposes `protocol`. Errc::rejected if the peer says "na".
asio::awaitable<Status> select(Channel& channel, std::string_view protocol);
// Responder: returns the protocol agreed on. `supported` decides each
// proposal; `list` answers "ls".
asio::awaitable<Result<std::string>> respond(Channel& channel,
                                             const std::function<bool(std::string_view)>& supported,
                                             const std::function<std::vector<std::string>()>& list);

}  // namespace codex::net::multistream
