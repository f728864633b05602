// The tree protocol (/codex/tree/1.0.0): a dataset tree's leaf list, asked of
// one member and served from the repository, and the bound on it.
//
// A member that fetches a dataset must hold the whole leaf list to check it
// against the tree root before it trusts any of it. The manifest says how
// many leaves there are, and any member may publish a manifest, so the
// count is hostile input: a daemon asks for a tree of at most
// kMaxNetworkTreeLeaves leaves (32 MiB of digests; a dataset of at most 2^20
// blocks, 64 GiB at Codex's 64 KiB blocks, parity included), reads the
// answer straight into the leaf vector (no second copy) and checks the root
// with half as much again. docs/block-exchange.md, "The tree protocol".
#pragma once

#include <cstdint>
#include <vector>

#include <asio.hpp>

#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/net/host.hpp"
#include "codex/repository.hpp"
#include "codex/sha256.hpp"

namespace codex::daemon {

inline constexpr std::uint64_t kMaxNetworkTreeLeaves = std::uint64_t{1} << 20;

// Errc::corrupt when a manifest's block count is one a daemon will not fetch
// the tree of (none, or over kMaxNetworkTreeLeaves).
Status check_tree_size(const Cid& manifest_cid, std::uint64_t count);

// Asks the member at the other end of `stream` (the tree protocol already
// negotiated) for `tree`'s `count` leaves. Errc::not_found: it does not know
// the tree; Errc::rejected: its answer is the wrong size or does not hash to
// the root (it misbehaved); Errc::corrupt: count out of bounds (nothing
// sent); other errors: the stream failed.
asio::awaitable<Result<std::vector<Digest>>> request_tree(net::Stream& stream, const Cid& tree, std::uint64_t count);

// Answers one request on `stream` from `repository`: the leaves, or an empty
// answer for a tree it does not hold.
asio::awaitable<void> serve_tree(net::Stream& stream, Repository& repository);

}  // namespace codex::daemon
