// Placeholder until the libgit2 implementation lands (issue 11).

#include "gitops/git_source.h"

namespace reconciler::gitops {

struct Repository::Impl {};
Repository::Repository() = default;
Repository::~Repository() = default;
Repository::Repository(Repository&&) noexcept = default;
Repository& Repository::operator=(Repository&&) noexcept = default;
Result<Repository> Repository::OpenMirror(const std::string&, const std::string&) {
  return Status(Code::kInternal, "git is not built yet");
}
Result<Repository> Repository::OpenFromEnvironment() { return Status(Code::kInternal, "git is not built yet"); }
Result<Repository> Repository::Open(const std::string&) { return Status(Code::kInternal, "git is not built yet"); }
Result<Commit> Repository::Fetch(const std::string&) { return Status(Code::kInternal, "git is not built yet"); }
Result<Commit> Repository::Lookup(const std::string&) { return Status(Code::kInternal, "git is not built yet"); }
Result<TreeStack> Repository::ReadStack(const std::string&, const std::string&, const specs::ParseLimits&) {
  return Status(Code::kInternal, "git is not built yet");
}

}  // namespace reconciler::gitops
