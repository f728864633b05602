// The simulator's stand-in signatures, certificates and proofs; see standins.hpp.
#include "standins.hpp"

#include <cstring>

namespace codex::sim {
namespace {

constexpr std::size_t kSignatureSize = 64;    // as Ed25519
constexpr std::size_t kCertificateSize = 162; // as libcore's membership certificate
constexpr std::size_t kProofSize = 8;

std::uint64_t read64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::uint64_t id_key(const protocol::MemberId& id) { return fast_hash(id.data(), id.size(), 0x5157); }

Bytes tag_bytes(std::uint64_t tag, std::size_t size) {
  Bytes out(size, 0);
  for (std::size_t i = 0; i < size; i += 8) {
    std::uint64_t v = tag + i;
    std::memcpy(out.data() + i, &v, std::min<std::size_t>(8, size - i));
  }
  return out;
}

bool has_tag(ByteView bytes, std::uint64_t tag, std::size_t size) {
  return bytes.size() == size && read64(bytes.data()) == tag;
}

}  // namespace

std::uint64_t fast_hash(const std::uint8_t* data, std::size_t size, std::uint64_t seed) {
  std::uint64_t h = seed ^ (size * 0x9e3779b97f4a7c15ULL);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    h ^= read64(data + i) * 0xbf58476d1ce4e5b9ULL;
    h = (h << 31 | h >> 33) * 0x94d049bb133111ebULL;
  }
  std::uint64_t tail = 0;
  for (std::size_t j = 0; i + j < size; ++j) tail |= std::uint64_t(data[i + j]) << (8 * j);
  h ^= tail * 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 32);
}

Bytes StandInCrypto::certificate_for(const protocol::MemberId& member) const {
  return tag_bytes(community_ ^ id_key(member), kCertificateSize);
}

Bytes StandInCrypto::sign(ByteView message) {
  return tag_bytes(fast_hash(message.data(), message.size(), id_key(*self_)), kSignatureSize);
}

bool StandInCrypto::verify(const protocol::MemberId& signer, ByteView message, ByteView signature) {
  return has_tag(signature, fast_hash(message.data(), message.size(), id_key(signer)), kSignatureSize);
}

Result<protocol::Admission> StandInCrypto::check_certificate(const protocol::MemberId& member, ByteView certificate,
                                                             protocol::Time) {
  if (!has_tag(certificate, community_ ^ id_key(member), kCertificateSize))
    return make_error(Errc::rejected, "certificate not issued to this member by the community");
  return protocol::Admission{1, protocol::kNever};
}

Result<protocol::RevocationFacts> StandInCrypto::check_revocation(ByteView, protocol::Time) {
  return make_error(Errc::rejected, "the simulated community revokes no one");
}

Result<Bytes> StandInProofs::prove(const protocol::DatasetId& dataset, std::uint32_t slot, ByteView challenge) {
  if (!holds_(dataset, slot)) return make_error(Errc::not_found, "slot not stored here");
  ++made_;
  return tag_bytes(fast_hash(challenge.data(), challenge.size(), fast_hash(dataset.data(), dataset.size(), slot)), kProofSize);
}

Status StandInProofs::check(const protocol::DatasetId& dataset, std::uint32_t slot, ByteView challenge, ByteView proof) {
  if (!has_tag(proof, fast_hash(challenge.data(), challenge.size(), fast_hash(dataset.data(), dataset.size(), slot)), kProofSize))
    return make_error(Errc::rejected, "wrong proof");
  return {};
}

}  // namespace codex::sim
