#include "specs/spec_loader.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "specs/project.h"
#include "specs/rules.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::specs {
namespace {

using testing::SourcePath;
using testing::ReadFile;
using testing::TempDir;

constexpr const char* kProject = "stack: unit\nprovider:\n  tencentcloud:\n    region: ap-beijing\n";

LoadedStack LoadText(const std::string& project, const std::vector<std::pair<std::string, std::string>>& files) {
  StackSource source;
  source.dir = ".";
  source.project = StackFile{"reconciler.yaml", project};
  for (const auto& [name, text] : files) source.files.push_back({name, text});
  return LoadStack(source);
}

TEST_CASE("spec loader: the quickstart example loads with defaults merged and groups first") {
  LoadedStack s = LoadStackDir(SourcePath("examples/quickstart"));
  INFO(s.RenderDiagnostics());
  REQUIRE(s.ok());
  CHECK(s.desired.project.stack == "quickstart");
  REQUIRE(s.desired.resources.size() == 3);
  // The group comes before the replica that joins it.
  size_t group_at = 0, replica_at = 0;
  for (size_t i = 0; i < s.desired.resources.size(); ++i) {
    if (s.desired.resources[i].key.ToString() == "ReadOnlyGroup/reports-group") group_at = i;
    if (s.desired.resources[i].key.ToString() == "ReadOnlyInstance/reports") replica_at = i;
  }
  CHECK(group_at < replica_at);
  const Resource* r = s.desired.Find({Kind::kReadOnlyInstance, "reports"});
  REQUIRE(r);
  const ReadOnlyInstanceSpec& spec = *r->replica();
  CHECK(spec.count == 2);
  CHECK(spec.region == "ap-beijing");
  CHECK(spec.vpc_id == "vpc-8btfafeo");  // from defaults
  CHECK(spec.instance_name == "reports");  // metadata.name
  CHECK(spec.tags == std::map<std::string, std::string>{{"purpose", "reporting"}, {"team", "data"}});
  CHECK(spec.charge_type == ChargeType::kPostpaidByHour);
  CHECK(spec.deletion_policy == DeletionPolicy::kOrphan);
  CHECK(spec.read_only_group == "reports-group");
  CHECK(r->depends_on == std::vector<ResourceKey>{{Kind::kReadOnlyGroup, "reports-group"}});
  const Resource* g = s.desired.Find({Kind::kReadOnlyGroup, "reports-group"});
  CHECK(g->group()->replay_lag_eliminate);
  CHECK(g->group()->replay_latency_eliminate);  // defaults to replayLagEliminate
  CHECK(g->group()->group_name == "reports-group");
  const Resource* sl = s.desired.Find({Kind::kServerlessInstance, "sandbox"});
  CHECK(sl->serverless()->subnet_id == "subnet-1bjserv1");  // its own, not the default
  CHECK(sl->serverless()->tags.at("team") == "data");
}

TEST_CASE("spec loader: anchors and merge keys inside a List") {
  LoadedStack s = LoadStackDir(SourcePath("examples/anchors"));
  INFO(s.RenderDiagnostics());
  REQUIRE(s.ok());
  const ReadOnlyInstanceSpec* large = s.desired.Find({Kind::kReadOnlyInstance, "large-ro"})->replica();
  CHECK(large->zone == "ap-beijing-4");
  CHECK(large->master_instance_id == "postgres-abcdef");
  CHECK(large->spec_code == "pg.it.large8");  // explicit keys win over the merged ones
  CHECK(large->storage_gb == 500);
  CHECK(large->tags == std::map<std::string, std::string>{{"cost-center", "4711"}, {"size", "large"}, {"team", "analytics"}});
}

TEST_CASE("spec loader: every example stack validates") {
  for (const char* name : {"quickstart", "prepaid", "anchors"}) {
    CAPTURE(name);
    LoadedStack s = LoadStackDir(SourcePath(std::string("examples/") + name));
    INFO(s.RenderDiagnostics());
    CHECK(s.ok());
  }
}

TEST_CASE("spec loader: defaults fill only what the spec leaves out") {
  LoadedStack s = LoadText(std::string(kProject) + "defaults:\n  zone: ap-beijing-3\n  deletionProtection: true\n  storageGB: 50\n",
                           {{"a.yaml", "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: a}\nspec:\n"
                                       "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n"
                                       "  vpcId: vpc-1\n  subnetId: subnet-1\n"}});
  INFO(s.RenderDiagnostics());
  REQUIRE(s.ok());
  const ReadOnlyInstanceSpec* r = s.desired.resources[0].replica();
  CHECK(r->zone == "ap-beijing-4");
  CHECK(r->deletion_protection);
  CHECK(r->storage_gb == 50);
}

TEST_CASE("spec loader: a bad default is reported once, at the project file") {
  auto spec = [](const std::string& name) {
    return "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name + "}\nspec:\n"
           "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n"
           "  vpcId: vpc-1\n  subnetId: subnet-1\n";
  };
  std::string a = spec("a"), b = spec("b");
  LoadedStack s = LoadText(std::string(kProject) + "defaults:\n  storageGB: 55\n", {{"a.yaml", a}, {"b.yaml", b}});
  std::vector<Diagnostic> d = s.diags.Sorted();
  REQUIRE(d.size() == 1);
  CHECK(d[0].at.file == "reconciler.yaml");
  CHECK(d[0].at.line == 6);
  CHECK(d[0].message == "storageGB must be a multiple of 10 from 10 to 32000, got 55");
}

TEST_CASE("spec loader: orderDeadline and runningDeadline are durations from 1m to 7d") {
  LoadedStack ok = LoadText(std::string(kProject) + "    orderDeadline: 90m\n    runningDeadline: 7d\n", {});
  INFO(ok.RenderDiagnostics());
  REQUIRE(ok.ok());
  CHECK(ok.desired.project.order_deadline_seconds == 5400);
  CHECK(ok.desired.project.running_deadline_seconds == 7 * 86400);
  LoadedStack defaults = LoadText(kProject, {});
  CHECK(defaults.desired.project.order_deadline_seconds == 1800);
  CHECK(defaults.desired.project.running_deadline_seconds == 3600);

  struct Bad {
    std::string line;
    std::string rendered;
  };
  const Bad cases[] = {
      {"    orderDeadline: 30s\n", "reconciler.yaml:5:20: error: orderDeadline must be a duration from 1m to 7d"},
      {"    orderDeadline: 8d\n", "reconciler.yaml:5:20: error: orderDeadline must be a duration from 1m to 7d"},
      {"    orderDeadline: soon\n", "reconciler.yaml:5:20: error: orderDeadline must be a duration from 1m to 7d"},
      {"    runningDeadline: [1h]\n", "reconciler.yaml:5:22: error: runningDeadline must be a duration from 1m to 7d"},
      {"    runningDeadline: -1h\n", "reconciler.yaml:5:22: error: runningDeadline must be a duration from 1m to 7d"},
      {"    orderDeadlin: 30m\n", "reconciler.yaml:5:5: error: unknown field \"orderDeadlin\""},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.line);
    LoadedStack s = LoadText(std::string(kProject) + c.line, {});
    CHECK_FALSE(s.ok());
    CHECK(s.RenderDiagnostics().find(c.rendered) != std::string::npos);
  }
  LoadedStack both = LoadText(std::string(kProject) + "    orderDeadline: 0m\n    runningDeadline: 9d\n", {});
  CHECK(both.diags.error_count() == 2);  // every problem, not just the first
}

TEST_CASE("spec loader: warnings are shown but do not fail") {
  LoadedStack s = LoadText(kProject, {{"a.yaml", "apiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: a}\nspec:\n"
                                                 "  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n"
                                                 "  storageGB: 10\n  vpcId: vpc-1\n  subnetId: subnet-1\n  dbVersion: \"12.22\"\n"}});
  CHECK(s.ok());
  CHECK(s.RenderDiagnostics() ==
        "a.yaml:11:14: warning: dbVersion is ignored: the API deprecated it, and a replica runs its master's version\n"
        "    dbVersion: \"12.22\"\n"
        "               ^\n");
}

TEST_CASE("spec loader: diagnostics are sorted by file, line and column across files") {
  LoadedStack s = LoadText(kProject, {{"b.yaml", "apiVersion: v2\n"}, {"a.yaml", "kind: X\n"}});
  std::vector<Diagnostic> d = s.diags.Sorted();
  REQUIRE(d.size() >= 2);
  for (size_t i = 1; i < d.size(); ++i) {
    CHECK(std::tie(d[i - 1].at.file, d[i - 1].at.line, d[i - 1].at.column) <=
          std::tie(d[i].at.file, d[i].at.line, d[i].at.column));
  }
  CHECK(d.front().at.file == "a.yaml");
}

TEST_CASE("spec loader: the caret keeps tab stops and skips wide characters") {
  Diagnostics d;
  d.Error({"f.yaml", 1, 4}, "m");
  CHECK(d.Render({{"f.yaml", "\tx\xe4\xb8\xadz\n"}}) == "f.yaml:1:4: error: m\n  \tx\xe4\xb8\xadz\n  \t   ^\n");
}

TEST_CASE("spec loader: ResourceKey round trip") {
  auto k = ParseResourceKey("ReadOnlyGroup/reports-group");
  REQUIRE(k);
  CHECK(k->kind == Kind::kReadOnlyGroup);
  CHECK(k->ToString() == "ReadOnlyGroup/reports-group");
  CHECK_FALSE(ParseResourceKey("Thing/x"));
  CHECK_FALSE(ParseResourceKey("ReadOnlyGroup/"));
}

TEST_CASE("spec rules: durations, hints, zones and names") {
  int64_t s = 0;
  CHECK((ParseDuration("90s", &s) && s == 90));
  CHECK((ParseDuration("1h30m", &s) && s == 5400));
  CHECK((ParseDuration("120", &s) && s == 120));
  CHECK_FALSE(ParseDuration("soon", &s));
  CHECK_FALSE(ParseDuration("m5", &s));
  CHECK(DidYouMean("storageGb", {"storageGB", "specCode"}) == "storageGB");
  CHECK(DidYouMean("POSTPAID", {"PREPAID", "POSTPAID_BY_HOUR"}) == "POSTPAID_BY_HOUR");
  CHECK(DidYouMean("zzzzzz", {"storageGB"}).empty());
  CHECK(ZoneInRegion("ap-beijing-4", "ap-beijing"));
  CHECK_FALSE(ZoneInRegion("ap-beijing-fsi-1", "ap-beijing"));
  CHECK_FALSE(ZoneInRegion("ap-beijing", "ap-beijing"));
  CHECK(CheckCloudName("\xe6\x8a\xa5\xe8\xa1\xa8-ro_1").empty());
  CHECK_FALSE(CheckCloudName("a b").empty());
  // A lead byte of the CJK block followed by ASCII is not a character, though its bits
  // would decode to one.
  CHECK(CloudNameChars("\xe4" "ab") == -1);
  CHECK(CloudNameChars("\xe6\x8a\xa5-1") == 3);
  CHECK(CheckCloudName(std::string(59, 'a')).empty());
  CHECK_FALSE(CheckCloudName(std::string(60, 'a')).empty());
  CHECK(IdHasForm("postgres-abcdef", "postgres-"));
  CHECK_FALSE(IdHasForm("postgres-ABC", "postgres-"));
}

TEST_CASE("spec loader: a stack is read from a directory, top level only, hidden files skipped") {
  TempDir dir("stack");
  dir.Write("reconciler.yaml", kProject);
  dir.Write("a.yml", "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: s1}\nspec: {zone: ap-beijing-1}\n");
  dir.Write(".hidden.yaml", "garbage: [\n");
  dir.Write("notes.txt", "garbage: [\n");
  dir.Write("sub/b.yaml", "garbage: [\n");
  LoadedStack s = LoadStackDir(dir.str());
  INFO(s.RenderDiagnostics());
  CHECK(s.ok());
  CHECK(s.desired.resources.size() == 1);
}


TEST_CASE("spec loader: a spec entry that is not a regular file is an error naming it") {
  TempDir dir("stack");
  dir.Write("reconciler.yaml", kProject);
  dir.Write("a.yaml", "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: s1}\nspec: {zone: ap-beijing-1}\n");
  const std::string entry = (dir.path() / "b.yaml").string();
  std::string why;
  SUBCASE("a dangling symlink") {
    REQUIRE(symlink((dir.path() / "gone.yaml").c_str(), entry.c_str()) == 0);
    why = "it is a symlink to nothing";
  }
  SUBCASE("a symlink loop") {
    REQUIRE(symlink(entry.c_str(), entry.c_str()) == 0);
    why = "it is a symlink loop";
  }
  SUBCASE("a FIFO") {
    REQUIRE(mkfifo(entry.c_str(), 0600) == 0);
    why = "it is a FIFO";
  }
  SUBCASE("a device") {
    REQUIRE(symlink("/dev/null", entry.c_str()) == 0);
    why = "it is a device";
  }
  SUBCASE("a directory") {
    REQUIRE(mkdir(entry.c_str(), 0700) == 0);
    why = "it is a directory";
  }
  LoadedStack s = LoadStackDir(dir.str());
  CHECK_FALSE(s.ok());
  CHECK(s.RenderDiagnostics() == entry + ": error: " + why + ", not a spec file\n");
}

TEST_CASE("spec loader: a project file that is a FIFO is an error and does not block") {
  TempDir dir("stack");
  REQUIRE(mkfifo((dir.path() / "reconciler.yaml").c_str(), 0600) == 0);
  LoadedStack s = LoadStackDir(dir.str());
  CHECK_FALSE(s.ok());
  CHECK(s.RenderDiagnostics().find((dir.path() / "reconciler.yaml").string() + ": error: it is a FIFO, not a project file") !=
        std::string::npos);
}

TEST_CASE("spec loader: the count of spec files and their total size are bounded") {
  TempDir dir("stack");
  dir.Write("reconciler.yaml", kProject);
  const std::string doc = "apiVersion: reconciler/v1\nkind: ServerlessInstance\nmetadata: {name: s%}\nspec: {zone: ap-beijing-1}\n";
  for (char i : {'0', '1', '2', '3'}) {
    std::string text = doc;
    text[text.find('%')] = i;
    dir.Write(std::string{'s', i, '.', 'y', 'a', 'm', 'l'}, text);
  }
  ParseLimits limits;
  SUBCASE("within both limits") {
    limits.max_files = 4;
    limits.max_total_bytes = ReadFile((dir.path() / "reconciler.yaml").string()).size() + 4 * (doc.size());
    LoadedStack s = LoadStackDir(dir.str(), limits);
    INFO(s.RenderDiagnostics());
    CHECK(s.ok());
    CHECK(s.desired.resources.size() == 4);
  }
  SUBCASE("one file too many") {
    limits.max_files = 3;
    LoadedStack s = LoadStackDir(dir.str(), limits);
    CHECK_FALSE(s.ok());
    CHECK(s.RenderDiagnostics() == dir.str() + ": error: the stack holds more than 3 spec files, the limit\n");
  }
  SUBCASE("one byte too many") {
    limits.max_total_bytes = ReadFile((dir.path() / "reconciler.yaml").string()).size() + 4 * (doc.size()) - 1;
    LoadedStack s = LoadStackDir(dir.str(), limits);
    CHECK_FALSE(s.ok());
    CHECK(s.RenderDiagnostics() == (dir.path() / "s3.yaml").string() + ": error: with this file the stack's files hold more than " +
                                       std::to_string(limits.max_total_bytes) + " bytes, the limit for a stack\n");
  }
}

TEST_CASE("spec loader: the default limits are the documented ones") {
  // README.md states them, and `make bench` loads 10,000 resources from 100 files within them.
  ParseLimits limits;
  CHECK(limits.max_bytes == 4u << 20);
  CHECK(limits.max_total_bytes == 64u << 20);
  CHECK(limits.max_files == 10000);
}

// Files are parsed on several threads; what a load yields must not depend on which finished
// first. Several files share names (so which one is "first defined" is at stake) and several
// hold errors, and every load must give the same resources, order and diagnostics.
TEST_CASE("spec loader: a multi-file stack with errors loads the same way every time") {
  auto replica = [](const std::string& name, const std::string& extra) {
    return "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: " + name +
           "}\nspec:\n  zone: ap-beijing-4\n  masterInstanceId: postgres-abcdef\n  specCode: pg.it.small2\n"
           "  storageGB: 100\n  vpcId: vpc-8btfafeo\n  subnetId: subnet-1i9huswn\n" + extra;
  };
  std::vector<std::pair<std::string, std::string>> files;
  for (int f = 0; f < 24; ++f) {
    std::string text;
    for (int d = 0; d < 5; ++d) text += replica("r" + std::to_string(f) + "-" + std::to_string(d), "");
    text += replica("shared", f % 3 == 0 ? "  storageGB: 105\n" : "");        // a duplicate in every file
    if (f % 4 == 1) text += replica("typo" + std::to_string(f), "  cuont: 2\n");  // unknown field
    if (f % 5 == 2) text += "---\nkind: [unclosed\n";                           // invalid YAML
    char name[32];
    std::snprintf(name, sizeof name, "f%02d.yaml", f);
    files.emplace_back(name, text);
  }
  const LoadedStack first = LoadText(kProject, files);
  const std::string rendered = first.RenderDiagnostics();
  // The duplicate is judged against the first file in name order, not the first parsed.
  CHECK(rendered.find("f01.yaml:59:18: error: duplicate ReadOnlyInstance/shared; first defined at f00.yaml:59:18") !=
        std::string::npos);
  CHECK(rendered.find("f23.yaml:") != std::string::npos);
  std::vector<std::string> order;
  for (const Resource& r : first.desired.resources) order.push_back(r.key.ToString());
  REQUIRE(order.size() == 24 * 5 + 1 + 6);
  CHECK(order.front() == "ReadOnlyInstance/r0-0");
  for (int run = 0; run < 20; ++run) {
    const LoadedStack again = LoadText(kProject, files);
    std::vector<std::string> again_order;
    for (const Resource& r : again.desired.resources) again_order.push_back(r.key.ToString());
    CHECK(again.RenderDiagnostics() == rendered);
    CHECK(again_order == order);
    CHECK(again.diags.error_count() == first.diags.error_count());
  }
}

}  // namespace
}  // namespace reconciler::specs
