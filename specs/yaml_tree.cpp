#include "specs/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <set>

namespace reconciler::specs {

namespace {

constexpr std::string_view kMergeKey = "<<";

class Converter {
 public:
  Converter(const std::string& file, Diagnostics* diags, const ParseLimits& limits)
      : file_(file), diags_(diags), limits_(limits) {}

  // Returns false when the document had to be abandoned (an error was reported).
  bool Convert(const YAML::Node& in, int depth, Node* out) {
    if (++nodes_ > limits_.max_nodes) {
      if (!budget_reported_) {
        diags_->Error(At(in), "the document expands to more than " + std::to_string(limits_.max_nodes) +
                                  " nodes through aliases; is this an alias bomb?");
        budget_reported_ = true;
      }
      return false;
    }
    if (depth > limits_.max_depth) {
      diags_->Error(At(in), "nesting is deeper than " + std::to_string(limits_.max_depth) + " levels");
      return false;
    }
    out->at = At(in);
    switch (in.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out->type = Node::Type::kNull;
        return true;
      case YAML::NodeType::Scalar:
        out->type = Node::Type::kScalar;
        out->scalar = in.Scalar();
        out->quoted = in.Tag() == "!" || in.Tag() == "tag:yaml.org,2002:str";
        return true;
      case YAML::NodeType::Sequence:
        out->type = Node::Type::kSequence;
        for (const YAML::Node& item : in) {
          out->items.emplace_back();
          if (!Convert(item, depth + 1, &out->items.back())) return false;
        }
        return true;
      case YAML::NodeType::Map:
        out->type = Node::Type::kMap;
        return ConvertMap(in, depth, out);
    }
    return true;
  }

 private:
  Location At(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return {file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
  }

  bool ConvertMap(const YAML::Node& in, int depth, Node* out) {
    std::vector<const YAML::Node*> merges;
    std::set<std::string> seen;
    std::vector<YAML::Node> merge_values;
    for (const auto& kv : in) {
      Node key;
      if (!Convert(kv.first, depth + 1, &key)) return false;
      if (!key.IsScalar()) {
        diags_->Error(key.at, "mapping keys must be plain strings, not " + key.Describe());
        continue;
      }
      if (key.scalar == kMergeKey && !key.quoted) {
        merge_values.push_back(kv.second);
        continue;
      }
      if (!seen.insert(key.scalar).second) {
        const Node* first = out->FindKey(key.scalar);
        diags_->Error(key.at, "duplicate key \"" + key.scalar + "\"" +
                                  (first ? " (first set at line " + std::to_string(first->at.line) + ")" : ""));
        continue;
      }
      Node value;
      if (!Convert(kv.second, depth + 1, &value)) return false;
      out->members.emplace_back(std::move(key), std::move(value));
    }
    // Merge keys: keys written in this mapping win; among merged maps, earlier ones win.
    for (const YAML::Node& merge : merge_values) {
      std::vector<YAML::Node> sources;
      if (merge.IsMap()) sources.push_back(merge);
      else if (merge.IsSequence()) {
        for (const YAML::Node& s : merge) sources.push_back(s);
      }
      if (sources.empty() || !std::all_of(sources.begin(), sources.end(), [](const YAML::Node& s) { return s.IsMap(); })) {
        diags_->Error(At(merge), "a merge key (<<) takes a mapping or a list of mappings");
        continue;
      }
      for (const YAML::Node& source : sources) {
        Node merged;
        if (!Convert(source, depth + 1, &merged)) return false;
        for (auto& [k, v] : merged.members) {
          if (seen.insert(k.scalar).second) out->members.emplace_back(std::move(k), std::move(v));
        }
      }
    }
    return true;
  }

  const std::string& file_;
  Diagnostics* diags_;
  const ParseLimits& limits_;
  size_t nodes_ = 0;
  bool budget_reported_ = false;
};

// YAML forbids tabs in indentation; yaml-cpp's own message for them is cryptic.
bool CheckTabs(const std::string& file, const std::string& text, Diagnostics* diags) {
  bool ok = true;
  int line = 1;
  bool at_line_start = true;
  int column = 1;
  for (char c : text) {
    if (c == '\n') {
      ++line;
      column = 1;
      at_line_start = true;
      continue;
    }
    if (at_line_start && c == '\t') {
      diags->Error({file, line, column}, "tab character in indentation; YAML indents with spaces");
      ok = false;
      at_line_start = false;
    } else if (c != ' ') {
      at_line_start = false;
    }
    ++column;
  }
  return ok;
}

}  // namespace

const Node* Node::Find(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k.scalar == key) return &v;
  }
  return nullptr;
}

const Node* Node::FindKey(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k.scalar == key) return &k;
  }
  return nullptr;
}

std::string Node::Describe() const {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kSequence: return "a list";
    case Type::kMap: return "a mapping";
    case Type::kScalar: break;
  }
  std::string shown = scalar.size() > 40 ? scalar.substr(0, 37) + "..." : scalar;
  if (quoted) return "the string \"" + shown + "\"";
  // A plain scalar that reads as a number or boolean is shown bare.
  bool number = !scalar.empty() && scalar.find_first_not_of("+-0123456789.eE") == std::string::npos &&
                scalar.find_first_of("0123456789") != std::string::npos;
  if (number || scalar == "true" || scalar == "false") return shown;
  return "\"" + shown + "\"";
}

bool CheckText(const std::string& file, const std::string& text, Diagnostics* diags) {
  int line = 1, column = 1;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool bad = len == 0 || i + len > text.size() || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f;
    for (size_t k = 1; !bad && k < len; ++k) bad = (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80;
    if (bad) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      diags->Error({file, line, column}, std::string("not a YAML text file: byte ") + hex +
                                             " is not valid UTF-8 text (is this a binary file?)");
      return false;
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return true;
}

std::vector<Node> ParseYaml(const std::string& file, const std::string& text, Diagnostics* diags,
                            const ParseLimits& limits) {
  std::vector<Node> docs;
  if (text.size() > limits.max_bytes) {
    diags->Error({file, 0, 0}, "the file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(limits.max_bytes) + " bytes");
    return docs;
  }
  if (!CheckText(file, text, diags)) return docs;
  if (!CheckTabs(file, text, diags)) return docs;
  std::vector<YAML::Node> parsed;
  try {
    parsed = YAML::LoadAll(text);
  } catch (const YAML::DeepRecursion& e) {
    diags->Error({file, e.mark.line + 1, e.mark.column + 1},
                 "nesting is deeper than " + std::to_string(limits.max_depth) + " levels");
    return docs;
  } catch (const YAML::Exception& e) {
    // yaml-cpp's words for the usual mistakes, made plainer.
    static const std::pair<const char*, const char*> kPlainer[] = {
        {"end of map flow not found", "a '{' is never closed by a '}'"},
        {"end of sequence flow not found", "a '[' is never closed by a ']'"},
        {"illegal map value", "a ':' where no value may start; check the indentation and quoting"},
        {"end of map not found", "a mapping ends unexpectedly; check the indentation"},
        {"end of sequence not found", "a list ends unexpectedly; check the indentation"},
        {"unknown escape character", "an unknown escape sequence in a double-quoted string"},
    };
    std::string msg = e.msg;
    for (const auto& [from, to] : kPlainer) {
      if (msg == from) msg = to;
    }
    diags->Error({file, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0},
                 "invalid YAML: " + msg);
    return docs;
  }
  Converter converter(file, diags, limits);
  for (const YAML::Node& doc : parsed) {
    Node out;
    if (converter.Convert(doc, 0, &out)) docs.push_back(std::move(out));
  }
  return docs;
}

}  // namespace reconciler::specs
