// How the tools reach the community through a running daemon: codex-put
// publishes what it stored and can wait until every slot sits with its
// placed member; codex-gossip shows the community's view of a dataset;
// codex-verify shows it beside the local repository's; codex-repair runs the
// rebuilds this member was asked for when automatic repair is off.
// Every call is nullopt when no daemon runs on the repository.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "json_parse.hpp"

namespace codex::daemon {

Result<std::optional<json::Value>> community_request(const std::string& repo_dir, const std::string& request_json,
                                                     std::chrono::milliseconds timeout);

Result<std::optional<json::Value>> publish_through_daemon(const std::string& repo_dir, const Cid& manifest_cid);

// The community's view of one dataset ({"slots": [...], "complete": bool, ...}).
Result<std::optional<json::Value>> community_view(const std::string& repo_dir, const Cid& manifest_cid);

// Polls the view until it is complete (every slot stored by a distinct member)
// or `limit` passes (Errc::failure naming how far it got). on_change gets the
// number of slots held whenever it changes.
Status wait_until_placed(const std::string& repo_dir, const Cid& manifest_cid, std::chrono::seconds limit,
                         const std::function<void(std::size_t held, std::size_t slots)>& on_change);

// A view as a table for people: one line per slot.
std::string community_view_table(const json::Value& view);

}  // namespace codex::daemon
