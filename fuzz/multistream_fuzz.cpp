// multistream-select messages: decoding a run of them never crashes, never
// reads past the input, and what decodes as text re-encodes to the same bytes.
#include <cstdlib>
#include <cstring>

#include "codex/net/multistream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex;
  ByteView in(data, size);
  for (bool text : {true, false}) {
    std::size_t pos = 0;
    while (pos < size) {
      const std::size_t start = pos;
      auto m = net::multistream::decode(in, pos, text);
      if (!m) break;
      if (pos <= start || pos > size) std::abort();
      Bytes again = net::multistream::encode(*m);
      if (again.size() != pos - start || std::memcmp(again.data(), data + start, again.size()) != 0) std::abort();
    }
  }
  return 0;
}
