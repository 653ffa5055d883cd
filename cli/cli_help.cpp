#include "cli/cli_help.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

namespace reconciler {

namespace {

bool Visible(const CLI::App* sub) { return !sub->get_group().empty(); }

std::vector<const CLI::App*> VisibleSubcommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return Visible(sub); });
}

bool TakesValue(const CLI::Option* opt) { return opt->get_expected_max() > 0; }  // a flag expects 0

// "--log-format" -> "LOG_FORMAT": the placeholder for the option's value.
std::string ValueName(const std::string& lname) {
  std::string out;
  for (char c : lname) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string UsageLine(const CLI::App& app, const std::string& path) {
  std::string line = path;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->nonpositional()) continue;
    const std::string name = opt->get_name(true);
    line += opt->get_required() ? " " + name : " [" + name + "]";
  }
  for (const CLI::Option* opt : app.get_options()) {
    if (opt == app.get_help_ptr() || opt->get_lnames().empty()) continue;
    const std::string& lname = opt->get_lnames().front();
    line += " [--" + lname + (TakesValue(opt) ? " " + ValueName(lname) : "") + "]";
  }
  return line;
}

void AppendCommands(const CLI::App& app, const std::string& path, std::string* out) {
  std::vector<const CLI::App*> subs = VisibleSubcommands(app);
  if (subs.empty()) {
    out->append(UsageLine(app, path)).append("\n    ").append(app.get_description()).append("\n");
    return;
  }
  for (const CLI::App* sub : subs) AppendCommands(*sub, path + " " + sub->get_name(), out);
}

// Optimal string alignment distance: Levenshtein, plus a swap of neighbours as one edit, the
// typo most often made ("plna").
size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The option `name` ("--out", "-v") names in `app` or, as CLI11 falls through, its parents.
const CLI::Option* FindFlag(const CLI::App* app, const std::string& name) {
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* opt : app->get_options()) {
      if (opt->nonpositional() && opt->check_name(name)) return opt;
    }
  }
  return nullptr;
}

std::vector<std::string> FlagNames(const CLI::App* app) {
  std::vector<std::string> names;
  for (; app != nullptr; app = app->get_parent()) {
    for (const CLI::Option* opt : app->get_options()) {
      for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    }
  }
  return names;
}

size_t PositionalCount(const CLI::App* app) {
  return app->get_options([](const CLI::Option* o) { return !o->nonpositional(); }).size();
}

// Where the words lead: the deepest command they name, and the first word that is neither a
// command, a known flag, a flag's value nor a positional argument.
struct Walk {
  const CLI::App* app = nullptr;
  std::string path = "reconciler";
  std::string unknown_command;
  std::string unknown_flag;
  bool wants_value = false;  // the last word is a flag that takes a value
};

Walk WalkWords(const CLI::App& root, const std::vector<std::string>& words) {
  Walk w;
  w.app = &root;
  size_t positionals = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    w.wants_value = false;
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      const std::string name = word.substr(0, word.find('='));
      const CLI::Option* opt = FindFlag(w.app, name);
      if (opt == nullptr) {
        w.unknown_flag = name;
        return w;
      }
      if (TakesValue(opt) && name.size() == word.size()) {
        if (i + 1 == words.size()) w.wants_value = true;
        ++i;
      }
      continue;
    }
    auto subs = VisibleSubcommands(*w.app);
    auto sub = std::find_if(subs.begin(), subs.end(), [&](const CLI::App* s) { return s->check_name(word); });
    if (sub != subs.end()) {
      w.app = *sub;
      w.path += " " + (*sub)->get_name();
      positionals = 0;
    } else if (!subs.empty() && positionals >= PositionalCount(w.app)) {
      w.unknown_command = word;
      return w;
    } else {
      ++positionals;
    }
  }
  return w;
}

}  // namespace

std::string CommandList(const CLI::App& app) {
  std::string out = UsageLine(app, "reconciler") + " COMMAND\n    Global flags, before or after COMMAND\n";
  AppendCommands(app, "reconciler", &out);
  return out;
}

std::vector<std::string> CommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : VisibleSubcommands(app)) names.push_back(sub->get_name());
  return names;
}

const CLI::App* FindCommand(const CLI::App& app, const std::vector<std::string>& path, std::string* unknown,
                            const CLI::App** parent) {
  const CLI::App* at = &app;
  for (const std::string& word : path) {
    auto subs = VisibleSubcommands(*at);
    auto sub = std::find_if(subs.begin(), subs.end(), [&](const CLI::App* s) { return s->check_name(word); });
    if (sub == subs.end()) {
      *unknown = word;
      *parent = at;
      return nullptr;
    }
    at = *sub;
  }
  return at;
}

std::string ClosestName(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& name : known) {
    const size_t d = EditDistance(word, name);
    if (d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  return best;
}

std::string DidYouMean(const CLI::App& app, const std::vector<std::string>& args) {
  Walk w = WalkWords(app, args);
  std::string what, word, nearest;
  if (!w.unknown_command.empty()) {
    what = "command";
    word = w.unknown_command;
    nearest = ClosestName(word, CommandNames(*w.app));
  } else if (!w.unknown_flag.empty()) {
    what = "flag";
    word = w.unknown_flag;
    nearest = ClosestName(word, FlagNames(w.app));
  } else {
    return "";
  }
  std::string out = w.path + ": unknown " + what + " '" + word + "'";
  if (!nearest.empty()) out += "; did you mean '" + nearest + "'?";
  out += "\nSee '" + w.path + " --help'.\n";
  return out;
}

std::string CompletionWords(const CLI::App& app, const std::vector<std::string>& words) {
  Walk w = WalkWords(app, words);
  if (w.wants_value || !w.unknown_command.empty() || !w.unknown_flag.empty()) return "";
  std::string out;
  for (const std::string& name : CommandNames(*w.app)) out += name + "\n";
  for (const CLI::Option* opt : w.app->get_options()) {
    for (const std::string& l : opt->get_lnames()) out += "--" + l + "\n";
  }
  return out;
}

}  // namespace reconciler
