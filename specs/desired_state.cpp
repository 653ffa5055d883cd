#include "specs/desired_state.h"

namespace reconciler::specs {

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kReadOnlyInstance: return "ReadOnlyInstance";
    case Kind::kReadOnlyGroup: return "ReadOnlyGroup";
    case Kind::kServerlessInstance: return "ServerlessInstance";
  }
  return "?";
}

std::optional<Kind> ParseKind(const std::string& name) {
  for (Kind k : {Kind::kReadOnlyInstance, Kind::kReadOnlyGroup, Kind::kServerlessInstance}) {
    if (name == KindName(k)) return k;
  }
  return std::nullopt;
}

std::string ResourceKey::ToString() const { return std::string(KindName(kind)) + "/" + name; }

std::optional<ResourceKey> ParseResourceKey(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos || slash + 1 == text.size()) return std::nullopt;
  std::optional<Kind> kind = ParseKind(text.substr(0, slash));
  if (!kind) return std::nullopt;
  return ResourceKey{*kind, text.substr(slash + 1)};
}

const char* ChargeTypeName(ChargeType t) { return t == ChargeType::kPrepaid ? "PREPAID" : "POSTPAID_BY_HOUR"; }

const char* DeletionPolicyName(DeletionPolicy p) { return p == DeletionPolicy::kDelete ? "Delete" : "Orphan"; }

const std::string& Resource::region() const {
  return std::visit([](const auto& s) -> const std::string& { return s.region; }, spec);
}

DeletionPolicy Resource::deletion_policy() const {
  return std::visit([](const auto& s) { return s.deletion_policy; }, spec);
}

const Resource* DesiredState::Find(const ResourceKey& key) const {
  for (const Resource& r : resources) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

}  // namespace reconciler::specs
