// The emulator checks the product, so it must not share the product's beliefs: its sources
// include only their own headers, base/status.h, base/sha256.h and the signer. Its own value
// rules (rules.h) are tested here against the API pages they come from.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "emulator/rules.h"
#include "tests/support/process.h"

namespace reconciler::testing {
namespace {

namespace rules = tencentcloud::emulator::rules;

TEST_CASE("emulator independence: no source includes the product's rules") {
  const std::filesystem::path dir = SourcePath("emulator");
  const std::regex include(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".cpp" && ext != ".h" && ext != ".in") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const std::string target = m[1];
      CAPTURE(entry.path().string() + ":" + std::to_string(n) + ": " + line);
      // Quoted includes: its own headers, the status type, the hash, the signature and the
      // build's version string (which holds no belief about the API) only.
      if (line.find('"') == std::string::npos) continue;
      CHECK((target.rfind("emulator/", 0) == 0 || target == "base/status.h" || target == "base/sha256.h" ||
             target == "providers/tencentcloud/signer.h" || target == "base/version.h"));
    }
  }
  CHECK(files > 10);
}

TEST_CASE("emulator independence: the rules of the seed pages") {
  // "Only chinese characters, letters, digits, underscores and delimiters (-); less than 60."
  CHECK(rules::NameChars("orders-replica_1") == 16);
  CHECK(rules::NameChars("报表库") == 3);
  CHECK(rules::NameChars("reports db") == -1);
  CHECK(rules::NameChars("a.b") == -1);
  CHECK(rules::NameChars("\xE3\x80\x80") ==
        -1);                                  // an ideographic space is not a character of the set
  CHECK(rules::NameChars("\xE4\xB8") == -1);  // a cut sequence
  CHECK(rules::NameChars("") == 0);
  CHECK(rules::kMaxNameChars == 59);
  // Period: 1-12, 24, 36.
  for (uint64_t m : {1, 6, 12, 24, 36}) CHECK(rules::IsValidPeriod(m));
  for (uint64_t m : {0, 13, 18, 48}) CHECK_FALSE(rules::IsValidPeriod(m));
  CHECK(rules::kStorageStepGB == 10);
  CHECK(rules::kMinReplicaCount == 1);
  CHECK(rules::kMaxReplicaCount == 6);
  // Regions: the seed's list, then the regions Tencent Cloud knows.
  CHECK(rules::IsPostgresRegion("sa-saopaulo"));
  CHECK_FALSE(rules::IsPostgresRegion("eu-moscow"));
  CHECK(rules::IsKnownRegion("eu-moscow"));
  CHECK_FALSE(rules::IsKnownRegion("mars-north-1"));
}

}  // namespace
}  // namespace reconciler::testing
