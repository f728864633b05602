// Seeds for the network decoders' corpora (admission, blockexc), made by the
// libraries' own encoders: `network_seeds DIR` writes them under
// DIR/admission and DIR/blockexc. Built on request (target network_seeds);
// scripts/fuzz-seeds.sh runs it. Keys come from fixed seeds so the seeds
// are the same on every run.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "codex/community.hpp"
#include "codex/daemon/blockexc_message.hpp"
#include "codex/identity.hpp"
#include "codex/sha256.hpp"

using namespace codex;

namespace {

void write(const std::filesystem::path& dir, const std::string& name, ByteView bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                    static_cast<std::streamsize>(bytes.size()));
}

Bytes seed_of(std::uint8_t b) { return Bytes(32, b); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: network_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  auto owner = Ed25519Key::from_seed(seed_of(1));
  auto member = Ed25519Key::from_seed(seed_of(2));
  if (!owner || !member) return 1;
  const PeerId id = member->peer_id();
  write(out / "admission", "certificate", MembershipCertificate::issue(*owner, id, 1700000000, 1800000000, 7).encode());
  write(out / "admission", "revocation", Revocation::issue(*owner, id, 7, 1700000500).encode());
  write(out / "admission", "peer-id", id.bytes());
  const std::string text = id.to_string();
  write(out / "admission", "peer-id-text", ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));

  namespace bx = daemon::blockexc;
  const Bytes data(64, 0x5a);
  const Cid block = block_cid(data);
  bx::Message want;
  want.wantlist.entries.push_back({bx::BlockAddress::of_cid(block), 1, false, bx::WantType::block, true});
  want.wantlist.entries.push_back(
      {bx::BlockAddress::of_leaf(Cid::from_digest(codec::root, sha256(data)), 3), 0, false, bx::WantType::have, false});
  write(out / "blockexc", "wantlist", bx::encode(want));
  bx::Message deliver;
  deliver.payload.push_back({block, data, bx::BlockAddress::of_cid(block), std::nullopt});
  deliver.presences.push_back({bx::BlockAddress::of_cid(block), bx::PresenceType::dont_have, {}});
  deliver.pending_bytes = 4096;
  write(out / "blockexc", "delivery", bx::encode(deliver));
  write(out / "blockexc", "empty", bx::encode(bx::Message{}));
  return 0;
}
