#pragma once

// Reading instances out of the cloud's answers (DescribeDBInstances,
// DescribeServerlessDBInstances, DescribeDBInstanceAttribute), and the field readers every
// answer is read with.
//
// Two readers give the same instances:
// - InstanceOf reads one parsed DBInstance object. It serves every answer.
// - ListingReader reads a listing page while it is parsed, without building the document.
//   A page of 100 instances of some 45 fields is about 250 KB of JSON, and building its
//   document cost more than everything else a no-op plan does with it.
// ListingReader declines whatever it cannot take in whole: an Error, text that is not JSON,
// an envelope or a list of the wrong kind, a missing TotalCount, a duplicate list. The
// general path then parses the answer and reports it, so every error reads as it always
// did. tests/providers/tencentcloud/listing_reader_test.cpp holds the two readers to each other.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "providers/provider.h"
#include "providers/tencentcloud/api_client.h"

namespace reconciler::tencentcloud {

// A field that is missing, or of another kind, reads as "", 0 or false.
std::string Str(const nlohmann::json& j, const char* key);
// A number as a count: a negative one is 0, and a float out of range is 0 (converting it
// would be undefined).
uint64_t U64Of(const nlohmann::json& v);
uint64_t U64(const nlohmann::json& j, const char* key);
// true, or any number but 0.
bool Bool(const nlohmann::json& j, const char* key);
// The strings of a list field; anything in it that is not a string is left out.
std::vector<std::string> StringList(const nlohmann::json& j, const char* key);

// One DBInstance object of an answer.
cloud::Instance InstanceOf(const nlohmann::json& d);

// One page of DescribeDBInstances or DescribeServerlessDBInstances, read as it is parsed.
class ListingReader final : public AnswerReader {
 public:
  explicit ListingReader(bool serverless) : serverless_(serverless) {}

  // True when `body` is a success answer with a DBInstanceSet of objects and an unsigned
  // TotalCount; the instances are then exactly those InstanceOf gives (with type
  // "serverless" for a serverless listing).
  bool Read(std::string_view body, std::string* request_id) override;

  // Whether the last Read took its answer in.
  bool taken() const { return taken_; }
  uint64_t total() const { return total_; }
  std::vector<cloud::Instance> TakeInstances() { return std::move(instances_); }

 private:
  bool serverless_;
  bool taken_ = false;
  uint64_t total_ = 0;
  std::vector<cloud::Instance> instances_;
};

}  // namespace reconciler::tencentcloud
