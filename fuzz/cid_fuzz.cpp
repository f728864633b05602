// CIDs, binary and text (and the multibase decoders under the text form):
// whatever decodes is bounded, prints as text within the text limit, and
// that text reads back as the same CID.
#include "codex/cid.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  auto cid = Cid::from_bytes(input);
  if (cid) {
    CODEX_FUZZ_CHECK(cid->bytes().size() <= kMaxCidBytes);
    const std::string text = cid->to_string();
    CODEX_FUZZ_CHECK(text.size() <= 1024);
    auto back = Cid::parse(text);
    CODEX_FUZZ_CHECK(back && *back == *cid);
  }
  auto parsed = Cid::parse(as_text(input));
  if (parsed) {
    auto again = Cid::from_bytes(parsed->bytes());
    CODEX_FUZZ_CHECK(again && *again == *parsed);
  }
  (void)base58btc_decode(as_text(input));
  (void)base32_decode(as_text(input));
}
