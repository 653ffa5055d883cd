#include "tests/gitops/git_rig.h"

#include <signal.h>

#include <filesystem>
#include <stdexcept>

namespace reconciler::testing {

ProcessResult RunWithin(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                        const std::string& cwd, std::chrono::seconds deadline,
                        const std::string& input) {
  Child child(argv, env, cwd, input);
  if (!child.WaitForEnd(std::chrono::steady_clock::now() + deadline)) {
    child.Signal(SIGKILL);
    ProcessResult killed = child.Wait();
    killed.exit_code = -1;
    killed.err += "\n(killed: still running after " + std::to_string(deadline.count()) + " s)";
    return killed;
  }
  return child.Wait();
}

std::string ProjectYaml(const std::string& stack) {
  return "stack: " + stack + "\nprovider: {tencentcloud: {region: ap-beijing}}\n";
}

GitRig::GitRig() {
  for (const auto& args : {std::vector<std::string>{"init", "-q", "--bare", "-b", "main", origin()},
                           std::vector<std::string>{"init", "-q", "-b", "main", work()}}) {
    ProcessResult r = Git(args, dir.str());
    if (r.exit_code != 0) throw std::runtime_error("git init failed: " + r.err);
  }
  ProcessResult r = Git({"remote", "add", "origin", origin()});
  if (r.exit_code != 0) throw std::runtime_error("git remote add failed: " + r.err);
}

std::vector<std::string> GitRig::Env() const {
  return {"HOME=" + dir.str(),
          "GIT_CONFIG_NOSYSTEM=1",
          "GIT_AUTHOR_NAME=Test",
          "GIT_AUTHOR_EMAIL=t@example.com",
          "GIT_COMMITTER_NAME=Test",
          "GIT_COMMITTER_EMAIL=t@example.com",
          "-GIT_DIR",
          "-GIT_WORK_TREE",
          "NO_COLOR=1"};
}

ProcessResult GitRig::Git(const std::vector<std::string>& args, const std::string& cwd) const {
  std::vector<std::string> argv = {"/usr/bin/git"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunWithin(argv, Env(), cwd.empty() ? work() : cwd, std::chrono::seconds(60));
}

void GitRig::Write(const std::string& relative, const std::string& text) const {
  dir.Write("work/" + relative, text);
}

std::string GitRig::Commit(const std::string& message) const {
  ProcessResult add = Git({"add", "-A"});
  ProcessResult commit = Git({"commit", "-q", "--allow-empty", "-m", message});
  if (add.exit_code != 0 || commit.exit_code != 0)
    throw std::runtime_error("git commit failed: " + add.err + commit.err);
  ProcessResult head = Git({"rev-parse", "HEAD"});
  return head.out.substr(0, head.out.find('\n'));
}

ProcessResult GitRig::Push(const std::string& branch, const std::vector<std::string>& env) const {
  std::vector<std::string> all = Env();
  all.insert(all.end(), env.begin(), env.end());
  return RunWithin({"/usr/bin/git", "push", "origin", "HEAD:refs/heads/" + branch}, all, work(),
                   std::chrono::seconds(120));
}

std::string GitRig::OriginRef(const std::string& ref) const {
  ProcessResult r = Git({"rev-parse", "--verify", "-q", ref}, origin());
  return r.exit_code == 0 ? r.out.substr(0, r.out.find('\n')) : "";
}

void GitRig::InstallHook(const std::string& name, const std::string& script) const {
  const std::string path = dir.Write("origin.git/hooks/" + name, script);
  std::filesystem::permissions(path, std::filesystem::perms::owner_all |
                                         std::filesystem::perms::group_read |
                                         std::filesystem::perms::group_exec);
}

}  // namespace reconciler::testing
