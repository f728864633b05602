// Anonymous temporary files; see temp_file.hpp.
#include "temp_file.hpp"

namespace codex {

Result<TempFile> TempFile::create(const std::string& dir, Env& env) {
  CODEX_TRY_ASSIGN(auto file, env.temp_file(dir));
  return TempFile(std::move(file));
}

}  // namespace codex
