// gitops::Repository against real repositories made with the git command line: the daemon's
// mirror (fetch, a second fetch, wrong origin, missing branch, unreachable remote) and stacks
// read from commit trees, which must load exactly as the same files read from a directory.

#include "gitops/git_source.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "engine/requests.h"
#include "specs/spec_loader.h"
#include "tests/gitops/git_rig.h"
#include "tests/support/engine_fixture.h"

namespace reconciler::testing {
namespace {

namespace fs = std::filesystem;
using gitops::Repository;

// Every diagnostic of `source` as "file: message", in order.
std::vector<std::string> ReadErrors(const specs::StackSource& source) {
  std::vector<std::string> out;
  for (const specs::Diagnostic& d : source.read_errors.Sorted())
    out.push_back(d.at.file + ": " + d.message);
  return out;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
  return text;
}

TEST_CASE("gitops: a mirror fetches the pushed head, then the next one") {
  GitRig rig;
  rig.Write("reconciler.yaml", ProjectYaml());
  const std::string first = rig.Commit("first\n\nwith a body");
  REQUIRE(rig.Push("main").exit_code == 0);

  const std::string mirror = (rig.dir.path() / "mirror").string();
  Result<Repository> repo = Repository::OpenMirror(rig.origin(), mirror);
  REQUIRE_MESSAGE(repo.ok(), repo.status().ToString());
  CHECK(fs::exists(fs::path(mirror) / "HEAD"));  // a bare repository, no work tree
  CHECK_FALSE(fs::exists(fs::path(mirror) / ".git"));
  Result<gitops::Commit> head = repo->Fetch("main");
  REQUIRE_MESSAGE(head.ok(), head.status().ToString());
  CHECK(head->id == first);
  CHECK(head->subject == "first");

  rig.Write("replicas.yaml", ReplicaYaml("reports", 2));
  const std::string second = rig.Commit("add replicas");
  REQUIRE(second != first);
  REQUIRE(rig.Push("main").exit_code == 0);
  head = repo->Fetch("main");
  REQUIRE(head.ok());
  CHECK(head->id == second);
  CHECK(head->subject == "add replicas");

  // Opened again (a restarted daemon), the mirror is reused and fetches as before; a file://
  // URL works as a path does.
  Result<Repository> again = Repository::OpenMirror(rig.origin(), mirror);
  REQUIRE(again.ok());
  CHECK(again->Fetch("main")->id == second);
  Result<Repository> by_url =
      Repository::OpenMirror("file://" + rig.origin(), (rig.dir.path() / "m2").string());
  REQUIRE(by_url.ok());
  Result<gitops::Commit> by_url_head = by_url->Fetch("main");
  REQUIRE_MESSAGE(by_url_head.ok(), by_url_head.status().ToString());
  CHECK(by_url_head->id == second);
  CHECK(by_url->Lookup(first)->subject == "first");
}

TEST_CASE("gitops: a mirror of another URL, or a directory that is not one, is a conflict") {
  GitRig rig;
  const std::string mirror = (rig.dir.path() / "mirror").string();
  REQUIRE(Repository::OpenMirror(rig.origin(), mirror).ok());
  Result<Repository> other = Repository::OpenMirror("/srv/git/other.git", mirror);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().code() == Code::kConflict);
  CHECK(other.status().message().find(rig.origin()) != std::string::npos);
  CHECK(other.status().message().find("/srv/git/other.git") != std::string::npos);

  // Credentials written into a URL never reach a message.
  const std::string secret_dir = (rig.dir.path() / "secret").string();
  REQUIRE(Repository::OpenMirror("https://deploy:s3cr3t-token@git.example.invalid/infra.git",
                                 secret_dir)
              .ok());
  Result<Repository> redacted =
      Repository::OpenMirror("https://other:0ther-token@git.example.invalid/x.git", secret_dir);
  REQUIRE_FALSE(redacted.ok());
  CHECK(redacted.status().message().find("https://***@git.example.invalid/infra.git") !=
        std::string::npos);
  CHECK(redacted.status().message().find("https://***@git.example.invalid/x.git") !=
        std::string::npos);
  CHECK(redacted.status().message().find("token") == std::string::npos);

  const std::string busy = rig.dir.Write("busy/notes.txt", "not a repository");
  Result<Repository> not_repo =
      Repository::OpenMirror(rig.origin(), fs::path(busy).parent_path().string());
  REQUIRE_FALSE(not_repo.ok());
  CHECK(not_repo.status().code() == Code::kConflict);
}

TEST_CASE("gitops: a branch the remote lacks is not found, even one it used to have") {
  GitRig rig;
  rig.Write("reconciler.yaml", ProjectYaml());
  rig.Commit("first");
  REQUIRE(rig.Push("main").exit_code == 0);
  REQUIRE(rig.Push("feature").exit_code == 0);
  Result<Repository> repo =
      Repository::OpenMirror(rig.origin(), (rig.dir.path() / "mirror").string());
  REQUIRE(repo.ok());
  Result<gitops::Commit> missing = repo->Fetch("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("\"nope\"") != std::string::npos);

  REQUIRE(repo->Fetch("feature").ok());
  REQUIRE(rig.Git({"push", "-q", "origin", ":refs/heads/feature"}).exit_code == 0);
  Result<gitops::Commit> deleted = repo->Fetch("feature");
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.status().code() == Code::kNotFound);

  CHECK(repo->Fetch("bad..name").status().code() == Code::kInvalidInput);
  CHECK(repo->Fetch("").status().code() == Code::kInvalidInput);
}

TEST_CASE("gitops: an unreachable remote fails the fetch with libgit2's reason") {
  GitRig rig;
  const std::string gone = (rig.dir.path() / "gone.git").string();
  Result<Repository> repo = Repository::OpenMirror(gone, (rig.dir.path() / "mirror").string());
  REQUIRE(repo.ok());  // opening never reaches the remote
  Result<gitops::Commit> head = repo->Fetch("main");
  REQUIRE_FALSE(head.ok());
  CHECK(head.status().code() == Code::kNotSent);
  CHECK(head.status().message().find("cannot fetch from " + gone + ": ") == 0);
  CHECK(head.status().message().size() > std::string("cannot fetch from " + gone + ": ").size());
}

TEST_CASE("gitops: a tree read loads exactly as a directory read of the same files") {
  GitRig rig;
  const std::string defaults = "defaults:\n  vpcId: vpc-8btfafeo\n  tags: {team: data}\n";
  rig.Write("stacks/prod/reconciler.yaml", ProjectYaml() + defaults);
  rig.Write("stacks/prod/a.yaml",
            ReplicaYaml("reports", 2) + ReplicaYaml("batch", 1, "  tags: {purpose: etl}\n"));
  // Two problems, so the diagnostics have something to say.
  rig.Write("stacks/prod/b.yml",
            ReplicaYaml("broken", 1, "  colour: blue\n") + ReplicaYaml("reports", 3));
  rig.Write("stacks/prod/.hidden.yaml", "::: skipped, hidden\n");
  rig.Write("stacks/prod/nested/c.yaml", "::: skipped, not at the top level\n");
  rig.Write("stacks/prod/notes.txt", "not a spec\n");
  rig.Write("reconciler.yaml", "::: the root is another stack\n");
  const std::string id = rig.Commit("two stacks");
  Result<Repository> repo = Repository::Open(rig.work());
  REQUIRE(repo.ok());

  for (const std::string path : {"stacks/prod", "./stacks/prod/", "stacks//prod"}) {
    CAPTURE(path);
    Result<gitops::TreeStack> tree = repo->ReadStack(id, path);
    REQUIRE_MESSAGE(tree.ok(), tree.status().ToString());
    CHECK(tree->commit.id == id);
    CHECK(tree->commit.subject == "two stacks");
    CHECK(tree->source.dir == "stacks/prod@" + id.substr(0, 7));
    REQUIRE(tree->source.project.has_value());
    CHECK(tree->source.project->path == "stacks/prod/reconciler.yaml");
    REQUIRE(tree->source.files.size() == 2);
    CHECK(tree->source.files[0].path == "stacks/prod/a.yaml");
    CHECK(tree->source.files[1].path == "stacks/prod/b.yml");

    const std::string dir = rig.work() + "/stacks/prod";
    specs::LoadedStack from_dir = specs::LoadStackDir(dir);
    specs::LoadedStack from_tree = specs::LoadStack(tree->source);
    CHECK_FALSE(from_tree.ok());
    CHECK(from_tree.diags.error_count() == 2);
    CHECK(Replace(from_dir.RenderDiagnostics(), rig.work() + "/", "") ==
          from_tree.RenderDiagnostics());
    CHECK(from_tree.RenderDiagnostics().find("stacks/prod/b.yml:") != std::string::npos);
    CHECK(from_tree.desired.project.stack == from_dir.desired.project.stack);
    CHECK(from_tree.desired.project.region == "ap-beijing");
    REQUIRE(from_tree.desired.resources.size() == 3);
    REQUIRE(from_dir.desired.resources.size() == 3);
    for (size_t i = 0; i < 3; ++i) {
      const specs::Resource& t = from_tree.desired.resources[i];
      const specs::Resource& d = from_dir.desired.resources[i];
      CHECK(t.key == d.key);
      CHECK(SpecJson(t) == SpecJson(d));
      CHECK(Replace(d.at.file, rig.work() + "/", "") == t.at.file);
      CHECK(t.at.line == d.at.line);
      CHECK(t.fields.size() == d.fields.size());
      CHECK(t.depends_on.size() == d.depends_on.size());
    }
  }

  // The root is a stack too, with its own (broken) project file and no spec files.
  Result<gitops::TreeStack> root = repo->ReadStack(id, ".");
  REQUIRE(root.ok());
  CHECK(root->source.dir == ".@" + id.substr(0, 7));
  REQUIRE(root->source.project.has_value());
  CHECK(root->source.project->path == "reconciler.yaml");
  CHECK(root->source.files.empty());
  CHECK(repo->ReadStack(id, "")->source.project->path == "reconciler.yaml");
}

TEST_CASE("gitops: entries named like spec files that are not files are read errors") {
  GitRig rig;
  rig.Write("reconciler.yaml", ProjectYaml());
  rig.Write("a.yaml", ReplicaYaml("reports", 1));
  fs::create_symlink("a.yaml", fs::path(rig.work()) / "x.yaml");
  rig.Write("folder.yaml/inside.yaml", ReplicaYaml("inside", 1));
  const std::string first = rig.Commit("links");
  // A submodule entry (a gitlink) named like a spec file.
  REQUIRE(rig.Git({"update-index", "--add", "--cacheinfo", "160000," + first + ",sub.yaml"})
              .exit_code == 0);
  REQUIRE(rig.Git({"commit", "-q", "-m", "a submodule"}).exit_code ==
          0);  // not Commit(): add -A would drop it
  const std::string id = rig.Git({"rev-parse", "HEAD"}).out.substr(0, 40);
  Result<Repository> repo = Repository::Open(rig.work());
  REQUIRE(repo.ok());
  Result<gitops::TreeStack> tree = repo->ReadStack(id, ".");
  REQUIRE(tree.ok());
  INFO(tree->source.read_errors.Render({}));
  CHECK(ReadErrors(tree->source) ==
        std::vector<std::string>{"folder.yaml: it is a directory, not a spec file",
                                 "sub.yaml: it is a submodule, not a spec file",
                                 "x.yaml: it is a symlink, not a spec file"});
  REQUIRE(tree->source.files.size() == 1);
  CHECK(tree->source.files[0].path == "a.yaml");
  CHECK_FALSE(specs::LoadStack(tree->source).ok());

  // The project file, too.
  fs::remove(fs::path(rig.work()) / "reconciler.yaml");
  fs::create_symlink("a.yaml", fs::path(rig.work()) / "reconciler.yaml");
  Result<gitops::TreeStack> linked = repo->ReadStack(rig.Commit("linked project"), ".");
  REQUIRE(linked.ok());
  CHECK_FALSE(linked->source.project.has_value());
  const std::vector<std::string> errors = ReadErrors(linked->source);
  CHECK(std::count(errors.begin(), errors.end(),
                   "reconciler.yaml: it is a symlink, not a project file") == 1);
}

TEST_CASE("gitops: files over the limits are read errors, and are not read") {
  GitRig rig;
  rig.Write("stack/reconciler.yaml", ProjectYaml());
  rig.Write("stack/a.yaml", ReplicaYaml("a", 1));
  rig.Write("stack/big.yaml", ReplicaYaml("big", 1) + "# " + std::string(600, 'x') + "\n");
  rig.Write("stack/c.yaml", ReplicaYaml("c", 1));
  const std::string id = rig.Commit("big");
  Result<Repository> repo = Repository::Open(rig.work());
  REQUIRE(repo.ok());
  const size_t big = ReplicaYaml("big", 1).size() + 603;

  specs::ParseLimits limits;
  limits.max_bytes = 500;
  Result<gitops::TreeStack> tree = repo->ReadStack(id, "stack", limits);
  REQUIRE(tree.ok());
  CHECK(ReadErrors(tree->source) ==
        std::vector<std::string>{"stack/big.yaml: the file is " + std::to_string(big) +
                                 " bytes; the limit is 500 bytes"});
  CHECK(tree->source.files.size() == 2);
  // The same files from a directory give the same error.
  specs::StackSource from_dir = specs::ReadStack(rig.work() + "/stack", limits);
  CHECK(Replace(ReadErrors(from_dir)[0], rig.work() + "/", "") == ReadErrors(tree->source)[0]);

  specs::ParseLimits total;
  total.max_total_bytes = ProjectYaml().size() + ReplicaYaml("a", 1).size() + 10;
  tree = repo->ReadStack(id, "stack", total);
  REQUIRE(tree.ok());
  REQUIRE(ReadErrors(tree->source).size() == 2);  // big.yaml and c.yaml are over the stack's budget
  CHECK(ReadErrors(tree->source)[0].find(
            "stack/big.yaml: with this file the stack's files hold more than") == 0);
  CHECK(tree->source.files.size() == 1);

  specs::ParseLimits few;
  few.max_files = 2;
  tree = repo->ReadStack(id, "stack", few);
  REQUIRE(tree.ok());
  CHECK(ReadErrors(tree->source) ==
        std::vector<std::string>{"stack@" + id.substr(0, 7) +
                                 ": the stack holds more than 2 spec files, the limit"});
  CHECK(tree->source.files.empty());
}

TEST_CASE("gitops: a missing folder or commit is not found, naming the commit") {
  GitRig rig;
  rig.Write("stack/reconciler.yaml", ProjectYaml());
  rig.Write("file.yaml", ReplicaYaml("a", 1));
  const std::string id = rig.Commit("one");
  Result<Repository> repo = Repository::Open(rig.work());
  REQUIRE(repo.ok());
  Result<gitops::TreeStack> missing = repo->ReadStack(id, "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message() == "commit " + id.substr(0, 7) + " has no folder nope");
  CHECK(repo->ReadStack(id, "file.yaml").status().code() == Code::kNotFound);  // not a folder
  CHECK(repo->ReadStack(id, "../stack").status().code() == Code::kInvalidInput);
  CHECK(repo->ReadStack(id, "/stack").status().code() == Code::kInvalidInput);
  const std::string absent(40, 'a');
  CHECK(repo->ReadStack(absent, "stack").status().code() == Code::kNotFound);
  CHECK(repo->Lookup(absent).status().code() == Code::kNotFound);
  CHECK(repo->Lookup("abc").status().code() == Code::kInvalidInput);
  CHECK(repo->ReadStack(id, "stack").ok());
}

}  // namespace
}  // namespace reconciler::testing
