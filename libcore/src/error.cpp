// Names of error kinds, as printed in JSON reports and documentation.
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
  }
  return "unknown";
}

}  // namespace codex
