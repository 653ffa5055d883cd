#include "specs/yaml_tree.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace reconciler::specs {

namespace {

constexpr std::string_view kMergeKey = "<<";

// Thrown from inside yaml-cpp's parse loop to abandon a file that exceeds a budget; the
// diagnostic is already recorded.
struct Abandon {};

// Builds Nodes straight from yaml-cpp's parse events. Working from events instead of
// YAML::Load lets every budget bite inside the parser's own loop: yaml-cpp 0.7 never
// returns on some inputs (a lone ',' yields empty documents forever), and an alias bomb
// would otherwise be expanded by our copying.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const std::string& file, Diagnostics* diags, const ParseLimits& limits)
      : file_(file), diags_(diags), limits_(limits) {}

  std::vector<Node> TakeDocuments() { return std::move(docs_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 sometimes loops on malformed input, starting empty documents at one
    // position forever (a lone "," does it). Stop at the third lap.
    stalled_ = mark.pos == last_start_ && !last_had_root_ ? stalled_ + 1 : 0;
    last_start_ = mark.pos;
    if (stalled_ >= 2) Fail(mark, "invalid YAML: the text cannot be parsed from here on");
    if (++documents_ > limits_.max_documents) {
      Fail(mark, "more than " + std::to_string(limits_.max_documents) + " YAML documents in one file");
    }
    have_root_ = false;
  }

  void OnDocumentEnd() override {
    last_had_root_ = have_root_ && !root_.IsNull();
    if (have_root_) docs_.push_back(std::move(root_));
    root_ = Node();
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node n = NewNode(mark);
    Add(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Fail(mark, "an alias refers to an anchor that is still being defined");
    Node copy = it->second;
    Count(copy, mark);
    Add(std::move(copy), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node n = NewNode(mark);
    n.type = Node::Type::kScalar;
    n.scalar = value;
    n.quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
    Add(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, Node::Type::kSequence, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, Node::Type::kMap, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    std::optional<Node> key;  // a map's key waiting for its value
  };

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& message) {
    diags_->Error(At(mark), message);
    throw Abandon();
  }

  Location At(const YAML::Mark& m) const {
    return {file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
  }

  Node NewNode(const YAML::Mark& mark) {
    if (++nodes_ > limits_.max_nodes) FailBudget(mark);
    Node n;
    n.at = At(mark);
    return n;
  }

  void FailBudget(const YAML::Mark& mark) {
    Fail(mark, "the document expands to more than " + std::to_string(limits_.max_nodes) +
                   " nodes through aliases; is this an alias bomb?");
  }

  // Counts every node of an alias's copy against the budget.
  void Count(const Node& n, const YAML::Mark& mark) {
    nodes_ += 1;
    if (nodes_ > limits_.max_nodes) FailBudget(mark);
    for (const Node& item : n.items) Count(item, mark);
    for (const Member& m : n.members) {
      Count(m.key, mark);
      Count(m.value, mark);
    }
  }

  void Open(const YAML::Mark& mark, Node::Type type, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      Fail(mark, "nesting is deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Frame f;
    f.node = NewNode(mark);
    f.node.type = type;
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.node.IsMap()) FinishMap(&f.node);
    Add(std::move(f.node), f.anchor);
  }

  // Places a finished node in its parent (or as the document root) and records its anchor.
  void Add(Node n, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = n;
    if (stack_.empty()) {
      root_ = std::move(n);
      have_root_ = true;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node.IsSequence()) {
      parent.node.items.push_back(std::move(n));
    } else if (!parent.key) {
      parent.key = std::move(n);
    } else {
      parent.node.members.push_back({std::move(*parent.key), std::move(n)});
      parent.key.reset();
    }
  }

  // Rejects bad and duplicate keys and expands merge keys: keys written in the mapping win;
  // among merged mappings, earlier ones win.
  void FinishMap(Node* map) {
    std::vector<Member> members = std::move(map->members);
    map->members.clear();
    map->members.reserve(members.size());
    KeySet seen(map->members);
    std::vector<Node> merges;
    for (Member& m : members) {
      if (!m.key.IsScalar()) {
        diags_->Error(m.key.at, "mapping keys must be plain strings, not " + m.key.Describe());
        continue;
      }
      if (m.key.scalar == kMergeKey && !m.key.quoted) {
        merges.push_back(std::move(m.value));
        continue;
      }
      if (!seen.Insert(m.key.scalar)) {
        const Node* first = map->FindKey(m.key.scalar);
        diags_->Error(m.key.at, "duplicate key \"" + m.key.scalar + "\"" +
                                    (first ? " (first set at line " + std::to_string(first->at.line) + ")" : ""));
        continue;
      }
      map->members.push_back(std::move(m));
    }
    for (Node& merge : merges) {
      std::vector<Node> sources;
      if (merge.IsMap()) sources.push_back(std::move(merge));
      else if (merge.IsSequence()) sources = std::move(merge.items);
      bool maps = !sources.empty() &&
                  std::all_of(sources.begin(), sources.end(), [](const Node& s) { return s.IsMap(); });
      if (!maps) {
        diags_->Error(merge.at, "a merge key (<<) takes a mapping or a list of mappings");
        continue;
      }
      for (Node& source : sources) {
        for (Member& m : source.members) {
          if (seen.Insert(m.key.scalar)) map->members.push_back(std::move(m));
        }
      }
    }
  }

  // The keys of a mapping being finished. Most mappings are small, and scanning their few
  // members beats building a set (and copying each key into it) for every mapping of every
  // file; a large mapping gets the set, so it is not quadratic.
  class KeySet {
   public:
    explicit KeySet(const std::vector<Member>& held) : held_(held) {}
    // True when `key` is not held yet.
    // REQUIRES: a key this returns true for is appended to `held` before the next call.
    bool Insert(const std::string& key) {
      if (!large_ && held_.size() < kSmall) {
        return std::none_of(held_.begin(), held_.end(), [&](const Member& m) { return m.key.scalar == key; });
      }
      if (!large_) {
        for (const Member& m : held_) set_.insert(m.key.scalar);
        large_ = true;
      }
      return set_.insert(key).second;
    }

   private:
    static constexpr size_t kSmall = 16;
    const std::vector<Member>& held_;
    bool large_ = false;
    std::set<std::string, std::less<>> set_;
  };

  const std::string& file_;
  Diagnostics* diags_;
  const ParseLimits& limits_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Node> anchors_;
  std::vector<Node> docs_;
  Node root_;
  bool have_root_ = false;
  size_t nodes_ = 0;
  size_t documents_ = 0;
  int last_start_ = -1;
  bool last_had_root_ = true;
  int stalled_ = 0;
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

Node* Node::Find(std::string_view key) {
  for (auto& [k, v] : members) {
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
  TreeBuilder builder(file, diags, limits);
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Abandon&) {
    return builder.TakeDocuments();
  } catch (const YAML::DeepRecursion& e) {
    diags->Error({file, e.mark.line + 1, e.mark.column + 1},
                 "nesting is deeper than " + std::to_string(limits.max_depth) + " levels");
    return builder.TakeDocuments();
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
    // Documents completed before the error are still checked.
    return builder.TakeDocuments();
  }
  return builder.TakeDocuments();
}

}  // namespace reconciler::specs
