// Tools' side of the community control commands (community_client.hpp).
#include "codex/daemon/community_client.hpp"

#include <thread>

#include "codex/daemon/control.hpp"
#include "codex/daemon/node_files.hpp"
#include "codex/json.hpp"

namespace codex::daemon {

Result<std::optional<json::Value>> community_request(const std::string& repo_dir, const std::string& request_json,
                                                     std::chrono::milliseconds timeout) {
  NodePaths paths{repo_dir};
  if (!std::filesystem::exists(paths.control_socket())) return std::optional<json::Value>();
  auto answer = control_request(paths.control_socket(), request_json, timeout);
  if (!answer) {
    if (answer.error().code == Errc::not_found && !std::filesystem::exists(paths.control_socket()))
      return std::optional<json::Value>();
    return std::move(answer).error();
  }
  return std::optional<json::Value>(std::move(*answer));
}

Result<std::optional<json::Value>> publish_through_daemon(const std::string& repo_dir, const Cid& manifest_cid) {
  return community_request(repo_dir, JsonObject().add("command", "publish").add("cid", manifest_cid.to_string()).str(),
                           std::chrono::seconds(30));
}

Result<std::optional<json::Value>> community_view(const std::string& repo_dir, const Cid& manifest_cid) {
  return community_request(repo_dir, JsonObject().add("command", "dataset").add("cid", manifest_cid.to_string()).str(),
                           std::chrono::seconds(60));
}

Status wait_until_placed(const std::string& repo_dir, const Cid& manifest_cid, std::chrono::seconds limit,
                         const std::function<void(std::size_t, std::size_t)>& on_change) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::size_t last = SIZE_MAX, held = 0, slots = 0;
  for (;;) {
    CODEX_TRY_ASSIGN(auto view, community_view(repo_dir, manifest_cid));
    if (!view) return make_error(Errc::not_found, "no daemon runs on repository '{}'", repo_dir);
    held = 0;
    const json::Value* list = view->find("slots");
    slots = list && list->kind == json::Kind::array ? list->array.size() : 0;
    if (list)
      for (const auto& s : list->array) {
        const json::Value* h = s.find("holder");
        if (h && h->kind == json::Kind::string) ++held;
      }
    if (held != last && on_change) on_change(held, slots);
    last = held;
    const json::Value* complete = view->find("complete");
    if (complete && complete->boolean) return {};
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(Errc::failure, "timed out after {} s: {} of {} slots of {} held by their members", limit.count(),
                        held, slots, manifest_cid.to_string());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

namespace {
std::string text(const json::Value* v) {
  if (!v || v->kind == json::Kind::null) return "-";
  if (v->kind == json::Kind::string) return v->string;
  if (v->kind == json::Kind::integer) return std::to_string(v->magnitude);
  if (v->kind == json::Kind::boolean) return v->boolean ? "yes" : "no";
  if (v->kind == json::Kind::object) {
    std::string out;
    for (const auto& [k, e] : v->object) out += (out.empty() ? "" : " ") + k + ":" + text(&e);
    return out.empty() ? "-" : out;
  }
  return "?";
}
}  // namespace

std::string community_view_table(const json::Value& view) {
  auto ago = [](const json::Value* v) -> std::string {
    if (!v || v->kind != json::Kind::integer) return "-";
    return fmt::format("{:.1f}s ago", double(v->magnitude) / 1000.0);
  };
  std::string out = fmt::format("dataset {}  K={} M={}  members answering: {}  {}\n", text(view.find("cid")),
                                text(view.find("k")), text(view.find("m")), text(view.find("members_answering")),
                                view.find("complete") && view.find("complete")->boolean ? "every slot held"
                                                                                       : "NOT every slot held");
  out += fmt::format("{:<4} {:<10} {:<52} {:>10} {:>10}  {}\n", "slot", "state", "holder", "heartbeat", "proof",
                     "watchers say");
  if (const json::Value* slots = view.find("slots"); slots && slots->kind == json::Kind::array)
    for (const auto& s : slots->array) {
      std::string holder = text(s.find("holder"));
      if (const json::Value* by = s.find("rebuilt_by"); by && by->kind == json::Kind::string)
        holder = "(being rebuilt by " + by->string + ")";
      else if (const json::Value* named = s.find("named_by_watchers"); named && named->kind == json::Kind::string)
        holder = named->string + " (not answering)";
      out += fmt::format("{:<4} {:<10} {:<52} {:>10} {:>10}  {}\n", text(s.find("slot")), text(s.find("state")), holder,
                         ago(s.find("heartbeat_ms_ago")), ago(s.find("proof_ms_ago")), text(s.find("watchers")));
    }
  if (const json::Value* jobs = view.find("jobs"); jobs && jobs->kind == json::Kind::array && !jobs->array.empty()) {
    out += "slot transfers on this member:\n";
    for (const auto& j : jobs->array)
      out += fmt::format("  {} slot {}: {} ({} of {} blocks, {} ms){}\n", text(j.find("kind")), text(j.find("slot")),
                         text(j.find("phase")), text(j.find("blocks_done")), text(j.find("blocks_total")),
                         text(j.find("elapsed_ms")),
                         j.find("error") && !j.find("error")->string.empty() ? " - " + j.find("error")->string : "");
  }
  return out;
}

}  // namespace codex::daemon
