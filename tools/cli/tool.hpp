// What every tool shares: the common options (--repo, --json, -q, -v,
// --version), one error format ("codex-get: error: …"), the mapping from
// libcore errors to the one exit-code table, and completions generated from
// the same CLI11 option definitions that make --help.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "codex/error.hpp"

namespace codex::cli {

struct CommonOptions {
  std::string repo;      // --repo DIR (empty: $CODEX_REPO, else the XDG data dir)
  bool json = false;     // --json
  bool quiet = false;    // -q
  int verbose = 0;       // -v (repeatable)
  bool sync = false;     // --sync (tools with -o)
};

enum CommonFlags : unsigned {
  kRepo = 1,
  kJson = 2,
  kSync = 4,  // --sync: fsync the -o output before the tool ends
};

class Tool {
 public:
  Tool(std::string name, std::string description);
  CLI::App& app() { return app_; }
  CommonOptions& common() { return common_; }
  const std::string& name() const { return name_; }
  void add_common(unsigned flags);

  // Parses argv, runs body, prints errors, returns the process exit code.
  int run(int argc, char** argv, const std::function<Status()>& body);

  // Messages for people on stderr: info unless -q, verbose with -v.
  void info(const std::string& message) const;
  void verbose(const std::string& message) const;
  void warn(const std::string& message) const;
  // An error on stderr: "NAME: error: MESSAGE", or with --json one object
  // {"tool":NAME,"error":MESSAGE,"code":EXIT-CODE,"kind":ERRC-NAME}.
  void print_error(const Error& error, bool json) const;

 private:
  std::string name_;
  CLI::App app_;
  CommonOptions common_;
};

// The repository directory for --repo: the flag, else $CODEX_REPO, else
// $XDG_DATA_HOME/codex, else ~/.local/share/codex.
std::string resolve_repo(const std::string& flag);

// What an option's value completes to, beyond what its type says (FILE and
// DIR: files; CID, or a positional named CID: the repository's CIDs).
void complete_with_choices(CLI::Option* option, std::vector<std::string> choices);
void complete_with_command(CLI::Option* option, std::string command);  // the words COMMAND prints

// Completion scripts for the app's options (bash, zsh, fish).
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace codex::cli
