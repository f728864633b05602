// The tree protocol, both sides (tree_exchange.hpp). The leaves travel as one
// length-prefixed message of 32-byte digests, in leaf order.
#include "codex/daemon/tree_exchange.hpp"

#include "codex/codex_tree.hpp"
#include "codex/net/host.hpp"

namespace codex::daemon {
namespace {

static_assert(sizeof(Digest) == 32, "leaves are read and written as one array of 32-byte digests");

ByteView leaf_bytes(const std::vector<Digest>& leaves) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(leaves.data()), leaves.size() * sizeof(Digest));
}

}  // namespace

Status check_tree_size(const Cid& manifest_cid, std::uint64_t count) {
  if (count == 0) return make_error(Errc::corrupt, "manifest {} describes no blocks", manifest_cid.to_string());
  if (count > kMaxNetworkTreeLeaves)
    return make_error(Errc::corrupt,
                      "manifest {} has {} blocks; a dataset fetched from members may have at most {} "
                      "(its leaf list must fit the daemon's memory)",
                      manifest_cid.to_string(), count, kMaxNetworkTreeLeaves);
  return {};
}

asio::awaitable<Result<std::vector<Digest>>> request_tree(net::Stream& stream, const Cid& tree, std::uint64_t count) {
  const auto root = tree.sha256_digest();
  if (tree.codec() != codec::root || !root)
    co_return make_error(Errc::corrupt, "tree CID {} is not a dataset root", tree.to_string());
  if (count == 0 || count > kMaxNetworkTreeLeaves)
    co_return make_error(Errc::corrupt, "a tree of {} leaves is not fetched (at most {})", count, kMaxNetworkTreeLeaves);
  if (Status sent = co_await net::write_length_prefixed(stream, tree.bytes()); !sent) co_return std::move(sent).error();
  co_await stream.close_write();
  const std::size_t expected = static_cast<std::size_t>(count) * sizeof(Digest);
  auto length = co_await net::read_length_prefix(stream, expected);
  if (!length) {
    if (length.error().code == Errc::corrupt)
      co_return make_error(Errc::rejected, "sent a tree answer over {} bytes for {} leaves", expected, count);
    co_return std::move(length).error();
  }
  if (*length == 0) co_return make_error(Errc::not_found, "does not know tree {}", tree.to_string());
  if (*length != expected)
    co_return make_error(Errc::rejected, "sent a tree of {} bytes for {} leaves", *length, count);
  std::vector<Digest> leaves(static_cast<std::size_t>(count));
  Status read = co_await stream.read_exact(
      MutableByteView(reinterpret_cast<std::uint8_t*>(leaves.data()), expected));
  if (!read) co_return std::move(read).error();
  auto computed = codex_tree_root(leaves);
  if (!computed || *computed != *root)
    co_return make_error(Errc::rejected, "sent leaves that do not hash to tree {}", tree.to_string());
  co_return leaves;
}

asio::awaitable<void> serve_tree(net::Stream& stream, Repository& repository) {
  auto request = co_await net::read_length_prefixed(stream, 128);
  if (!request) co_return;
  auto cid = Cid::from_bytes(*request);
  std::vector<Digest> leaves;
  if (cid)
    if (auto held = repository.tree_leaves(*cid)) leaves = std::move(*held);
  // Written from the leaf vector itself: the answer is not copied first.
  if (co_await net::write_length_prefix(stream, leaves.size() * sizeof(Digest)))
    if (leaves.empty() || co_await stream.write(leaf_bytes(leaves))) co_await stream.close_write();
}

}  // namespace codex::daemon
