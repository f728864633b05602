// A CAR stream read entry by entry: every entry's CID is bounded, sections
// never exceed the limit, and the reader ends (cleanly or with an error).
#include "codex/car.hpp"
#include "codex/io.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  MemorySource source(Bytes(input.begin(), input.end()), "fuzz");
  CarReader reader(source);
  if (!reader.read_header()) return;
  Cid cid;
  Bytes data;
  for (;;) {
    auto more = reader.next(cid, data);
    if (!more || !*more) return;
    CODEX_FUZZ_CHECK(cid.bytes().size() <= kMaxCidBytes);
    CODEX_FUZZ_CHECK(cid.bytes().size() + data.size() <= kMaxCarSection);
    CODEX_FUZZ_CHECK(reader.offset() <= input.size());
  }
}
