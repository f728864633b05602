// What a check found, for people and programs: one JSON line per dataset,
// the table codex-verify prints, the --sample spec, and the outcome (exit
// code and why-line) of a set of checks or repairs. See health.hpp.
#include <charconv>

#include "codex/health.hpp"
#include "codex/json.hpp"

namespace codex {
namespace {

std::string slot_json(const SlotHealth& s) {
  return JsonObject()
      .add("slot", s.slot)
      .add("held", s.held)
      .add("blocks", s.blocks)
      .add("checked", s.checked)
      .add("intact", s.intact)
      .add("missing", s.missing)
      .add("corrupt", s.corrupt)
      .add("state", s.held ? dataset_state_name(s.state) : "not-held")
      .str();
}

}  // namespace

std::string health_json(const DatasetHealth& h) {
  std::string slots = "[", groups = "[";
  for (const auto& s : h.slots) slots += (slots.size() > 1 ? "," : "") + slot_json(s);
  for (auto g : h.unrecoverable_groups) groups += (groups.size() > 1 ? "," : "") + std::to_string(g);
  return JsonObject()
      .add("cid", h.cid.to_string())
      .add("protected", h.manifest.is_protected())
      .add("state", dataset_state_name(h.state))
      .add("blocks", h.blocks)
      .add("checked", h.checked)
      .add("intact", h.intact)
      .add("missing", h.missing)
      .add("corrupt", h.corrupt)
      .add_raw("unrecoverableGroups", groups + "]")
      .add_raw("slots", slots + "]")
      .str();
}

std::string health_table(std::span<const DatasetHealth> all) {
  std::string out = fmt::format("{:<54} {:>5} {:>5} {:>8} {:>8} {:>8} {:>8}  {}\n", "DATASET", "SLOT", "HELD", "BLOCKS",
                                "CHECKED", "MISSING", "CORRUPT", "STATE");
  for (const auto& h : all) {
    out += fmt::format("{:<54} {:>5} {:>5} {:>8} {:>8} {:>8} {:>8}  {}\n", h.cid.to_string(), "all", "", h.blocks,
                       h.checked, h.missing, h.corrupt, dataset_state_name(h.state));
    for (const auto& s : h.slots)
      out += fmt::format("{:<54} {:>5} {:>5} {:>8} {:>8} {:>8} {:>8}  {}\n", "", s.slot, s.held ? "yes" : "no", s.blocks,
                         s.checked, s.missing, s.corrupt, s.held ? dataset_state_name(s.state) : "-");
  }
  return out;
}

Result<CheckOptions> parse_sample(std::string_view text) {
  CheckOptions options;
  if (text.empty()) return options;
  // Digits only (no sign, no blanks): a count, or a percentage with '%'.
  const bool percent = text.back() == '%';
  const std::string_view number(text.data(), text.size() - (percent ? 1 : 0));
  const char* end = number.data() + number.size();
  bool ok = !number.empty() && (number.front() >= '0' && number.front() <= '9');
  if (ok && percent) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, value);
    ok = ec == std::errc() && ptr == end && value > 0 && value <= 100;
    options.sample_fraction = value / 100;
  } else if (ok) {
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, value);
    ok = ec == std::errc() && ptr == end && value > 0;
    options.sample_count = value;
  }
  if (!ok)
    return make_error(Errc::usage, "bad --sample '{}': give a block count (e.g. 100) or a percentage (e.g. 5%)", text);
  return options;
}

Status check_outcome(std::span<const DatasetHealth> all) {
  std::size_t damaged = 0, lost = 0;
  for (const auto& h : all) {
    if (h.state == DatasetState::damaged) ++damaged;
    if (h.state == DatasetState::unrecoverable) ++lost;
  }
  if (lost)
    return make_error(Errc::unrecoverable, "{} of {} dataset(s) cannot be rebuilt from what is held{}", lost, all.size(),
                      damaged ? fmt::format(" ({} more damaged but repairable)", damaged) : "");
  if (damaged)
    return make_error(Errc::damaged, "{} of {} dataset(s) damaged, all of it repairable (codex-repair)", damaged,
                      all.size());
  return {};
}

Status repair_outcome(std::span<const RepairReport> reports, bool dry_run) {
  std::uint64_t rebuilt = 0, sets = 0, failed = 0;
  for (const auto& r : reports) {
    if (!r.rebuilt.empty()) rebuilt += r.rebuilt.size(), ++sets;
    if (!r.failure.empty()) ++failed;
  }
  if (failed)
    return make_error(Errc::unrecoverable, "{} dataset(s) cannot be fully repaired from what is held ({} block(s) {})",
                      failed, rebuilt, dry_run ? "could be rebuilt" : "rebuilt");
  if (rebuilt == 0) return {};
  if (dry_run) return make_error(Errc::damaged, "{} block(s) in {} dataset(s) would be rebuilt", rebuilt, sets);
  return make_error(Errc::repaired, "rebuilt {} block(s) in {} dataset(s)", rebuilt, sets);
}

}  // namespace codex
