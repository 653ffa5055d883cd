// libyaml against yaml-cpp: every YAML file of the repository, a set of tricky inputs and
// mutants of them, parsed by both, must give the same trees (type, text, quoting, line and column of every
// node) and the same diagnostics. yaml-cpp is the reference: its marks and messages are
// what users saw before libyaml parsed spec files.

#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include "specs/yaml_backends.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace reconciler::specs {
namespace {

namespace fs = std::filesystem;

// One line per node, depth-first: enough to tell any two trees apart.
void Dump(const Node& n, int depth, std::string* out, size_t* nodes) {
  ++*nodes;
  static const char* kTypes[] = {"null", "scalar", "seq", "map"};
  *out += std::string(depth * 2, ' ') + kTypes[static_cast<int>(n.type)] + " " + std::to_string(n.at.line) + ":" +
          std::to_string(n.at.column) + (n.quoted ? " quoted" : "") + (n.IsScalar() ? " [" + n.scalar + "]" : "") +
          "\n";
  for (const Node& item : n.items) Dump(item, depth + 1, out, nodes);
  for (const Member& m : n.members) {
    Dump(m.key, depth + 1, out, nodes);
    Dump(m.value, depth + 2, out, nodes);
  }
}

struct Parsed {
  std::string text;  // the trees, then the diagnostics
  size_t nodes = 0;
  bool used_libyaml = false;
};

Parsed Parse(YamlBackend backend, const std::string& name, const std::string& text) {
  Diagnostics diags;
  ParseLimits limits;
  limits.max_depth = 20;  // low enough for the deep-nesting inputs to pass it
  Parsed p;
  std::vector<Node> docs = ParseYamlWith(backend, name, text, &diags, limits, &p.used_libyaml);
  for (const Node& doc : docs) {
    p.text += "---\n";
    Dump(doc, 0, &p.text, &p.nodes);
  }
  for (const Diagnostic& d : diags.Sorted()) {
    p.text += "! " + std::to_string(d.at.line) + ":" + std::to_string(d.at.column) + " " + d.message + "\n";
  }
  return p;
}

// The first line where two dumps differ, for a readable failure.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool more_a = static_cast<bool>(std::getline(a, la)), more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "";
    if (!more_a || !more_b || la != lb) {
      return "line " + std::to_string(line) + ": yaml-cpp '" + (more_a ? la : "<end>") + "', libyaml '" +
             (more_b ? lb : "<end>") + "'";
    }
  }
}

struct Tally {
  size_t files = 0;
  size_t by_libyaml = 0;  // files libyaml read itself, compared node by node
  size_t nodes = 0;       // nodes compared
};

// Compares both backends on `text`: libyaml's own reading where it vouches for the file,
// and what ParseYaml does (kAuto) always.
void Compare(const std::string& name, const std::string& text, Tally* tally) {
  Parsed reference = Parse(YamlBackend::kYamlCpp, name, text);
  Parsed own = Parse(YamlBackend::kLibyaml, name, text);
  Parsed automatic = Parse(YamlBackend::kAuto, name, text);
  ++tally->files;
  if (own.used_libyaml) {
    ++tally->by_libyaml;
    tally->nodes += own.nodes;
    INFO(name, "\n", text);
    CHECK_MESSAGE(own.text == reference.text, FirstDifference(reference.text, own.text));
  }
  INFO(name, " (as ParseYaml reads it)\n", text);
  CHECK_MESSAGE(automatic.text == reference.text, FirstDifference(reference.text, automatic.text));
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) s.replace(i, from.size(), to);
  return s;
}

// Inputs chosen for where parsers differ: empty values, anchors, merges, quoting and block
// scalars, flow style, documents, comments, non-ASCII text, number-like and null-like text.
const std::vector<std::string>& TrickyInputs() {
  static const std::vector<std::string> inputs = {
      "",
      "# only a comment\n",
      "---\n",
      "---\n---\n",
      "--- \n...\n",
      "a: 1\n---\nb: 2\n...\n---\nc: 3\n",
      "---\n# c\n---\nx\n",
      "a\n",
      "a: b",
      "a:\n",
      "a:",
      "a:\nb:\n",
      "a:\n  # comment\nb: 1\n",
      "a:   # comment\n\n\n  b:\n",
      "a: \n  \n",
      "a:\n  b:\n  c:\nd:\n",
      "a:\n  b:\nc:",
      "- \n- a\n-\n",
      "-\n",
      "- - \n  - x\n- \n",
      "- a:\n  b:\n-\n",
      "list:\n- a\n-\n- c\nnext: 1\n",
      "list:\n  -\n  - # c\n    x\n",
      "k: ~\nl: null\nm: Null\nn: NULL\no: nULL\np: ''\nq: \"\"\nr: !!null null\n",
      "n: 010\nh: 0x1f\ne: 1e3\ni: .inf\nmi: -.inf\nnan: .nan\nt: true\ny: yes\no: on\nf: 1_000\ns: +12\n",
      "a: 'single'\nb: \"double\"\nc: plain text here\nd: 'it''s'\ne: !!str 5\nf: !!int \"7\"\ng: ! 5\nh: !foo bar\n"
      "i: !foo 'q'\nj: !<tag:yaml.org,2002:str> v\nk: !!str\nl: !foo\n",
      "lit: |\n  line one\n  line two\nfold: >\n  folded\n  text\n\n  para\nkeep: |+\n  k\n\nstrip: |-\n  s\n"
      "ind: |2\n   indented\nlast: x\n",
      "a: |\n  x\n",
      "- !!str |\n  x\n- &b >\n  y\n- *b\nc: !!str |\n  z\n",
      "a: !!str\n  b\nc: &c\n  d\n",
      "a: >\n  one\n   more\n  two\n\n\n  three\nb: >\n\n  lead\nc: >-\n  x\n\n\n  y\n\n",
      "a: >+\n  k\n\nb: |+\n  k\n\n\nc: |\n  clip\n\n\nd: >\n  clip\n\n",
      "- |\n  in a list\n- >\n   deeper\n  text\n- |1\n   one\n",
      "a: |\n  x\n  # not a comment\n# a comment\nb: 1\n",
      "a: >-\n  x\n  y\n",
      "a: |\n",
      "b: >\n\nc: 1\n",
      "a: plain\n  continued\n  lines\nb: 'single\n  quoted'\nc: \"double\n  quoted\"\n",
      "a: \"esc \\t \\n \\\\ \\\" \\x41 \\u00e9\"\n",
      "a: \"\\/\"\n",
      "anchors:\n  base: &base {x: 1, y: 2}\n  other: &o\n    z: 3\nuse:\n  <<: *base\n  y: 9\nboth:\n  <<: [*base, *o]\n"
      "alias: *o\nseq: &s [1, 2]\nagain: *s\n",
      "a: &a 1\nb: &a 2\nc: *a\n",
      "a: &x\nb: *x\n",
      "a: &x\n  b: 1\nc: *x\nd: &y [*x, *x]\ne: *y\n",
      "- &a x\n- *a\n- &b\n- *b\n",
      "a: &e !!str\nb: *e\n",
      "---\na: &a 1\n---\nb: *a\n",
      "'<<': {a: 1}\n",
      "<<: 5\n",
      "<<: [{a: 1}, 2]\n",
      "a: {b: 1, c: [1, 2, {d: e}], f: }\n",
      "{a, b: 1, c}\n",
      "{a: , b}\n",
      "{a: 1,\n b: 2,\n # c\n c: 3\n}\n",
      "[a, b, , c]\n",
      "[a, b,]\n",
      "[a: 1, b: , c]\n",
      "[{a: 1}, [2], \"x\", 'y']\n",
      "{\"a\":1,\"b\":[true,false,null]}\n",
      "{a: {b: {c: {}}}, d: []}\n",
      "a: [\n  1,\n  2\n]\n",
      "a: b # comment\nc: 'd' # e\n# f\n",
      "a: b#c\nd: e #f\n",
      "url: http://example.com:8080/x?y=z\ntime: 12:30:45\nneg: -1\ndash: - x\n",
      "a: -\nb: --\nc: '-'\n",
      "key with spaces: value\n\"quoted key\": 1\n'single key': 2\n",
      "a: 1\na: 2\n",
      "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n",
      "a: {x: 1, x: 2}\n",
      "[1, 2]: x\n",
      "{a: 1}: x\n",
      "? a\n: b\n",
      "%YAML 1.1\n---\na: 1\n",
      "%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n",
      "a: b\n  c: d\n",
      "a: [1, 2\n",
      "a: {b: 1\n",
      "a: \"unclosed\n",
      "- a\nb: c\n",
      ",\n",
      "a: *nope\n",
      "a: &a [*a]\n",
      "a: 'x' y\n",
      "a: \"\\q\"\n",
      "- a\n  - b\n",
      "a:\tb\n",
      "a: b\t\nc:\t# tab\n",
      "name: héllo\nnoms: [é, ü, 中文]\n中文键: 值\n'é': {ü: ö}\nx: \"ß\" # ü\n",
      "é: \nü:\n  - \n",
      "{é: , ü}\n",
      "emoji: 😀\nafter: [😀, x]\n",
      "- é\n-\n- ü: \n",
      "a:\r\n  b: 1\r\n  c:\r\nd: [1,\r\n 2]\r\n",
      "a: 1\rb: 2\r",
      "\xEF\xBB\xBF" "a: 1\n",
      "a: 1\n\n\n\n",
      "   \n  a: 1\n",
      "a:\n    b:\n        c: 1\n    d: 2\n",
      "a:\n  - b: 1\n    c: 2\n  - d\n",
      "- - - x\n    - y\n  - z\n",
      "---\n- a\n...\n",
      "--- a\n--- b\n",
      "--- |\n  text\n",
      "---\n\n",
      "... \n",
      "a: 1\n...\n",
      "a: !!map {b: 1}\nc: !!seq [1]\nd: !custom {e: 1}\n",
      "&top\na: 1\n",
      "a: &m\n  b: 1\n",
      "&anchor a: 1\n",
      "!!str a: 1\n",
  };
  return inputs;
}

// Deeper than the limit of 20 the comparison sets, in block and flow style.
std::vector<std::string> DeepInputs() {
  std::string block, flow_seq, flow_map;
  for (int i = 0; i < 25; ++i) block += std::string(i * 2, ' ') + "k" + std::to_string(i) + ":\n";
  for (int i = 0; i < 25; ++i) flow_seq += "[";
  for (int i = 0; i < 25; ++i) flow_seq += "]";
  for (int i = 0; i < 19; ++i) flow_map += "{a: ";
  flow_map += "1";
  for (int i = 0; i < 19; ++i) flow_map += "}";
  return {block, flow_seq + "\n", flow_map + "\n"};
}

TEST_CASE("yaml backends: libyaml reads the tricky inputs as yaml-cpp does") {
  Tally tally;
  int i = 0;
  for (const std::string& text : TrickyInputs()) {
    std::string name = "tricky-" + std::to_string(i++) + ".yaml";
    Compare(name, text, &tally);
    Compare("crlf-" + name, Replace(text, "\n", "\r\n"), &tally);
    Compare("nested-" + name, "outer:\n  inner:\n    " + Replace(text, "\n", "\n    ") + "\n", &tally);
  }
  for (const std::string& text : DeepInputs()) Compare("deep.yaml", text, &tally);
  MESSAGE(tally.files, " inputs, ", tally.by_libyaml, " read by libyaml, ", tally.nodes, " nodes compared");
  // Most inputs must reach the comparison, or it proves nothing.
  CHECK(tally.by_libyaml * 10 >= tally.files * 6);
}

// Mutants of the tricky inputs: characters YAML gives meaning to, inserted, deleted or
// swapped at positions from a fixed-seed generator, so each run tries the same texts.
TEST_CASE("yaml backends: libyaml reads mutated inputs as yaml-cpp does") {
  static const std::string kAlphabet = ":-[]{},#'\" \n&*!|>?~x1\t";
  uint32_t state = 12345;
  auto next = [&state](uint32_t bound) {
    state = state * 1103515245u + 12345u;
    return (state >> 8) % bound;
  };
  Tally tally;
  int i = 0;
  for (const std::string& input : TrickyInputs()) {
    for (int round = 0; round < 100; ++round) {
      std::string text = input;
      for (int edits = 1 + next(3); edits > 0; --edits) {
        size_t at = text.empty() ? 0 : next(static_cast<uint32_t>(text.size()));
        switch (next(3)) {
          case 0: text.insert(at, 1, kAlphabet[next(static_cast<uint32_t>(kAlphabet.size()))]); break;
          case 1: if (!text.empty()) text.erase(at, 1); break;
          default: if (!text.empty()) text[at] = kAlphabet[next(static_cast<uint32_t>(kAlphabet.size()))]; break;
        }
      }
      Compare("mutant-" + std::to_string(i++) + ".yaml", text, &tally);
    }
  }
  MESSAGE(tally.files, " mutants, ", tally.by_libyaml, " read by libyaml, ", tally.nodes, " nodes compared");
  CHECK(tally.by_libyaml * 4 >= tally.files);
}

TEST_CASE("yaml backends: libyaml reads the repository's YAML files as yaml-cpp does") {
  Tally tally;
  const fs::path root = testing::SourcePath("");
  for (const char* dir : {"examples", "tests", "emulator", "docs", "dist"}) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
      std::string text = testing::ReadFile(e.path().string());
      Compare(fs::relative(e.path(), root).string(), text, &tally);
    }
  }
  MESSAGE(tally.files, " files, ", tally.by_libyaml, " read by libyaml, ", tally.nodes, " nodes compared");
  CHECK(tally.files >= 100);
  CHECK(tally.by_libyaml * 10 >= tally.files * 8);
}

TEST_CASE("yaml backends: a spec file like the benchmark's is read by libyaml") {
  std::string text;
  for (int d = 0; d < 100; ++d) {
    text += "---\napiVersion: reconciler/v1\nkind: ReadOnlyInstance\nmetadata: {name: r0-" + std::to_string(d) +
            "}\nspec:\n  masterInstanceId: postgres-abcdef\n  storageGB: 100\n  securityGroupIds: [sg-iwnfp51z]\n"
            "  tags: {purpose: reporting, shard: \"" + std::to_string(d) + "\"}\n";
  }
  Tally tally;
  Compare("bench.yaml", text, &tally);
  CHECK(tally.by_libyaml == 1);
  CHECK(tally.nodes == 100 * 24);
}

}  // namespace
}  // namespace reconciler::specs
