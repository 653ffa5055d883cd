#pragma once

// What the command line says about itself: the command list of `reconciler help` (the README
// shows the same text, tests/cli/cli_help_test.cpp checks it), "did you mean" for a mistyped
// command or flag, and the words shell completion offers. All of it is read from the CLI11 app
// that cli.cpp builds, so a new command or flag shows up everywhere at once.

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace reconciler {

// One usage line per command ("reconciler plan [STACK] [--out OUT] ..."), each followed by its
// description indented by four spaces. Subcommands with subcommands of their own ("state")
// get a line per leaf. Hidden commands (no group) are left out. Ends with a newline.
std::string CommandList(const CLI::App& app);

// The subcommand that `path` names ({"state", "list"}), or nullptr when one of the words is
// not a command; then `*unknown` is that word and `*parent` the command it is not under.
const CLI::App* FindCommand(const CLI::App& app, const std::vector<std::string>& path, std::string* unknown,
                            const CLI::App** parent);

// The nearest of `known` to `word` by edit distance (a swap of two letters counts one), or ""
// when none is within max(2, size/3) edits.
std::string ClosestName(const std::string& word, const std::vector<std::string>& known);

// The names of `app`'s visible subcommands, in the order they were added.
std::vector<std::string> CommandNames(const CLI::App& app);

// For arguments CLI11 refused: names the first unknown command or flag, with the nearest known
// one ("reconciler: unknown command 'plna'; did you mean 'plan'?"). "" when every command and
// flag in `args` is known (the error is of another kind, such as a missing value).
std::string DidYouMean(const CLI::App& app, const std::vector<std::string>& args);

// `reconciler __complete WORD...`: the commands and flags that may come after WORDs, one a
// line. Nothing after a flag that takes a value (the shell then offers files).
std::string CompletionWords(const CLI::App& app, const std::vector<std::string>& words);

}  // namespace reconciler
