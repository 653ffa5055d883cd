// The JSON Schemas in specs/schema/ and the C++ loader must agree: every example stack is
// valid under both, and every malformed spec of the corpus is rejected by both. The
// schema side runs ajv under node (tools/schema-check), an implementation independent of
// ours. Cases a per-document schema cannot judge carry a schema.txt saying why.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "specs/kinds.h"
#include "specs/project.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> YamlFiles(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string ext = e.path().extension().string();
    if (ext == ".yaml" || ext == ".yml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// file -> {valid, errors}
std::map<std::string, json> SchemaCheck(const std::vector<std::string>& files) {
  std::vector<std::string> argv = {"/usr/bin/env", "node", SourcePath("tools/schema-check/check.mjs"),
                                   SourcePath("specs/schema")};
  argv.insert(argv.end(), files.begin(), files.end());
  ProcessResult r = RunProcess(argv);
  INFO(r.err);
  REQUIRE_MESSAGE(r.exit_code == 0, "the schema checker failed; run scripts/setup.sh to install its npm packages");
  std::map<std::string, json> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    out[j["file"]] = j;
  }
  return out;
}

std::set<std::string> SchemaProperties(const std::string& file, const std::vector<std::string>& path) {
  std::ifstream in(SourcePath("specs/schema/" + file));
  json schema = json::parse(in);
  json* node = &schema;
  for (const std::string& p : path) node = &(*node)[p];
  std::set<std::string> names;
  for (const auto& [k, v] : node->items()) names.insert(k);
  return names;
}

TEST_CASE("schema: each kind's schema has exactly the loader's fields") {
  using specs::Kind;
  const std::vector<std::string> spec_path = {"properties", "spec", "properties"};
  auto fields = [](Kind k) {
    const auto& f = specs::FieldsOf(k);
    return std::set<std::string>(f.begin(), f.end());
  };
  CHECK(SchemaProperties("readonlyinstance.schema.json", spec_path) == fields(Kind::kReadOnlyInstance));
  CHECK(SchemaProperties("readonlygroup.schema.json", spec_path) == fields(Kind::kReadOnlyGroup));
  CHECK(SchemaProperties("serverlessinstance.schema.json", spec_path) == fields(Kind::kServerlessInstance));
  const auto& d = specs::DefaultableFields();
  CHECK(SchemaProperties("project.schema.json", {"properties", "defaults", "properties"}) ==
        std::set<std::string>(d.begin(), d.end()));
}

TEST_CASE("schema: every example stack is valid under the schema") {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(SourcePath("examples"))) {
    if (!e.is_directory()) continue;
    for (const std::string& f : YamlFiles(e.path())) files.push_back(f);
  }
  REQUIRE(files.size() >= 7);
  for (const auto& [file, result] : SchemaCheck(files)) {
    CAPTURE(file);
    CAPTURE(result.dump());
    CHECK(result["valid"] == true);
  }
}

TEST_CASE("schema: every malformed spec of the corpus is rejected by the schema too") {
  // Every judged case is copied (with its generated inputs) under one scratch directory, and
  // one node process checks them all.
  TempDir scratch("schema");
  std::map<std::string, std::vector<std::string>> files_of;  // case -> its yaml files
  int not_expressible = 0;
  for (const auto& c : fs::directory_iterator(SourcePath("tests/specs/invalid"))) {
    if (!c.is_directory()) continue;
    const std::string name = c.path().filename().string();
    if (fs::exists(c.path() / "schema.txt")) {
      CAPTURE(name);
      CHECK(ReadFile((c.path() / "schema.txt").string()).rfind("n/a: ", 0) == 0);
      ++not_expressible;
      continue;
    }
    fs::path dir = scratch.path() / name;
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(c.path())) fs::copy_file(e.path(), dir / e.path().filename());
    std::ifstream gen(c.path() / "generate.txt");
    std::string file;
    size_t bytes = 0;
    while (gen >> file >> bytes) scratch.Write(name + "/" + file, std::string(bytes - 1, '#') + "\n");
    files_of[name] = YamlFiles(dir);
  }
  std::vector<std::string> all;
  for (const auto& [name, files] : files_of) all.insert(all.end(), files.begin(), files.end());
  std::map<std::string, json> results = SchemaCheck(all);
  for (const auto& [name, files] : files_of) {
    CAPTURE(name);
    bool rejected = std::any_of(files.begin(), files.end(), [&](const std::string& f) {
      return results.count(f) && results[f]["valid"] == false;
    });
    CHECK(rejected);
  }
  CHECK(files_of.size() >= 50);
  CHECK(not_expressible == 7);
}

}  // namespace
}  // namespace reconciler::testing
