#include "engine/identity.h"

#include <set>
#include <unordered_set>

#include "specs/desired_state.h"
#include "specs/rules.h"

namespace reconciler {

std::string OperationTagValue(const std::string& stack, const std::string& resource_key,
                              const std::string& operation_id) {
  return stack + "/" + resource_key + "/" + operation_id;
}

OperationTag ParseOperationTag(const std::string& value) {
  // Stack names, kinds and resource names hold no '/', so the value splits in exactly four.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t slash; (slash = value.find('/', start)) != std::string::npos; start = slash + 1) {
    parts.push_back(value.substr(start, slash - start));
  }
  parts.push_back(value.substr(start));
  // Only what we could have written is a claim: a stack and a resource name that are valid
  // labels, a known kind and an operation id. Anything else names no stack, so a crafted
  // value never makes a stranger's instance ours.
  if (parts.size() != 4 || !specs::CheckLabel(parts[0]).empty() || !specs::ParseKind(parts[1]) ||
      !specs::CheckLabel(parts[2]).empty() || parts[3].rfind("op-", 0) != 0 || parts[3].size() < 4) {
    return {"", "", value};
  }
  return {parts[0], parts[1] + "/" + parts[2], parts[3]};
}

void Normalize(cloud::Instance* instance) {
  cloud::Tags& tags = instance->tags;
  auto op = tags.find(cloud::kOperationTag);
  if (op == tags.end()) return;
  OperationTag parsed = ParseOperationTag(op->second);
  op->second = parsed.operation_id;
  if (parsed.stack.empty()) return;
  // A claim for the other kind of instance is no claim.
  const bool serverless_claim = parsed.resource_key.rfind("ServerlessInstance/", 0) == 0;
  const bool read_only_claim = parsed.resource_key.rfind("ReadOnlyInstance/", 0) == 0;
  if ((instance->type == "serverless" && !serverless_claim) || (instance->type != "serverless" && !read_only_claim)) {
    return;
  }
  const bool had_stack = tags.count(cloud::kStackTag) > 0;
  const bool had_resource = tags.count(cloud::kResourceTag) > 0;
  if (!had_stack) tags[cloud::kStackTag] = parsed.stack;
  if (!had_resource) tags[cloud::kResourceTag] = parsed.resource_key;
  instance->tagging_incomplete = !had_stack || !had_resource;
}

bool BelongsTo(const cloud::Instance& instance, const std::string& stack) {
  auto t = instance.tags.find(cloud::kStackTag);
  return t != instance.tags.end() && t->second == stack;
}

std::vector<std::string> IdentityTagKeys() { return {cloud::kStackTag, cloud::kOperationTag}; }

namespace {

// The instances of a listing that belong to `stack`, normalized. A listing that names one
// instance twice (pages ordered by a creation time that several instances share can repeat
// one) is inconsistent: counted twice, it would make a replica look like one too many.
Result<std::vector<cloud::Instance>> Ours(Result<std::vector<cloud::Instance>> listed, const std::string& stack) {
  if (!listed.ok()) return listed.status();
  std::unordered_set<std::string> seen;
  seen.reserve(listed->size());
  for (cloud::Instance& i : *listed) {
    if (!i.id.empty() && !seen.insert(i.id).second) {
      return Status(Code::kRetryable, "the listing names " + i.id + " twice, so it cannot be counted from");
    }
    Normalize(&i);
  }
  // In place: a listing of 100,000 is not copied to be filtered.
  std::erase_if(*listed, [&](const cloud::Instance& i) { return !BelongsTo(i, stack); });
  return listed;
}

}  // namespace

Result<std::vector<cloud::Instance>> ListStackInstances(cloud::Cloud* cloud, const std::string& region,
                                                        const std::string& stack) {
  cloud::ListFilter filter;
  filter.tag_keys = IdentityTagKeys();
  return Ours(cloud->ListInstances(region, filter), stack);
}

Result<std::vector<cloud::Instance>> ListStackServerless(cloud::Cloud* cloud, const std::string& region,
                                                         const std::string& stack) {
  return Ours(cloud->ListServerless(region, cloud::kStackTag), stack);
}

}  // namespace reconciler
