#pragma once

// Writes JSON text straight into a string. The DescribeDBInstances listing uses it instead
// of building nlohmann objects, which allocate a map node per field only to be dumped.

#include <cstdint>
#include <string>
#include <string_view>

namespace reconciler::tencentcloud::emulator {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  // The key of the next member.
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Already serialised JSON, written as one value.
  JsonWriter& Raw(std::string_view json);

 private:
  JsonWriter& Open(char c);
  JsonWriter& Close(char c);
  void Separate();

  std::string* out_;
  bool first_ = true;     // no member or element written yet at this level
  bool after_key_ = false;
};

}  // namespace reconciler::tencentcloud::emulator
