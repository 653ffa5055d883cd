#include "specs/field_reader.h"

#include <cerrno>
#include <cstdlib>

#include "specs/rules.h"

namespace reconciler::specs {

bool ParseInteger(const Node& n, int64_t* out) {
  if (!n.IsScalar() || n.quoted || n.scalar.empty()) return false;
  const std::string& s = n.scalar;
  size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t k = i; k < s.size(); ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
  }
  errno = 0;
  long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (errno == ERANGE) return false;
  *out = v;
  return true;
}

bool ParseUnsigned(const Node& n, uint64_t* out) {
  int64_t v = 0;
  if (!ParseInteger(n, &v) || v < 0) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

FieldReader::FieldReader(const Node& map, std::string what, std::vector<std::string> fields, Location where,
                         Diagnostics* diags, std::string prefix)
    : map_(map),
      what_(std::move(what)),
      fields_(std::move(fields)),
      where_(std::move(where)),
      diags_(diags),
      prefix_(std::move(prefix)),
      read_(map_.members.size(), false) {}

// A mapping's keys are unique (the parser rejects duplicates), so marking the member that
// holds `key` records the read without copying the key for every read of every resource.
const Node* FieldReader::MarkRead(std::string_view key) {
  for (size_t i = 0; i < map_.members.size(); ++i) {
    if (map_.members[i].key.scalar == key) {
      read_[i] = true;
      return &map_.members[i].value;
    }
  }
  return nullptr;
}

const Node* FieldReader::Get(std::string_view key) { return MarkRead(key); }

bool FieldReader::TypeError(std::string_view key, const Node& value, const char* expected) {
  diags_->Error(value.at, Name(key) + " must be " + expected + ", got " + value.Describe());
  return false;
}

bool FieldReader::String(std::string_view key, std::string* out) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!v->IsScalar()) return TypeError(key, *v, "a string");
  *out = v->scalar;
  return true;
}

bool FieldReader::Uint(std::string_view key, uint64_t* out) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!ParseUnsigned(*v, out)) return TypeError(key, *v, "a non-negative integer");
  return true;
}

bool FieldReader::Int(std::string_view key, int64_t* out) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!ParseInteger(*v, out)) return TypeError(key, *v, "an integer");
  return true;
}

bool FieldReader::Bool(std::string_view key, bool* out) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!v->IsScalar() || v->quoted || (v->scalar != "true" && v->scalar != "false")) {
    return TypeError(key, *v, "true or false");
  }
  *out = v->scalar == "true";
  return true;
}

bool FieldReader::StringList(std::string_view key, std::vector<std::string>* out, std::vector<Location>* item_at) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!v->IsSequence()) return TypeError(key, *v, "a list of strings");
  std::vector<std::string> items;
  bool ok = true;
  for (const Node& item : v->items) {
    if (!item.IsScalar()) {
      diags_->Error(item.at, Name(key) + " items must be strings, got " + item.Describe());
      ok = false;
      continue;
    }
    items.push_back(item.scalar);
    if (item_at) item_at->push_back(item.at);
  }
  if (ok) *out = std::move(items);
  return ok;
}

bool FieldReader::StringMap(std::string_view key, std::map<std::string, std::string>* out,
                            std::map<std::string, Location>* key_at) {
  const Node* v = Get(key);
  if (!v) return false;
  if (!v->IsMap()) return TypeError(key, *v, "a mapping of strings to strings");
  std::map<std::string, std::string> items;
  bool ok = true;
  for (const auto& [k, value] : v->members) {
    if (!value.IsScalar()) {
      diags_->Error(value.at, Name(key) + "." + k.scalar + " must be a string, got " + value.Describe());
      ok = false;
      continue;
    }
    items[k.scalar] = value.scalar;
    if (key_at) (*key_at)[k.scalar] = k.at;
  }
  if (ok) *out = std::move(items);
  return ok;
}

void FieldReader::Require(std::string_view key, const std::string& hint) {
  if (!MarkRead(key)) required_.emplace_back(std::string(key), hint);
}

Location FieldReader::At(std::string_view key) const {
  const Node* v = map_.Find(key);
  return v ? v->at : where_;
}

void FieldReader::Error(std::string_view key, const std::string& message) { diags_->Error(At(key), message); }

void FieldReader::Warning(std::string_view key, const std::string& message) { diags_->Warning(At(key), message); }

void FieldReader::Finish() {
  std::set<std::string> explained;  // missing fields an unknown field is probably a typo of
  for (size_t i = 0; i < map_.members.size(); ++i) {
    if (read_[i]) continue;
    const Node& k = map_.members[i].key;
    std::string hint = DidYouMean(k.scalar, fields_);
    if (!hint.empty()) explained.insert(hint);
    diags_->Error(k.at, "unknown field \"" + k.scalar + "\" in " + what_ +
                            (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
  std::vector<std::pair<std::string, std::string>> missing;
  for (const auto& req : required_) {
    if (!explained.count(req.first)) missing.push_back(req);
  }
  if (missing.empty()) return;
  std::string list;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) list.append(i + 1 == missing.size() ? " and " : ", ");
    list.append("\"").append(Name(missing[i].first)).append("\"");
  }
  std::string hint = missing.size() == 1 ? missing[0].second : "";
  diags_->Error(where_, what_ + " is missing required field" + (missing.size() > 1 ? "s " : " ") + list + hint);
}

std::map<std::string, Location> FieldReader::Locations() const {
  std::map<std::string, Location> out;
  for (size_t i = 0; i < map_.members.size(); ++i) {
    if (read_[i]) out[map_.members[i].key.scalar] = map_.members[i].value.at;
  }
  return out;
}

}  // namespace reconciler::specs
