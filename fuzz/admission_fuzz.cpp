// Admission documents and peer ids from the network: membership
// certificates, revocations, peer ids (binary and text). What decodes
// re-encodes to the same bytes.
#include "codex/community.hpp"
#include "codex/identity.hpp"
#include "fuzz.hpp"

using namespace codex;

CODEX_FUZZ_TARGET {
  if (auto certificate = MembershipCertificate::decode(input)) {
    const Bytes again = certificate->encode();
    CODEX_FUZZ_CHECK(again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin()));
  }
  if (auto revocation = Revocation::decode(input)) {
    const Bytes again = revocation->encode();
    CODEX_FUZZ_CHECK(again.size() == input.size() && std::equal(again.begin(), again.end(), input.begin()));
  }
  if (auto peer = PeerId::from_bytes(input)) {
    auto back = PeerId::parse(peer->to_string());
    CODEX_FUZZ_CHECK(back && *back == *peer);
  }
  (void)PeerId::parse(as_text(input));
}
