// The layers, checked: every #include of a project header in a source folder must name a
// folder that this folder may depend on. The rules are the arrows of CMakeLists.txt (one
// library per folder); a header may be reachable through the include path without its
// library being linked, so the includes themselves are what this test reads.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;

// The layer a project path belongs to: the longest folder prefix that is a layer.
const std::vector<std::string> kLayers = {"providers/tencentcloud/", "providers/", "base/", "specs/", "state/",
                                          "engine/", "ui/", "app/", "gitops/", "daemon/", "cli/",
                                          "emulator/"};

std::string LayerOf(const std::string& path) {
  std::string best;
  for (const std::string& l : kLayers) {
    if (path.rfind(l, 0) == 0 && l.size() > best.size()) best = l;
  }
  return best;
}

// What each layer may include, besides its own headers. The emulator is held apart: it is
// the measuring stick of the product, so it may share only the status type, the hash and
// the signature algorithm, never the product's specs, engine or client.
const std::map<std::string, std::set<std::string>> kMayInclude = {
    {"base/", {}},
    {"specs/", {"base/"}},
    {"state/", {"base/"}},
    {"providers/", {"base/"}},
    {"providers/tencentcloud/", {"base/", "providers/"}},
    {"engine/", {"base/", "specs/", "state/", "providers/"}},
    {"ui/", {"base/", "specs/", "state/", "providers/", "engine/"}},
    {"app/", {"base/", "specs/", "state/", "providers/", "providers/tencentcloud/", "engine/"}},
    {"gitops/", {"base/", "specs/"}},
    {"daemon/", {"base/", "specs/", "state/", "providers/", "providers/tencentcloud/", "engine/", "ui/", "app/", "gitops/"}},
    {"cli/", {"base/", "specs/", "state/", "providers/", "providers/tencentcloud/", "engine/", "ui/", "app/", "gitops/",
              "daemon/"}},
    {"emulator/", {}},
};
const std::set<std::string> kEmulatorMayInclude = {"base/status.h", "base/sha256.h", "base/version.h", "providers/tencentcloud/signer.h"};

struct Violation {
  std::string where;
  std::string target;
};

// Every violation in `folder` of the tree at `root`.
std::vector<Violation> Violations(const fs::path& root, const std::string& folder, int* files) {
  const std::regex include(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::vector<Violation> out;
  const std::string from = LayerOf(folder + "/");
  for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cpp" && ext != ".h" && ext != ".in") continue;
    const std::string rel = fs::relative(entry.path(), root).string();
    if (LayerOf(rel) != from) continue;  // providers/tencentcloud/ is checked as its own folder
    ++*files;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const std::string target = m[1];
      const std::string to = LayerOf(target);
      bool ok = to == from || kMayInclude.at(from).count(to) > 0;
      if (from == "emulator/") ok = to == from || kEmulatorMayInclude.count(target) > 0;
      if (to.empty()) ok = false;  // a project header outside every layer (tests/, fuzz/)
      if (!ok) out.push_back({rel + ":" + std::to_string(n), target});
    }
  }
  return out;
}

TEST_CASE("layering: no source includes a header of a layer above it or beside it") {
  int files = 0;
  std::vector<Violation> all;
  for (const std::string& folder : {"base", "specs", "state", "providers", "engine", "ui", "app", "gitops", "daemon", "cli", "emulator"}) {
    for (Violation& v : Violations(SourcePath(""), folder, &files)) all.push_back(std::move(v));
  }
  for (const std::string& folder : {"providers/tencentcloud"}) {
    for (Violation& v : Violations(SourcePath(""), folder, &files)) all.push_back(std::move(v));
  }
  for (const Violation& v : all) {
    CAPTURE(v.where);
    FAIL_CHECK("includes " << v.target);
  }
  CHECK(all.empty());
  CHECK(files > 80);  // every folder was found and read
}

TEST_CASE("layering: SQLite is included only under state/sqlite/") {
  int files = 0;
  std::vector<std::string> found;
  for (const std::string folder : {"base", "specs", "state", "providers", "engine", "ui", "app", "gitops", "daemon", "cli", "emulator"}) {
    for (const auto& entry : fs::recursive_directory_iterator(SourcePath(folder))) {
      if (!entry.is_regular_file()) continue;
      ++files;
      const std::string rel = fs::relative(entry.path(), SourcePath("")).string();
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        if (line.find("#include <sqlite3.h>") != std::string::npos) found.push_back(rel);
      }
    }
  }
  CHECK(files > 80);
  REQUIRE(found.size() == 1);
  CHECK(found[0] == "state/sqlite/sqlite_state_store.cpp");
}

TEST_CASE("layering: libgit2 is included only under gitops/") {
  int files = 0;
  std::vector<std::string> found;
  for (const std::string folder : {"base", "specs", "state", "providers", "engine", "ui", "app", "gitops", "daemon", "cli", "emulator"}) {
    for (const auto& entry : fs::recursive_directory_iterator(SourcePath(folder))) {
      if (!entry.is_regular_file()) continue;
      ++files;
      const std::string rel = fs::relative(entry.path(), SourcePath("")).string();
      std::ifstream in(entry.path());
      std::string line;
      while (std::getline(in, line)) {
        if (line.find("#include <git2") != std::string::npos) found.push_back(rel);
      }
    }
  }
  CHECK(files > 80);
  REQUIRE_FALSE(found.empty());  // the search does see the one that exists
  for (const std::string& rel : found) {
    CAPTURE(rel);
    CHECK(rel.rfind("gitops/", 0) == 0);
    CHECK(rel.size() > 4);
    CHECK(rel.substr(rel.size() - 4) == ".cpp");  // never in a header, so it stays out of every includer
  }
}

TEST_CASE("layering: the checker sees a wrong arrow") {
  CHECK(LayerOf("providers/tencentcloud/signer.h") == "providers/tencentcloud/");
  CHECK(LayerOf("providers/provider.h") == "providers/");
  CHECK(LayerOf("tests/support/process.h").empty());
  CHECK(kMayInclude.at("engine/").count("providers/tencentcloud/") == 0);  // the engine never sees the client
  CHECK(kMayInclude.at("base/").empty());
  CHECK(kMayInclude.at("state/").count("engine/") == 0);
  CHECK(kEmulatorMayInclude.count("specs/rules.h") == 0);
  // A planted wrong arrow is found: an engine file that includes the Tencent client.
  TempDir tree;
  fs::create_directories(fs::path(tree.str()) / "engine");
  std::ofstream(fs::path(tree.str()) / "engine" / "probe.h")
      << "#pragma once\n#include \"engine/plan.h\"\n#include \"providers/tencentcloud/api_client.h\"\n";
  int files = 0;
  std::vector<Violation> found = Violations(tree.str(), "engine", &files);
  CHECK(files == 1);
  REQUIRE(found.size() == 1);
  CHECK(found[0].where == "engine/probe.h:3");
  CHECK(found[0].target == "providers/tencentcloud/api_client.h");
}

}  // namespace
}  // namespace reconciler::testing
