// Names of error kinds (as printed in JSON reports and documentation) and
// the one mapping from kinds to exit codes.
#include "codex/error.hpp"

namespace codex {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::failure: return "failure";
    case Errc::usage: return "usage";
    case Errc::not_found: return "not-found";
    case Errc::corrupt: return "corrupt";
    case Errc::io: return "io";
    case Errc::damaged: return "damaged";
    case Errc::unrecoverable: return "unrecoverable";
    case Errc::repaired: return "repaired";
    case Errc::rejected: return "rejected";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::peer_misbehaved: return "peer-misbehaved";
  }
  return "unknown";
}

int exit_code(Errc code) {
  switch (code) {
    case Errc::ok: return 0;
    case Errc::failure: return 1;
    case Errc::usage: return 2;
    case Errc::not_found: return 3;
    case Errc::corrupt: return 4;
    case Errc::io: return 5;
    case Errc::damaged: return 6;
    case Errc::unrecoverable: return 7;
    case Errc::repaired: return 8;
    case Errc::rejected: return 9;
    // A peer that cannot be reached or does not answer is a failed read, as
    // a disk would be; a peer's bad answer is bad input.
    case Errc::unavailable: return 5;
    case Errc::timeout: return 5;
    case Errc::peer_misbehaved: return 4;
  }
  return 1;
}

bool is_outcome(Errc code) {
  return code == Errc::damaged || code == Errc::unrecoverable || code == Errc::repaired;
}

}  // namespace codex
