// Shell completions generated from a tool's CLI11 definition, so that help,
// completions and the man-page check all come from one list of options.
// What a value completes to: files for FILE and DIR, the CIDs the repository
// holds for CID (asked of `codex-repo ls --cids`, honouring --repo on the
// command line), a fixed list (complete_with_choices) or the words a command
// prints (complete_with_command, e.g. `codex-encode --list-backends`).
// Subcommands (codex-repo's verbs) complete first, then their own options.
#include <fmt/core.h>

#include <map>
#include <string>
#include <vector>

#include "cli/tool.hpp"

namespace codex::cli {
namespace {

struct Words {
  std::vector<std::string> choices;
  std::string command;
};
std::map<const CLI::Option*, Words>& registry() {
  static std::map<const CLI::Option*, Words> words;
  return words;
}

enum class Kind { none, files, cids, choices, command };

struct OptionInfo {
  std::vector<std::string> longs;
  std::vector<std::string> shorts;
  std::string description;
  bool takes_value = false;
  Kind kind = Kind::none;
  Words words;
};

Kind kind_of(const CLI::Option* option, const std::string& type_or_name) {
  auto it = registry().find(option);
  if (it != registry().end()) return it->second.command.empty() ? Kind::choices : Kind::command;
  if (type_or_name == "CID") return Kind::cids;
  if (type_or_name == "FILE" || type_or_name == "DIR") return Kind::files;
  return Kind::none;
}

std::vector<OptionInfo> visible_options(const CLI::App& app) {
  std::vector<OptionInfo> out;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty() || (option->get_lnames().empty() && option->get_snames().empty())) continue;
    OptionInfo info;
    for (const auto& name : option->get_lnames()) info.longs.push_back("--" + name);
    for (const auto& name : option->get_snames()) info.shorts.push_back("-" + name);
    info.description = option->get_description();
    info.takes_value = option->get_items_expected_max() > 0;  // flags expect 0 items
    info.kind = kind_of(option, option->get_type_name());
    if (auto it = registry().find(option); it != registry().end()) info.words = it->second;
    out.push_back(std::move(info));
  }
  return out;
}

// What the words that are not options complete to: the first positional's kind.
Kind positional_kind(const CLI::App& app) {
  for (const CLI::Option* option : app.get_options())
    if (option->get_lnames().empty() && option->get_snames().empty() && option->get_items_expected_max() > 0)
      return kind_of(option, option->get_name());
  return Kind::none;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands({})) out.push_back(sub);
  return out;
}

std::string escape_single(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string::npos) end = text.size();
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string function_name(const std::string& name) {
  std::string function = "_" + name;
  for (char& c : function)
    if (c == '-') c = '_';
  return function;
}

// --- bash --------------------------------------------------------------------

std::string bash_reply(Kind kind, const Words& words, const std::string& fn) {
  switch (kind) {
    case Kind::files: return "COMPREPLY=($(compgen -f -- \"$cur\"))";
    case Kind::cids: return "COMPREPLY=($(compgen -W \"$(" + fn + "_cids)\" -- \"$cur\"))";
    case Kind::choices: return "COMPREPLY=($(compgen -W '" + join(words.choices) + "' -- \"$cur\"))";
    case Kind::command: return "COMPREPLY=($(compgen -W \"$(" + words.command + " 2>/dev/null)\" -- \"$cur\"))";
    case Kind::none: break;
  }
  return "COMPREPLY=()";
}

// The case arms for options that take a value, and the option words.
void bash_options(const std::vector<OptionInfo>& options, const std::string& fn, std::string& arms, std::string& words) {
  for (const auto& option : options) {
    for (const auto& n : option.longs) words += (words.empty() ? "" : " ") + n;
    for (const auto& n : option.shorts) words += (words.empty() ? "" : " ") + n;
    if (!option.takes_value) continue;
    std::vector<std::string> names = option.longs;
    names.insert(names.end(), option.shorts.begin(), option.shorts.end());
    std::string pattern;
    for (const auto& n : names) pattern += (pattern.empty() ? "" : "|") + n;
    arms += fmt::format("    {}) {}; return ;;\n", pattern, bash_reply(option.kind, option.words, fn));
  }
}

std::string bash(const CLI::App& app) {
  const std::string name = app.get_name();
  const std::string fn = function_name(name);
  std::string arms, words;
  bash_options(visible_options(app), fn, arms, words);
  std::string script = fmt::format(
      "# bash completion for {0} (generated by '{0} --completions bash'; do not edit)\n"
      "{1}_cids() {{\n"
      "  local i repo=()\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    [[ ${{COMP_WORDS[i]}} == --repo ]] && repo=(--repo \"${{COMP_WORDS[i+1]}}\")\n"
      "  done\n"
      "  codex-repo \"${{repo[@]}}\" ls --cids 2>/dev/null\n"
      "}}\n"
      "{1}() {{\n"
      "  local cur prev\n"
      "  cur=\"${{COMP_WORDS[COMP_CWORD]}}\"\n"
      "  prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n",
      name, fn);
  const auto subs = subcommands(app);
  if (!subs.empty()) {
    std::vector<std::string> names;
    for (const auto* sub : subs) names.push_back(sub->get_name());
    std::string pattern;
    for (const auto& n : names) pattern += (pattern.empty() ? "" : "|") + n;
    script += "  local i verb=\"\"\n"
              "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "    case \"${COMP_WORDS[i]}\" in " + pattern + ") verb=${COMP_WORDS[i]}; break ;; esac\n"
              "  done\n"
              "  case \"$verb\" in\n";
    for (const auto* sub : subs) {
      std::string sub_arms, sub_words;
      bash_options(visible_options(*sub), fn, sub_arms, sub_words);
      std::string all = words;
      for (const auto& word : split_words(sub_words))
        if ((" " + words + " ").find(" " + word + " ") == std::string::npos) all += " " + word;
      script += fmt::format("    {})\n", sub->get_name());
      if (!sub_arms.empty() || !arms.empty())
        script += "      case \"$prev\" in\n" + arms + sub_arms + "      esac\n";
      script += fmt::format(
          "      if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W '{}' -- \"$cur\"))\n"
          "      else {}\n"
          "      fi\n"
          "      return ;;\n",
          all, bash_reply(positional_kind(*sub), {}, fn));
    }
    script += "  esac\n";
    if (!arms.empty()) script += "  case \"$prev\" in\n" + arms + "  esac\n";
    script += fmt::format(
        "  if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W '{}' -- \"$cur\"))\n"
        "  else COMPREPLY=($(compgen -W '{}' -- \"$cur\"))\n"
        "  fi\n"
        "}}\n"
        "complete -F {} {}\n",
        words, join(names), fn, name);
    return script;
  }
  if (!arms.empty()) script += "  case \"$prev\" in\n" + arms + "  esac\n";
  script += fmt::format(
      "  if [[ \"$cur\" == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W '{}' -- \"$cur\"))\n"
      "  else\n"
      "    {}\n"
      "  fi\n"
      "}}\n"
      "complete -F {} {}\n",
      words, bash_reply(positional_kind(app), {}, fn), fn, name);
  return script;
}

// --- zsh ---------------------------------------------------------------------

std::string zsh_action(Kind kind, const Words& words, const std::string& fn) {
  switch (kind) {
    case Kind::files: return "_files";
    case Kind::cids: return fn + "_cids";
    case Kind::choices: return "(" + join(words.choices) + ")";
    case Kind::command: return "{compadd -- $(" + words.command + " 2>/dev/null)}";
    case Kind::none: break;
  }
  return " ";
}

std::string zsh_specs(const std::vector<OptionInfo>& options, const std::string& fn, const std::string& indent) {
  std::string out;
  for (const auto& option : options) {
    std::vector<std::string> names = option.shorts;
    names.insert(names.end(), option.longs.begin(), option.longs.end());
    std::string description = escape_single(option.description);
    for (char& c : description)
      if (c == '[' || c == ']') c = c == '[' ? '(' : ')';
    std::string action = option.takes_value ? ":value:" + escape_single(zsh_action(option.kind, option.words, fn)) : "";
    if (names.size() == 1) {
      out += fmt::format("{}'{}[{}]{}' \\\n", indent, names[0], description, action);
    } else {
      std::string group = join(names);
      for (const auto& n : names) out += fmt::format("{}'({}){}[{}]{}' \\\n", indent, group, n, description, action);
    }
  }
  return out;
}

std::string zsh(const CLI::App& app) {
  const std::string name = app.get_name();
  const std::string fn = function_name(name);
  std::string script = fmt::format(
      "#compdef {0}\n# zsh completion for {0} (generated by '{0} --completions zsh'; do not edit)\n"
      "{1}_cids() {{\n"
      "  local -a cids repo\n"
      "  [[ -n ${{opt_args[--repo]}} ]] && repo=(--repo ${{opt_args[--repo]}})\n"
      "  cids=(${{(f)\"$(codex-repo $repo ls --cids 2>/dev/null)\"}})\n"
      "  compadd -a cids\n"
      "}}\n",
      name, fn);
  const auto subs = subcommands(app);
  if (subs.empty()) {
    Kind positional = positional_kind(app);
    script += "_arguments -s \\\n" + zsh_specs(visible_options(app), fn, "  ");
    script += "  '*:" + std::string(positional == Kind::cids ? "cid" : "file") + ":" +
              zsh_action(positional == Kind::none ? Kind::files : positional, {}, fn) + "'\n";
    return script;
  }
  script += "local curcontext=\"$curcontext\" state line\ntypeset -A opt_args\n_arguments -s -C \\\n" +
            zsh_specs(visible_options(app), fn, "  ");
  std::string verbs;
  for (const auto* sub : subs) {
    std::string description = escape_single(sub->get_description());
    for (char& c : description)
      if (c == ':') c = ';';
    verbs += (verbs.empty() ? "" : " ") + fmt::format("'{}:{}'", sub->get_name(), description);
  }
  script += "  '1:command:->verb' \\\n  '*::argument:->argument'\n"
            "case $state in\n"
            "  verb) local -a verbs; verbs=(" + verbs + "); _describe command verbs ;;\n"
            "  argument)\n    case $line[1] in\n";
  for (const auto* sub : subs) {
    Kind positional = positional_kind(*sub);
    script += "      " + sub->get_name() + ") _arguments -s \\\n" + zsh_specs(visible_options(*sub), fn, "          ");
    script += positional == Kind::none ? "          '*:: :'" : "          '*:cid:" + zsh_action(positional, {}, fn) + "'";
    script += " ;;\n";
  }
  script += "    esac ;;\nesac\n";
  return script;
}

// --- fish --------------------------------------------------------------------

std::string fish_source(Kind kind, const Words& words) {
  switch (kind) {
    case Kind::files: return " -r -F";
    case Kind::cids: return " -r -f -a '(codex-repo (__fish_codex_repo_flag) ls --cids 2>/dev/null)'";
    case Kind::choices: return " -r -f -a '" + join(words.choices) + "'";
    case Kind::command: return " -r -f -a '(" + words.command + " 2>/dev/null)'";
    case Kind::none: break;
  }
  return " -r -f";
}

std::string fish_lines(const std::string& name, const std::vector<OptionInfo>& options, const std::string& condition) {
  std::string out;
  for (const auto& option : options) {
    std::string line = "complete -c " + name + condition;
    for (const auto& n : option.shorts) line += " -s " + n.substr(1);
    for (const auto& n : option.longs) line += " -l " + n.substr(2);
    if (option.takes_value) line += fish_source(option.kind, option.words);
    line += " -d '" + escape_single(option.description) + "'";
    out += line + "\n";
  }
  return out;
}

std::string fish(const CLI::App& app) {
  const std::string name = app.get_name();
  std::string script = fmt::format(
      "# fish completion for {0} (generated by '{0} --completions fish'; do not edit)\n"
      "function __fish_codex_repo_flag\n"
      "    set -l words (commandline -opc)\n"
      "    set -l i (contains -i -- --repo $words)\n"
      "    and echo --repo $words[(math $i + 1)]\n"
      "end\n",
      name);
  script += fish_lines(name, visible_options(app), "");
  const auto subs = subcommands(app);
  if (subs.empty()) {
    Kind positional = positional_kind(app);
    if (positional == Kind::cids) script += "complete -c " + name + " -f -a '(codex-repo (__fish_codex_repo_flag) ls --cids 2>/dev/null)'\n";
    return script;
  }
  std::vector<std::string> names;
  for (const auto* sub : subs) names.push_back(sub->get_name());
  for (const auto* sub : subs)
    script += fmt::format("complete -c {} -f -n '__fish_use_subcommand' -a {} -d '{}'\n", name, sub->get_name(),
                          escape_single(sub->get_description()));
  for (const auto* sub : subs) {
    const std::string condition = " -n '__fish_seen_subcommand_from " + sub->get_name() + "'";
    script += fish_lines(name, visible_options(*sub), condition);
    if (positional_kind(*sub) == Kind::cids)
      script += "complete -c " + name + condition + " -f -a '(codex-repo (__fish_codex_repo_flag) ls --cids 2>/dev/null)'\n";
  }
  return script;
}

}  // namespace

void complete_with_choices(CLI::Option* option, std::vector<std::string> choices) {
  registry()[option] = Words{std::move(choices), {}};
}

void complete_with_command(CLI::Option* option, std::string command) { registry()[option] = Words{{}, std::move(command)}; }

std::string completion_script(const CLI::App& app, const std::string& shell) {
  if (shell == "bash") return bash(app);
  if (shell == "zsh") return zsh(app);
  return fish(app);
}

}  // namespace codex::cli
