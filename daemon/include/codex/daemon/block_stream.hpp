// Blocks from members, streamed through the local daemon to a tool: the
// "block-stream" session of the control socket (docs/block-exchange.md,
// section 6) and the two ends of it.
//
//  - StreamFetcher (daemon side): takes wanted digests one at a time and
//    gets each from a member with want-block (sendDontHave), a window of
//    requests in flight per member over several streams; every delivery is
//    verified before it is passed on; a member that sends a wrong block is
//    reported and cut off, one that answers dontHave, breaks its stream or
//    stays silent for the request timeout loses its requests to the next
//    member. Nothing is stored: blocks go to the caller, who bounds how many
//    are outstanding.
//  - DaemonBlockSource (tool side): a BlockSource over the session, which
//    reads ahead along the order the reading verb will ask (get_read_order),
//    a bounded window of blocks. Every block it hands out was checked
//    against its digest by the daemon (verify_delivery: the bytes hash to
//    the CID the request was matched by); the tool checks it again only
//    when the daemon at the other end of the socket runs as another user
//    (SO_PEERCRED), docs/block-exchange.md section 6a says why.
//
// Wire, after the request line {"command":"block-stream"} and its answer
// {"ok":true,"window":W,"members":M}: frames of u8 type, u32 length
// (big-endian), body. Tool to daemon: 'W' n*32 bytes of digests. Daemon to
// tool, one answer per wanted digest in the order wanted: 'B' the block, or
// 'E' u8 exit-code-kind (Errc) and a message; and at any time 'N' a note
// for people (a member dropped, and why). At most W digests are outstanding.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "codex/block_source.hpp"
#include "codex/daemon/fetch.hpp"

namespace codex::daemon {

inline constexpr std::size_t kBlockStreamWindow = 512;   // digests outstanding per session, at most
inline constexpr std::size_t kBlockStreamMaxBlock = 8u << 20;
inline constexpr std::uint8_t kFrameWant = 'W', kFrameBlock = 'B', kFrameError = 'E', kFrameNote = 'N';

struct StreamFetchLimits {
  std::size_t window = 64;   // want-block requests in flight per member
  std::size_t streams = 4;   // streams per member the window is spread over
  std::chrono::milliseconds request_timeout{300000};  // a member silent this long with requests loses them
};

class StreamFetcher {
 public:
  // Called once per want(), with the block (verified) or why not.
  using Done = std::function<void(std::uint64_t id, Result<Bytes> block)>;
  using Note = std::function<void(const std::string& text)>;
  // `verify_pool`: where deliveries are hashed (off the event loop, several
  // messages at once); null: on the caller's thread.
  StreamFetcher(asio::io_context& io, FetchNetwork& network, const Log& log, StreamFetchLimits limits,
                std::vector<PeerId> members, Done done, Note note, asio::thread_pool* verify_pool = nullptr);
  ~StreamFetcher();
  void want(std::uint64_t id, const Digest& digest);
  // Ends every request without calling done; workers wind down.
  void stop();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// The tool's end. `plan`: the digests the caller will read, in order (read
// ahead, `window` at a time); others are fetched when asked for. Notes from
// the daemon go to on_note (on the calling thread).
class DaemonBlockSource : public BlockSource {
 public:
  static Result<std::unique_ptr<DaemonBlockSource>> open(const std::filesystem::path& socket,
                                                         std::vector<Digest> plan,
                                                         std::function<void(const std::string&)> on_note,
                                                         std::size_t window = 256);
  ~DaemonBlockSource() override;
  // Believed there when the daemon has a member to ask.
  Result<bool> has(const Digest& digest) override;
  Status read(const Digest& digest, Bytes& out) override;
  void read_many(std::span<const Digest> digests, std::span<Bytes> out, std::span<Status> status) override;
  std::size_t members() const;
  std::uint64_t blocks_received() const;
  // True when blocks are checked here again (the daemon is another user's).
  bool checks_blocks() const;

  struct Impl;

 private:
  explicit DaemonBlockSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace codex::daemon
