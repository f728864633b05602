// yamux frame headers: decoding never crashes, and what decodes re-encodes
// to the same 12 bytes.
#include <cstdlib>
#include <cstring>

#include "codex/net/yamux.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex::net::yamux;
  auto h = decode_header(codex::ByteView(data, size));
  if (h.ok() && std::memcmp(encode_header(*h).data(), data, kHeaderSize) != 0) std::abort();
  return 0;
}
