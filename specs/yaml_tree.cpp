#include "specs/yaml_tree.h"

#include <yaml.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "specs/yaml_backends.h"

namespace reconciler::specs {

namespace {

constexpr std::string_view kMergeKey = "<<";
// Well under yaml-cpp's own nesting limit (DepthGuard<500>, counted per node handled).
constexpr int kYamlCppDepth = 400;

// Thrown from inside yaml-cpp's parse loop to abandon a file that exceeds a budget; the
// diagnostic is already recorded.
struct Abandon {};

// Where a node starts, as yaml-cpp's Mark gives it: zero-based line, column in bytes from
// the line's start, and byte offset. Both parsers report in these terms, so trees and
// messages are the same whichever parsed the file.
struct TextMark {
  int line = 0;
  int column = 0;
  long pos = 0;
};

// Anchors as numbers, numbered from 1 in each document as yaml-cpp does; 0 is none.
using AnchorId = size_t;

// Builds Nodes straight from a parser's events. Working from events instead of YAML::Load
// lets every budget bite inside the parser's own loop: yaml-cpp 0.7 never returns on some
// inputs (a lone ',' yields empty documents forever), and an alias bomb would otherwise be
// expanded by our copying.
class TreeBuilder {
 public:
  TreeBuilder(const std::string& file, Diagnostics* diags, const ParseLimits& limits)
      : file_(file), diags_(diags), limits_(limits) {}

  std::vector<Node> TakeDocuments() { return std::move(docs_); }

  void DocumentStart(const TextMark& mark) {
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

  void DocumentEnd() {
    last_had_root_ = have_root_ && !root_.IsNull();
    if (have_root_) docs_.push_back(std::move(root_));
    root_ = Node();
  }

  void Null(const TextMark& mark, AnchorId anchor) {
    Node n = NewNode(mark);
    Add(std::move(n), anchor);
  }

  void Alias(const TextMark& mark, AnchorId anchor) {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Fail(mark, "an alias refers to an anchor that is still being defined");
    Node copy = it->second;
    Count(copy, mark);
    Add(std::move(copy), 0);
  }

  // `tag` as yaml-cpp reports it: "!" for every non-plain scalar without a tag, "?" for a
  // plain one, else the tag resolved ("tag:yaml.org,2002:str" for !!str).
  void Scalar(const TextMark& mark, std::string_view tag, AnchorId anchor, std::string_view value) {
    Node n = NewNode(mark);
    n.type = Node::Type::kScalar;
    n.scalar = value;
    n.quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
    Add(std::move(n), anchor);
  }

  void SequenceStart(const TextMark& mark, AnchorId anchor) { Open(mark, Node::Type::kSequence, anchor); }
  void SequenceEnd() { Close(); }
  void MapStart(const TextMark& mark, AnchorId anchor) { Open(mark, Node::Type::kMap, anchor); }
  void MapEnd() { Close(); }

 private:
  struct Frame {
    Node node;
    AnchorId anchor = 0;
    std::optional<Node> key;  // a map's key waiting for its value
  };

  [[noreturn]] void Fail(const TextMark& mark, const std::string& message) {
    diags_->Error(At(mark), message);
    throw Abandon();
  }

  Location At(const TextMark& m) const {
    return {file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
  }

  Node NewNode(const TextMark& mark) {
    if (++nodes_ > limits_.max_nodes) FailBudget(mark);
    Node n;
    n.at = At(mark);
    return n;
  }

  void FailBudget(const TextMark& mark) {
    Fail(mark, "the document expands to more than " + std::to_string(limits_.max_nodes) +
                   " nodes through aliases; is this an alias bomb?");
  }

  // Counts every node of an alias's copy against the budget.
  void Count(const Node& n, const TextMark& mark) {
    nodes_ += 1;
    if (nodes_ > limits_.max_nodes) FailBudget(mark);
    for (const Node& item : n.items) Count(item, mark);
    for (const Member& m : n.members) {
      Count(m.key, mark);
      Count(m.value, mark);
    }
  }

  void Open(const TextMark& mark, Node::Type type, AnchorId anchor) {
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
  void Add(Node n, AnchorId anchor) {
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
  std::map<AnchorId, Node> anchors_;
  std::vector<Node> docs_;
  Node root_;
  bool have_root_ = false;
  size_t nodes_ = 0;
  size_t documents_ = 0;
  long last_start_ = -1;
  bool last_had_root_ = true;
  int stalled_ = 0;
};

// yaml-cpp's events, handed to a TreeBuilder.
class YamlCppEvents : public YAML::EventHandler {
 public:
  explicit YamlCppEvents(TreeBuilder* builder) : b_(builder) {}

  void OnDocumentStart(const YAML::Mark& mark) override { b_->DocumentStart(Convert(mark)); }
  void OnDocumentEnd() override { b_->DocumentEnd(); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { b_->Null(Convert(mark), anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override { b_->Alias(Convert(mark), anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    b_->Scalar(Convert(mark), tag, anchor, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    b_->SequenceStart(Convert(mark), anchor);
  }
  void OnSequenceEnd() override { b_->SequenceEnd(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    b_->MapStart(Convert(mark), anchor);
  }
  void OnMapEnd() override { b_->MapEnd(); }

 private:
  static TextMark Convert(const YAML::Mark& m) { return {m.line, m.column, m.pos}; }
  TreeBuilder* b_;
};

// libyaml's events, handed to a TreeBuilder with the marks yaml-cpp would give. The two
// agree on where a node with content starts (its first property, quote, bracket, '|' or
// character), but not on:
//   - columns: libyaml counts characters, yaml-cpp bytes, so non-ASCII lines are converted;
//   - empty nodes (`key:`, `- `, `{a, b}` with nothing after): libyaml marks the end of the
//     ':' or '-' or the next token, yaml-cpp always the next token (at the end of the text:
//     column 0 of the last line, as its scanner forces a new line there).
// What this reader does not reproduce it refuses, and yaml-cpp parses the file instead (see
// Unproven and the checks in Read).
class LibyamlReader {
 public:
  explicit LibyamlReader(const std::string& text) : text_(text) {}

  // False when yaml-cpp must parse the file: libyaml reported an error, or the file uses
  // something this reader has not been shown to read as yaml-cpp does.
  // Throws Abandon, as the builder does, once the whole text has parsed without error:
  // yaml-cpp reports a syntax error later in the text first.
  bool Read(TreeBuilder* builder) {
    if (Unproven()) return false;
    Parser parser(text_);
    if (!parser.ok) return false;
    bool abandoned = false;
    for (bool done = false; !done;) {
      Event event;
      if (!yaml_parser_parse(&parser.p, &event.e)) return false;
      if (abandoned) {
        done = event.e.type == YAML_STREAM_END_EVENT;
        continue;
      }
      try {
        if (!Handle(event.e, builder, &done)) return false;
      } catch (const Abandon&) {
        abandoned = true;
      }
    }
    if (abandoned) throw Abandon();
    return true;
  }

 private:
  struct Parser {
    explicit Parser(const std::string& text) {
      ok = yaml_parser_initialize(&p) != 0;
      if (!ok) return;
      yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
      yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
    }
    ~Parser() {
      if (ok) yaml_parser_delete(&p);
    }
    yaml_parser_t p;
    bool ok = false;
  };
  struct Event {
    ~Event() { yaml_event_delete(&e); }
    yaml_event_t e{};
  };
  // Text-level constructs left to yaml-cpp, each for a reason:
  //   - a byte-order mark, anywhere: the two count it differently in marks;
  //   - '?' followed by a blank (an explicit key, or text that looks like one): yaml-cpp
  //     marks a key without ':' at its '?', which libyaml's events do not show; and '?' that
  //     starts a token, which libyaml reads as an explicit key in flow style and yaml-cpp
  //     refuses;
  //   - a '\r' that is not part of "\r\n", and the Unicode line breaks U+0085, U+2028 and
  //     U+2029: libyaml counts them as new lines, yaml-cpp does not;
  //   - a last line of only blanks or a comment without a line break after it: yaml-cpp ends
  //     some collections at that line's end, others at its column 0;
  //   - an anchor, alias or tag that is not a plain name ([A-Za-z0-9_-]) followed by a blank
  //     (or, after an anchor or alias, by ',', ']' or '}'):
  //     the two end such names at different characters (`&a:` is "a" to libyaml, "a:" to
  //     yaml-cpp), and the non-specific tag '!'.
  bool Unproven() {
    const std::string& t = text_;
    if (t.find("\xEF\xBB\xBF") != std::string::npos) return true;
    size_t last_line = t.rfind('\n');
    last_line = last_line == std::string::npos ? 0 : last_line + 1;
    if (last_line < t.size() &&
        (t.find('#', last_line) != std::string::npos || t.find_first_not_of(" \t\r", last_line) == std::string::npos)) {
      return true;
    }
    for (char indicator : {'&', '*', '!'}) {
      for (size_t i = t.find(indicator); i != std::string::npos; i = t.find(indicator, i + 1)) {
        if (i > 0 && !IsBlank(t[i - 1]) && std::string_view("[{,").find(t[i - 1]) == std::string_view::npos) continue;
        size_t j = i + 1;
        if (indicator == '!' && j < t.size() && t[j] == '!') ++j;  // !!str
        size_t name = j;
        while (j < t.size() && (std::isalnum(static_cast<unsigned char>(t[j])) || t[j] == '-' || t[j] == '_')) ++j;
        if (j == name) return true;  // also '!' alone, the non-specific tag: not proven alike
        if (j == t.size()) continue;
        // Both end a name at a blank, and an anchor's or alias's also at ',', ']' or '}'.
        bool ends = IsBlank(t[j]) || (indicator != '!' && std::string_view(",]}").find(t[j]) != std::string_view::npos);
        if (!ends) return true;
      }
    }
    for (size_t i = t.find('?'); i != std::string::npos; i = t.find('?', i + 1)) {
      if (i + 1 == t.size() || IsBlank(t[i + 1])) return true;
      if (i == 0 || IsBlank(t[i - 1]) || std::string_view("[{,").find(t[i - 1]) != std::string_view::npos) return true;
    }
    for (size_t i = t.find('\r'); i != std::string::npos; i = t.find('\r', i + 1)) {
      if (i + 1 == t.size() || t[i + 1] != '\n') return true;
    }
    ascii_ = std::none_of(t.begin(), t.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (ascii_) return false;
    if (t.find("\xC2\x85") != std::string::npos || t.find("\xE2\x80\xA8") != std::string::npos ||
        t.find("\xE2\x80\xA9") != std::string::npos) {
      return true;
    }
    line_starts_.push_back(0);
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '\n') line_starts_.push_back(i + 1);
    }
    return false;
  }

  static bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  bool Handle(const yaml_event_t& e, TreeBuilder* b, bool* done) {
    switch (e.type) {
      case YAML_STREAM_START_EVENT:
      case YAML_NO_EVENT:
        return true;
      case YAML_STREAM_END_EVENT:
        *done = true;
        return true;
      case YAML_DOCUMENT_START_EVENT:
        // %YAML and %TAG directives are left to yaml-cpp: tags under a %TAG handle are not
        // proven to resolve alike.
        if (e.data.document_start.version_directive != nullptr ||
            e.data.document_start.tag_directives.start != e.data.document_start.tag_directives.end) {
          return false;
        }
        anchors_.clear();  // yaml-cpp's anchors, and their numbers, are per document
        next_anchor_ = 0;
        b->DocumentStart(ToMark(e.start_mark));
        return true;
      case YAML_DOCUMENT_END_EVENT:
        b->DocumentEnd();
        return true;
      case YAML_ALIAS_EVENT: {
        // An unknown anchor is yaml-cpp's error to report.
        auto it = anchors_.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (it == anchors_.end()) return false;
        if (!BeginNode(e.start_mark)) return false;
        b->Alias(ToMark(e.start_mark), it->second);
        EndNode(e.end_mark);
        return true;
      }
      case YAML_SCALAR_EVENT:
        return Scalar(e, b);
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        bool map = e.type == YAML_MAPPING_START_EVENT;
        TextMark mark = ToMark(e.start_mark);
        if (!BeginNode(e.start_mark)) return false;
        AnchorId anchor = Register(map ? e.data.mapping_start.anchor : e.data.sequence_start.anchor);
        frames_.push_back({map, map ? e.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                                    : e.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE});
        if (map) b->MapStart(mark, anchor);
        else b->SequenceStart(mark, anchor);
        return true;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        frames_.pop_back();
        if (e.type == YAML_MAPPING_END_EVENT) b->MapEnd();
        else b->SequenceEnd();
        EndNode(e.end_mark);
        return true;
    }
    return false;
  }

  bool Scalar(const yaml_event_t& e, TreeBuilder* b) {
    const auto& s = e.data.scalar;
    bool plain = s.style == YAML_PLAIN_SCALAR_STYLE;
    TextMark mark = ToMark(e.start_mark);
    TextMark end = ToMark(e.end_mark);
    // Escapes in double quotes are left to yaml-cpp: the two do not know the same set.
    if (s.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && text_.find('\\', mark.pos) < static_cast<size_t>(end.pos)) {
      return false;
    }
    // Plain and quoted scalars over several lines are left to yaml-cpp: where a plain one
    // ends (at a "- " that starts a line, say) and how blank lines fold are not proven alike.
    // So are plain scalars in flow style holding '?' or ':', which end one for yaml-cpp and
    // not for libyaml.
    bool flow_style = plain || s.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || s.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (flow_style && end.line != mark.line) return false;
    if (plain && InFlow() && text_.find_first_of("?:", mark.pos) < static_cast<size_t>(end.pos)) return false;
    // Block scalars that keep their trailing line breaks ('+') are left to yaml-cpp: the two
    // keep different numbers of them in folded scalars. So are block scalars whose '|' or '>'
    // starts a line, which the two place in different collections, and tagged ones.
    if ((s.style == YAML_LITERAL_SCALAR_STYLE || s.style == YAML_FOLDED_SCALAR_STYLE) &&
        (KeepsBreaks(mark.pos) || StartsLine(mark.pos) || s.tag != nullptr)) {
      return false;
    }
    // A tag with nothing after it at the end of the text: yaml-cpp gives a null there, and
    // an empty string elsewhere.
    if (s.length == 0 && s.tag != nullptr && NextToken(end).pos == static_cast<long>(text_.size())) return false;
    if (!BeginNode(e.start_mark)) return false;
    // yaml-cpp's tag for a node without one: "!" when quoted or a block scalar, "?" when plain.
    std::string_view tag = s.tag != nullptr ? reinterpret_cast<const char*>(s.tag) : plain ? "?" : "!";
    std::string_view value(reinterpret_cast<const char*>(s.value), s.length);
    bool empty = s.length == 0 && s.anchor == nullptr && s.tag == nullptr && e.start_mark.index == e.end_mark.index;
    if (empty) mark = NextToken(mark);
    AnchorId anchor = Register(s.anchor);
    if (plain && tag == "?" &&
        (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")) {
      b->Null(mark, anchor);
    } else {
      b->Scalar(mark, tag, anchor, value);
    }
    EndNode(e.end_mark);
    return true;
  }

  // Whether the block scalar header at or after `pos` (past any properties) says '+'.
  bool KeepsBreaks(size_t pos) const {
    size_t header = text_.find_first_of("|>", pos);
    size_t eol = text_.find('\n', header);
    size_t plus = text_.find('+', header);
    return header != std::string::npos && plus < eol;
  }

  bool StartsLine(size_t pos) const {
    while (pos > 0 && (text_[pos - 1] == ' ' || text_[pos - 1] == '\t')) --pos;
    return pos == 0 || text_[pos - 1] == '\n';
  }

  bool InFlow() const { return !frames_.empty() && frames_.back().flow; }

  // A node starts in the innermost collection. False when it is the value of a key that
  // yaml-cpp may not read as one: a key longer than 1000 bytes (libyaml's limit on simple
  // keys is 1024 characters, yaml-cpp has none) or, in flow style, one whose ':', ',' or '}'
  // is on a later line (yaml-cpp then refuses the key, libyaml does not). Also false after a
  // '?' in flow style, which libyaml reads as an explicit key and yaml-cpp refuses.
  bool BeginNode(const yaml_mark_t& start) {
    if (InFlow()) {
      size_t i = ToMark(start).pos;
      while (i > 0 && (text_[i - 1] == ' ' || text_[i - 1] == '\t')) --i;
      if (i > 0 && text_[i - 1] == '?') return false;
    }
    if (frames_.empty() || !frames_.back().map) return true;
    Frame& f = frames_.back();
    if (!f.at_value) {
      f.key_start = start.index;
      f.key_line = start.line;
      return true;
    }
    if (f.key_end - f.key_start > 1000) return false;
    return !f.flow || NextToken(ToMark(f.key_end_mark)).line == static_cast<int>(f.key_line);
  }
  void EndNode(const yaml_mark_t& end) {
    if (frames_.empty() || !frames_.back().map) return;
    Frame& f = frames_.back();
    if (!f.at_value) {
      f.key_end = end.index;
      f.key_end_mark = end;
    }
    f.at_value = !f.at_value;
  }

  AnchorId Register(const yaml_char_t* name) {
    if (name == nullptr) return 0;
    return anchors_[reinterpret_cast<const char*>(name)] = ++next_anchor_;
  }

  // Where yaml-cpp marks an empty node that libyaml marks at `at`: the start of the first
  // token from there, past blanks, line breaks and comments.
  TextMark NextToken(TextMark at) const {
    const std::string& t = text_;
    size_t i = at.pos;
    while (i < t.size()) {
      char c = t[i];
      if (c == '\n') {
        ++at.line;
        at.column = 0;
      } else if (c == '#' && (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t' || t[i - 1] == '\n' || t[i - 1] == '\r')) {
        size_t eol = t.find('\n', i);
        if (eol == std::string::npos) eol = t.size();
        at.column += static_cast<int>(eol - i);
        i = eol;
        continue;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++at.column;
      } else {
        break;
      }
      ++i;
    }
    at.pos = static_cast<long>(i);
    if (i == t.size()) {
      // yaml-cpp's end of text: column 0 of the last line (libyaml may have moved past it).
      at.line = static_cast<int>(std::count(t.begin(), t.end(), '\n'));
      at.column = 0;
    }
    return at;
  }

  TextMark ToMark(const yaml_mark_t& m) const {
    TextMark mark{static_cast<int>(m.line), static_cast<int>(m.column), static_cast<long>(m.index)};
    if (ascii_) return mark;
    // libyaml counts characters; walk the line's UTF-8 to count bytes.
    size_t start = line_starts_[std::min(m.line, line_starts_.size() - 1)];
    size_t i = start;
    for (size_t chars = 0; chars < m.column && i < text_.size(); ++chars) {
      unsigned char c = static_cast<unsigned char>(text_[i]);
      i += c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    }
    mark.column = static_cast<int>(i - start);
    mark.pos = static_cast<long>(i);
    return mark;
  }

  struct Frame {
    bool map = false;
    bool flow = false;
    bool at_value = false;  // the key is read, its value comes next
    size_t key_start = 0, key_line = 0, key_end = 0;
    yaml_mark_t key_end_mark{};
  };

  const std::string& text_;
  std::vector<Frame> frames_;
  bool ascii_ = true;
  std::vector<size_t> line_starts_;  // byte offsets, for non-ASCII texts
  std::unordered_map<std::string, AnchorId> anchors_;
  AnchorId next_anchor_ = 0;
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

namespace {

std::vector<Node> ParseWithYamlCpp(const std::string& file, const std::string& text, Diagnostics* diags,
                                   const ParseLimits& limits) {
  TreeBuilder builder(file, diags, limits);
  YamlCppEvents events(&builder);
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(events)) {
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

// The documents libyaml reads, or nothing when yaml-cpp must parse the file.
std::optional<std::vector<Node>> ParseWithLibyaml(const std::string& file, const std::string& text,
                                                  Diagnostics* diags, const ParseLimits& limits) {
  TreeBuilder builder(file, diags, limits);
  LibyamlReader reader(text);
  try {
    if (!reader.Read(&builder)) return std::nullopt;
  } catch (const Abandon&) {
  }
  return builder.TakeDocuments();
}

}  // namespace

std::vector<Node> ParseYaml(const std::string& file, const std::string& text, Diagnostics* diags,
                            const ParseLimits& limits) {
  return ParseYamlWith(YamlBackend::kAuto, file, text, diags, limits);
}

std::vector<Node> ParseYamlWith(YamlBackend backend, const std::string& file, const std::string& text,
                                Diagnostics* diags, const ParseLimits& limits, bool* used_libyaml) {
  if (used_libyaml != nullptr) *used_libyaml = false;
  std::vector<Node> docs;
  if (text.size() > limits.max_bytes) {
    diags->Error({file, 0, 0}, "the file is " + std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(limits.max_bytes) + " bytes");
    return docs;
  }
  if (!CheckText(file, text, diags)) return docs;
  if (!CheckTabs(file, text, diags)) return docs;
  // yaml-cpp refuses nesting past 500 levels on its own, libyaml does not: above that limit
  // of ours only yaml-cpp is sure to say the same.
  if (backend == YamlBackend::kYamlCpp || limits.max_depth > kYamlCppDepth) {
    return ParseWithYamlCpp(file, text, diags, limits);
  }
  // In kAuto, anything the libyaml run reports sends the file to yaml-cpp, so every message
  // about a file's YAML is yaml-cpp's, mark and words: a second parse only for files with
  // problems.
  Diagnostics own;
  std::optional<std::vector<Node>> read = ParseWithLibyaml(file, text, &own, limits);
  if (!read || (backend == YamlBackend::kAuto && !own.Sorted().empty())) {
    return ParseWithYamlCpp(file, text, diags, limits);
  }
  diags->Merge(own);
  if (used_libyaml != nullptr) *used_libyaml = true;
  return std::move(*read);
}

}  // namespace reconciler::specs
