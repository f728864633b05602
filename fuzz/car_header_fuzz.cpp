// The CAR header: one encoding, so whatever decodes re-encodes to exactly
// the bytes it came from.
#include "codex/car.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  auto header = decode_car_header(input);
  if (!header) return;
  const Bytes again = encode_car_header(header->roots);
  CODEX_FUZZ_CHECK(again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin()));
}
