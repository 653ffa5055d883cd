#include "base/json_input.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

namespace reconciler {
namespace {

using nlohmann::json;

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST_CASE("json input: the depth counts arrays and objects but not brackets in strings") {
  CHECK(JsonDepth("1") == 0);
  CHECK(JsonDepth(R"({"a":[1,{"b":[]}]})") == 4);
  CHECK(JsonDepth(R"(["[[[[", "\"[[[", {}])") == 2);
  CHECK(JsonDepth(Nested(100)) == 100);
}

TEST_CASE("json input: nesting beyond the limit is refused before anything walks it") {
  CHECK(ParseJsonInput(Nested(kMaxJsonDepth)).ok());
  // Deep enough that dump() or any recursive walk would overflow the stack.
  Result<json> deep = ParseJsonInput(R"({"formatVersion":)" + Nested(1000000) + "}");
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.status().code() == Code::kInvalidInput);
  CHECK(deep.status().message() == "JSON nested 1000001 levels deep; the limit is 100");
  Result<json> bad = ParseJsonInput("{\"a\":");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "not valid JSON");
}

TEST_CASE("json input: a NUL byte is not JSON, even after a whole document") {
  // nlohmann alone stops at the NUL and accepts what came before it.
  CHECK(json::parse(std::string("{}") + '\0' + "junk", nullptr, false).is_object());
  for (const std::string& text : {std::string("{}") + '\0' + "junk", std::string("{}") + '\0',
                                  std::string(R"({"a":")") + '\0' + R"("})", std::string(1, '\0')}) {
    Result<json> parsed = ParseJsonInput(text);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().message() == "not valid JSON");
  }
  CHECK(ParseJsonInput(R"({"a":"\u0000"})").ok());  // spelled as JSON spells it
}

TEST_CASE("json input: a fraction anywhere is found") {
  CHECK_FALSE(HoldsFraction(json::parse(R"({"a":[1,2,{"b":-3}],"c":"1.5"})")));
  CHECK(HoldsFraction(json::parse(R"({"a":[1,2,{"b":1e300}]})")));
  CHECK(HoldsFraction(json::parse("2.5")));
}

}  // namespace
}  // namespace reconciler
