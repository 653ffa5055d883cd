// The tag service (tag, 2018-08-13) on postgres instances, named
// qcs::postgres:<region>:uin/<uin>:DBInstanceId/<id>.

#include <algorithm>
#include <functional>

#include "emulator/cloud.h"
#include "emulator/rules.h"

namespace reconciler::tencentcloud::emulator {

using nlohmann::json;

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1) parts.push_back(s.substr(start, at - start));
  parts.push_back(s.substr(start));
  return parts;
}

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

json Failed(const std::string& resource, const std::string& code, const std::string& message) {
  return {{"Resource", resource}, {"Code", code}, {"Message", message}};
}

// The tag service's code for a resource that would carry too many tags (Go SDK tag errors.go).
Reply TooManyTags() {
  return Error("LimitExceeded.ResourceAttachedTags",
               "A resource may carry at most " + std::to_string(rules::kMaxTagsPerResource) + " tags.");
}

// Each tag key has one value per resource: setting a key the resource has replaces its value.
void SetTag(std::vector<TagPair>* tags, const TagPair& tag) {
  for (TagPair& t : *tags) {
    if (t.key == tag.key) {
      t.value = tag.value;
      return;
    }
  }
  tags->push_back(tag);
}

void RemoveTag(std::vector<TagPair>* tags, const std::string& key) {
  tags->erase(std::remove_if(tags->begin(), tags->end(), [&](const TagPair& t) { return t.key == key; }), tags->end());
}

}  // namespace

// Resolves a six-segment resource name to an instance. The casing of "DBInstanceId" the
// tag service accepts is UNCONFIRMED (Terraform writes "dbInstanceId"), so both are taken.
static Instance* Resolve(std::map<std::string, Instance>* instances, const std::string& uin,
                         const std::string& resource, json* failed) {
  std::vector<std::string> parts = Split(resource, ':');
  if (parts.size() != 6 || parts[0] != "qcs" || parts[2] != "postgres" || parts[4].rfind("uin/", 0) != 0) {
    *failed = Failed(resource, "InvalidParameterValue.ResourceFormatError",
                     "Resource must be qcs::postgres:<region>:uin/<uin>:DBInstanceId/<id>.");
    return nullptr;
  }
  std::string owner = parts[4].substr(4);
  if (!owner.empty() && owner != uin) {
    *failed = Failed(resource, "UnauthorizedOperation", "The resource belongs to another account.");
    return nullptr;
  }
  size_t slash = parts[5].find('/');
  if (slash == std::string::npos || !EqualsIgnoreCase(parts[5].substr(0, slash), "DBInstanceId")) {
    *failed = Failed(resource, "InvalidParameterValue.ResourceFormatError", "The last segment must be DBInstanceId/<id>.");
    return nullptr;
  }
  auto it = instances->find(parts[5].substr(slash + 1));
  if (it == instances->end() || it->second.region != parts[3]) {
    *failed = Failed(resource, "ResourceNotFound", "The resource does not exist.");
    return nullptr;
  }
  return &it->second;
}

// The batch tag actions: `edit` runs on each resource of `list` that resolves, and returns a
// failure to report for it or null. Resources that fail are listed; the rest are changed.
static Reply EachResource(std::map<std::string, Instance>* instances, const std::string& uin, const json& list,
                          const std::function<json(const std::string& resource, Instance* inst)>& edit) {
  if (list.empty()) return Error("InvalidParameterValue", "ResourceList must not be empty.");
  if (list.size() > rules::kMaxTagResourcesPerCall) {
    return Error("LimitExceeded.ResourceNumPerRequest", "ResourceList may hold at most " +
                                                            std::to_string(rules::kMaxTagResourcesPerCall) +
                                                            " resources per call, got " + std::to_string(list.size()) + ".");
  }
  json failed_list = json::array();
  bool changed = false;
  for (const json& r : list) {
    json failed;
    Instance* inst = Resolve(instances, uin, r, &failed);
    if (inst) failed = edit(r, inst);
    if (failed.is_null()) changed = true;
    else failed_list.push_back(std::move(failed));
  }
  Reply reply;
  reply.committed = changed;
  reply.body = {{"FailedResources", std::move(failed_list)}};
  return reply;
}

Reply EmulatedCloud::TagResources(const std::string&, const json& p) {
  std::vector<TagPair> tags = ParseTags(p["Tags"]);
  if (tags.empty()) return Error("InvalidParameterValue", "Tags must not be empty.");
  // TagResources page: "Tags.N ... Value range of N: 0-9".
  if (tags.size() > rules::kMaxTagsPerCall) {
    return Error("LimitExceeded.TagNumPerRequest",
                 "Tags may hold at most " + std::to_string(rules::kMaxTagsPerCall) + " tags per call.");
  }
  if (auto bad = CheckTags(tags)) return *bad;
  return EachResource(&state_.instances, world_.catalogue.uin, p["ResourceList"],
                      [&](const std::string& resource, Instance* inst) -> json {
                        std::vector<TagPair> merged = inst->tags;
                        for (const TagPair& t : tags) SetTag(&merged, t);
                        if (merged.size() > rules::kMaxTagsPerResource) {
                          Reply too_many = TooManyTags();
                          return Failed(resource, too_many.code, too_many.message);
                        }
                        inst->tags = std::move(merged);
                        return nullptr;
                      });
}

Reply EmulatedCloud::UnTagResources(const std::string&, const json& p) {
  if (p["TagKeys"].empty()) return Error("InvalidParameterValue", "TagKeys must not be empty.");
  return EachResource(&state_.instances, world_.catalogue.uin, p["ResourceList"], [&](const std::string&, Instance* inst) {
    for (const json& key : p["TagKeys"]) RemoveTag(&inst->tags, key);
    return json();
  });
}

Reply EmulatedCloud::ModifyResourceTags(const std::string&, const json& p) {
  const bool has_replace = p.contains("ReplaceTags"), has_delete = p.contains("DeleteTags");
  if (!has_replace && !has_delete) {
    return Error("MissingParameter", "One of `ReplaceTags` and `DeleteTags` must be given.");
  }
  if ((has_replace && p["ReplaceTags"].empty()) || (has_delete && p["DeleteTags"].empty())) {
    return Error("InvalidParameterValue", "ReplaceTags and DeleteTags must not be empty arrays.");
  }
  std::vector<TagPair> replace = has_replace ? ParseTags(p["ReplaceTags"]) : std::vector<TagPair>{};
  std::vector<std::string> remove;
  for (const json& d : p.value("DeleteTags", json::array())) remove.push_back(d["TagKey"]);
  if (replace.size() > rules::kMaxModifyTags || remove.size() > rules::kMaxModifyTags) {
    return Error("InvalidParameterValue", "ReplaceTags and DeleteTags may hold at most 10 tags each.");
  }
  for (const TagPair& t : replace) {
    if (std::find(remove.begin(), remove.end(), t.key) != remove.end()) {
      return Error("InvalidParameterValue", "Tag key `" + t.key + "` is in both ReplaceTags and DeleteTags.");
    }
  }
  if (auto bad = CheckTags(replace)) return *bad;
  json failed;
  Instance* inst = Resolve(&state_.instances, world_.catalogue.uin, p["Resource"], &failed);
  if (!inst) return Error(failed["Code"], failed["Message"]);
  std::vector<TagPair> merged = inst->tags;
  for (const TagPair& t : replace) SetTag(&merged, t);
  for (const std::string& key : remove) RemoveTag(&merged, key);
  if (merged.size() > rules::kMaxTagsPerResource) return TooManyTags();
  inst->tags = std::move(merged);
  Reply reply;
  reply.committed = true;
  return reply;
}

}  // namespace reconciler::tencentcloud::emulator
