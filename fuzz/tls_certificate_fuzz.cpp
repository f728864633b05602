// Peer certificates and the pieces of the libp2p extension: parsing and
// verification never crash; a SignedKey that decodes re-encodes exactly.
#include <cstdlib>

#include "codex/net/tls_certificate.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex;
  using namespace codex::net::tls;
  ByteView in(data, size);
  (void)verify_certificate(in, 1764547200);
  if (auto sk = decode_signed_key(in); sk) {
    Bytes again = encode_signed_key(sk->first, sk->second);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) std::abort();
  }
  (void)decode_public_key(in);
  return 0;
}
