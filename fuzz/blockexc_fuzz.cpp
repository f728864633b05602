// libFuzzer harness for the block-exchange decoder (hostile peers' frames):
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++-14 -DCODEX_FUZZ=ON
//   cmake --build build-fuzz --target blockexc_fuzz && build-fuzz/blockexc_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>

#include "codex/daemon/blockexc_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace codex::daemon::blockexc;
  auto message = decode(codex::ByteView(data, size));
  if (message) {
    for (const auto& d : message->payload) (void)verify_delivery(d);
    (void)encode(*message);
  }
  return 0;
}
