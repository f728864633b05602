// The shared frame of every tool's main; see tool.hpp.
#include "cli/tool.hpp"

#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "codex/json.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace codex::cli {

Tool::Tool(std::string name, std::string description) : name_(std::move(name)), app_(std::move(description), name_) {
  app_.set_help_flag("-h,--help", "print this help and exit");
  app_.set_version_flag("--version", std::string(name_) + " (codex-tools) " CODEX_VERSION, "print the version and exit");
  app_.get_formatter()->column_width(34);
  // Printed from the option's callback, which CLI11 runs before it checks
  // required options: `codex-get --completions bash` needs no CID.
  app_.add_option_function<std::string>(
          "--completions",
          [this](const std::string& shell) {
            std::fputs(completion_script(app_, shell).c_str(), stdout);
            throw CLI::Success();
          },
          "print a completion script for SHELL and exit")
      ->check(CLI::IsMember({"bash", "zsh", "fish"}))
      ->group("");  // hidden: used by scripts/gen-completions.sh
}

void Tool::add_common(unsigned flags) {
  if (flags & kRepo)
    app_.add_option("--repo", common_.repo, "repository directory (default $CODEX_REPO, else $XDG_DATA_HOME/codex, else ~/.local/share/codex)")
        ->type_name("DIR");
  if (flags & kSync)
    app_.add_flag("--sync", common_.sync, "make the -o output durable (fsync) before exiting; like cp, the default does not");
  if (flags & kJson) app_.add_flag("--json", common_.json, "print results as JSON lines (on stdout; on stderr when stdout carries data)");
  app_.add_flag("-q,--quiet", common_.quiet, "print nothing on stderr but errors and warnings");
  app_.add_flag("-v,--verbose", common_.verbose, "say more on stderr (repeat for more)");
}

void Tool::info(const std::string& message) const {
  if (!common_.quiet) std::fprintf(stderr, "%s%s: %s\n", stderr_line_start(), name_.c_str(), message.c_str());
}

void Tool::verbose(const std::string& message) const {
  if (common_.verbose > 0 && !common_.quiet)
    std::fprintf(stderr, "%s%s: %s\n", stderr_line_start(), name_.c_str(), message.c_str());
}

void Tool::warn(const std::string& message) const {
  std::fprintf(stderr, "%s%s: warning: %s\n", stderr_line_start(), name_.c_str(), message.c_str());
}

int Tool::run(int argc, char** argv, const std::function<Status()>& body) {
  // A closed pipe downstream is reported as a write error, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (ulimit -f) shows as a write error (EFBIG), like a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    app_.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app_.help().c_str(), stdout);
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::printf("%s\n", app_.version().c_str());
    return 0;
  } catch (const CLI::Success&) {
    return 0;  // an option that does its job during parsing (--list-backends)
  } catch (const CLI::ParseError& e) {
    bool json = false;
    for (int i = 1; i < argc; ++i) json = json || std::string_view(argv[i]) == "--json";
    if (json) print_error(Error{Errc::usage, e.what()}, true);
    else
      std::fprintf(stderr, "%s: error: %s\n%s: try '%s --help'\n", name_.c_str(), e.what(), name_.c_str(),
                   name_.c_str());
    return exit_code(Errc::usage);
  }
  Status status;
  try {
    status = body();
  } catch (const std::bad_alloc&) {
    status = make_error(Errc::failure, "out of memory");
  } catch (const std::exception& e) {
    status = make_error(Errc::failure, "internal error: {}", e.what());
  }
  if (std::fflush(stdout) != 0 && status.ok()) status = make_error(Errc::io, "cannot write 'stdout'");
  if (status.ok()) return 0;
  if (stdout_reader_gone()) {
    // `codex-get CID | head`: the reader has all it wanted. End as cat or
    // yes do, by SIGPIPE (the shell's 141), with no message. Temporary files
    // were removed when the body returned.
    std::signal(SIGPIPE, SIG_DFL);
    std::raise(SIGPIPE);
  }
  const Error& error = status.error();
  // Outcomes 6, 7 and 8 always come with a line saying why: the tool's, or
  // a general one. Damaged (6) and repaired (8) are findings, not errors,
  // and -q silences them; unrecoverable (7) is printed as an error.
  std::string why = error.message;
  if (why.empty()) {
    switch (error.code) {
      case Errc::damaged: why = "damage found; all of it can be repaired from what is held (codex-repair)"; break;
      case Errc::unrecoverable: why = "damage found that cannot be repaired from what is held"; break;
      case Errc::repaired: why = "blocks were rebuilt; everything held is intact again"; break;
      default: why = errc_name(error.code); break;
    }
  }
  if (error.code == Errc::damaged || error.code == Errc::repaired) {
    if (common_.quiet) {
    } else if (common_.json) {
      print_error(Error{error.code, why}, true);
    } else {
      std::fprintf(stderr, "%s%s: %s: %s\n", stderr_line_start(), name_.c_str(), errc_name(error.code), why.c_str());
    }
  } else {
    print_error(Error{error.code, why}, common_.json);
  }
  return exit_code(error.code);
}

void Tool::print_error(const Error& error, bool json) const {
  if (!json) {
    std::fprintf(stderr, "%s%s: error: %s\n", stderr_line_start(), name_.c_str(), error.message.c_str());
    return;
  }
  // With --json a program reads stderr too: one JSON object per error.
  std::fprintf(stderr, "%s\n",
               JsonObject()
                   .add("tool", name_)
                   .add("error", error.message)
                   .add("code", exit_code(error.code))
                   .add("kind", errc_name(error.code))
                   .str()
                   .c_str());
}

std::string resolve_repo(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("CODEX_REPO"); env != nullptr && *env != '\0') return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/') return std::string(xdg) + "/codex";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/share/codex";
}

}  // namespace codex::cli
