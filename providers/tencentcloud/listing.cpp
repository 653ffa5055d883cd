#include "providers/tencentcloud/listing.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "base/json_input.h"

namespace reconciler::tencentcloud {

using nlohmann::json;
namespace c = reconciler::cloud;

namespace {

// The number conversions both readers share.
uint64_t CountOfInteger(int64_t v) { return static_cast<uint64_t>(std::max<int64_t>(0, v)); }
uint64_t CountOfFloat(double d) { return d > 0 && d < 18446744073709551616.0 ? static_cast<uint64_t>(d) : 0; }

// "private" is the VPC address; "inner" (the basic network's) only when there is none. The
// first private address ends the search.
bool TakesNetAddress(const std::string& type, const c::Instance& i) {
  return type == "private" || (type == "inner" && i.private_ip.empty());
}

}  // namespace

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t U64Of(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) return CountOfInteger(v.get<int64_t>());
  if (v.is_number_float()) return CountOfFloat(v.get<double>());
  return 0;
}

uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? 0 : U64Of(*it);
}

bool Bool(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number_float()) return it->get<double>() != 0;
  return it->is_number() && it->get<int64_t>() != 0;
}

std::vector<std::string> StringList(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

c::Instance InstanceOf(const json& d) {
  c::Instance i;
  i.id = Str(d, "DBInstanceId");
  i.name = Str(d, "DBInstanceName");
  i.region = Str(d, "Region");
  i.zone = Str(d, "Zone");
  i.type = Str(d, "DBInstanceType");
  i.master_id = Str(d, "MasterDBInstanceId");
  i.status = Str(d, "DBInstanceStatus");
  i.spec_code = Str(d, "DBInstanceClass");
  i.cpu = U64(d, "DBInstanceCpu");
  i.memory_gb = U64(d, "DBInstanceMemory");
  i.storage_gb = U64(d, "DBInstanceStorage");
  i.pay_type = Str(d, "PayType");
  i.auto_renew = U64(d, "AutoRenew") == 1;
  i.project_id = U64(d, "ProjectId");
  i.vpc_id = Str(d, "VpcId");
  i.subnet_id = Str(d, "SubnetId");
  if (auto tags = d.find("TagList"); tags != d.end() && tags->is_array()) {
    for (const json& t : *tags) i.tags[Str(t, "TagKey")] = Str(t, "TagValue");
  }
  i.deletion_protection = Bool(d, "DeletionProtection");
  i.ipv6 = U64(d, "SupportIpv6") == 1;
  if (auto nodes = d.find("DBNodeSet"); nodes != d.end() && nodes->is_array() && !nodes->empty()) {
    i.dedicated_cluster_id = Str((*nodes)[0], "DedicatedClusterId");
  }
  i.db_version = Str(d, "DBVersion");
  i.charset = Str(d, "DBCharset");
  i.create_time = Str(d, "CreateTime");
  if (auto nets = d.find("DBInstanceNetInfo"); nets != d.end() && nets->is_array()) {
    for (const json& n : *nets) {
      const std::string type = n.is_object() ? Str(n, "NetType") : "";
      if (!TakesNetAddress(type, i)) continue;
      i.private_address = Str(n, "Address");
      i.private_ip = Str(n, "Ip");
      i.private_port = U64(n, "Port");
      if (type == "private") break;
    }
  }
  return i;
}

namespace {

// The fields of a DBInstance that ListingReader keeps, each read as InstanceOf reads it.
enum class Field {
  kOther,
  // Strings.
  kId, kName, kRegion, kZone, kType, kMasterId, kStatus, kSpecCode, kPayType, kVpcId, kSubnetId, kDbVersion,
  kCharset, kCreateTime,
  // Counts.
  kCpu, kMemory, kStorage, kProjectId, kAutoRenew, kIpv6,
  // Flags.
  kDeletionProtection,
  // Lists.
  kTagList, kNodeSet, kNetInfo,
  // Inside the lists' objects.
  kTagKey, kTagValue, kClusterId, kNetType, kAddress, kIp, kPort,
  // The envelope and the Response.
  kResponse, kRequestId, kTotalCount, kInstanceSet, kError,
};

Field InstanceField(std::string_view key) {
  static const std::unordered_map<std::string_view, Field> kFields = {
      {"DBInstanceId", Field::kId},          {"DBInstanceName", Field::kName},
      {"Region", Field::kRegion},            {"Zone", Field::kZone},
      {"DBInstanceType", Field::kType},      {"MasterDBInstanceId", Field::kMasterId},
      {"DBInstanceStatus", Field::kStatus},  {"DBInstanceClass", Field::kSpecCode},
      {"PayType", Field::kPayType},          {"VpcId", Field::kVpcId},
      {"SubnetId", Field::kSubnetId},        {"DBVersion", Field::kDbVersion},
      {"DBCharset", Field::kCharset},        {"CreateTime", Field::kCreateTime},
      {"DBInstanceCpu", Field::kCpu},        {"DBInstanceMemory", Field::kMemory},
      {"DBInstanceStorage", Field::kStorage}, {"ProjectId", Field::kProjectId},
      {"AutoRenew", Field::kAutoRenew},      {"SupportIpv6", Field::kIpv6},
      {"DeletionProtection", Field::kDeletionProtection},
      {"TagList", Field::kTagList},          {"DBNodeSet", Field::kNodeSet},
      {"DBInstanceNetInfo", Field::kNetInfo},
  };
  auto it = kFields.find(key);
  return it == kFields.end() ? Field::kOther : it->second;
}

// One scalar value as the parser gives it.
struct Scalar {
  enum class Kind { kNull, kBool, kInteger, kUnsigned, kFloat, kString } kind;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  const std::string* s = nullptr;

  std::string Text() const { return kind == Kind::kString ? *s : std::string(); }
  uint64_t Count() const {
    switch (kind) {
      case Kind::kUnsigned: return u;
      case Kind::kInteger: return CountOfInteger(i);
      case Kind::kFloat: return CountOfFloat(f);
      default: return 0;
    }
  }
  bool Flag() const {
    switch (kind) {
      case Kind::kBool: return b;
      case Kind::kUnsigned: return u != 0;
      case Kind::kInteger: return i != 0;
      case Kind::kFloat: return f != 0;
      default: return false;
    }
  }
};

// The SAX handler. Each open object or array is a frame; what a value means depends on the
// frame it is in and the key before it. A value of a kind InstanceOf would read as empty is
// read as empty here, and a container where InstanceOf reads a scalar is skipped whole.
class PageHandler final : public nlohmann::json_sax<json> {
 public:
  explicit PageHandler(std::vector<c::Instance>* out) : out_(out) {}

  // Whether the whole text was a success answer taken in.
  bool Complete() const { return done_ && have_set_ && have_total_; }
  uint64_t total() const { return total_; }
  std::string& request_id() { return request_id_; }

  bool null() override { return OnScalar({Scalar::Kind::kNull}); }
  bool boolean(bool v) override { return OnScalar({Scalar::Kind::kBool, v}); }
  bool number_integer(number_integer_t v) override { return OnScalar({Scalar::Kind::kInteger, false, v}); }
  bool number_unsigned(number_unsigned_t v) override { return OnScalar({Scalar::Kind::kUnsigned, false, 0, v}); }
  bool number_float(number_float_t v, const string_t&) override {
    return OnScalar({Scalar::Kind::kFloat, false, 0, 0, v});
  }
  bool string(string_t& v) override { return OnScalar({Scalar::Kind::kString, false, 0, 0, 0, &v}); }
  bool binary(binary_t&) override { return false; }  // JSON text has none

  bool start_object(std::size_t) override { return Open(true); }
  bool start_array(std::size_t) override { return Open(false); }
  bool end_object() override { return Close(); }
  bool end_array() override { return Close(); }

  bool key(string_t& k) override {
    Frame& f = frames_.back();
    if (f.ctx == Ctx::kSkip) return true;
    f.field = KeyIn(f.ctx, k);
    if (f.field == Field::kError) return false;  // an error answer: the general path reads it
    if (f.ctx == Ctx::kResponse && f.field == Field::kInstanceSet && have_set_) return false;
    if (f.ctx == Ctx::kEnvelope && f.field == Field::kResponse && have_response_) return false;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  // Where a value sits.
  enum class Ctx { kEnvelope, kResponse, kSet, kInstance, kTags, kTag, kNodes, kNode, kNets, kNet, kSkip, kRefuse };
  struct Frame {
    Ctx ctx;
    Field field = Field::kOther;  // the key whose value comes next (objects)
    size_t items = 0;             // values seen so far (arrays)
  };
  // One DBInstanceNetInfo entry, applied when it closes: its keys come in any order.
  struct Net {
    std::string type, address, ip;
    uint64_t port = 0;
  };

  static Field KeyIn(Ctx ctx, std::string_view k) {
    switch (ctx) {
      case Ctx::kEnvelope: return k == "Response" ? Field::kResponse : Field::kOther;
      case Ctx::kResponse:
        if (k == "Error") return Field::kError;
        if (k == "RequestId") return Field::kRequestId;
        if (k == "TotalCount") return Field::kTotalCount;
        if (k == "DBInstanceSet") return Field::kInstanceSet;
        return Field::kOther;
      case Ctx::kInstance: return InstanceField(k);
      case Ctx::kTag: return k == "TagKey" ? Field::kTagKey : k == "TagValue" ? Field::kTagValue : Field::kOther;
      case Ctx::kNode: return k == "DedicatedClusterId" ? Field::kClusterId : Field::kOther;
      case Ctx::kNet:
        if (k == "NetType") return Field::kNetType;
        if (k == "Address") return Field::kAddress;
        if (k == "Ip") return Field::kIp;
        if (k == "Port") return Field::kPort;
        return Field::kOther;
      default: return Field::kOther;
    }
  }

  c::Instance& Current() { return out_->back(); }

  // A value of a field of an instance. A container comes as null: empty for a scalar
  // field, and a list field's restart.
  void SetInstanceField(Field field, const Scalar& v) {
    c::Instance& i = Current();
    switch (field) {
      case Field::kId: i.id = v.Text(); break;
      case Field::kName: i.name = v.Text(); break;
      case Field::kRegion: i.region = v.Text(); break;
      case Field::kZone: i.zone = v.Text(); break;
      case Field::kType: i.type = v.Text(); break;
      case Field::kMasterId: i.master_id = v.Text(); break;
      case Field::kStatus: i.status = v.Text(); break;
      case Field::kSpecCode: i.spec_code = v.Text(); break;
      case Field::kPayType: i.pay_type = v.Text(); break;
      case Field::kVpcId: i.vpc_id = v.Text(); break;
      case Field::kSubnetId: i.subnet_id = v.Text(); break;
      case Field::kDbVersion: i.db_version = v.Text(); break;
      case Field::kCharset: i.charset = v.Text(); break;
      case Field::kCreateTime: i.create_time = v.Text(); break;
      case Field::kCpu: i.cpu = v.Count(); break;
      case Field::kMemory: i.memory_gb = v.Count(); break;
      case Field::kStorage: i.storage_gb = v.Count(); break;
      case Field::kProjectId: i.project_id = v.Count(); break;
      case Field::kAutoRenew: i.auto_renew = v.Count() == 1; break;
      case Field::kIpv6: i.ipv6 = v.Count() == 1; break;
      case Field::kDeletionProtection: i.deletion_protection = v.Flag(); break;
      // A list field given anything but a list: InstanceOf reads no list from it.
      case Field::kTagList: i.tags.clear(); break;
      case Field::kNodeSet: i.dedicated_cluster_id.clear(); break;
      case Field::kNetInfo: ClearNet(&i); break;
      default: break;
    }
  }

  static void ClearNet(c::Instance* i) {
    i->private_address.clear();
    i->private_ip.clear();
    i->private_port = 0;
  }

  void SetInObject(Frame& f, const Scalar& v) {
    switch (f.ctx) {
      case Ctx::kResponse:
        if (f.field == Field::kRequestId) request_id_ = v.Text();
        if (f.field == Field::kTotalCount) {
          have_total_ = v.kind == Scalar::Kind::kUnsigned;
          total_ = v.u;
        }
        break;
      case Ctx::kInstance: SetInstanceField(f.field, v); break;
      case Ctx::kTag:
        if (f.field == Field::kTagKey) tag_key_ = v.Text();
        if (f.field == Field::kTagValue) tag_value_ = v.Text();
        break;
      case Ctx::kNode:
        if (f.field == Field::kClusterId) cluster_ = v.Text();
        break;
      case Ctx::kNet:
        if (f.field == Field::kNetType) net_.type = v.Text();
        if (f.field == Field::kAddress) net_.address = v.Text();
        if (f.field == Field::kIp) net_.ip = v.Text();
        if (f.field == Field::kPort) net_.port = v.Count();
        break;
      default: break;
    }
  }

  bool OnScalar(const Scalar& v) {
    if (frames_.empty()) return false;  // the answer is not an object
    Frame& f = frames_.back();
    switch (f.ctx) {
      case Ctx::kSkip: return true;
      case Ctx::kRefuse: return false;
      case Ctx::kEnvelope: return f.field != Field::kResponse;  // a Response that is no object
      case Ctx::kResponse:
        if (f.field == Field::kInstanceSet) return false;  // a DBInstanceSet that is no list
        SetInObject(f, v);
        return true;
      case Ctx::kSet: return false;  // an item that is no object
      case Ctx::kTags:
        Current().tags[""] = "";  // an item that is no object has no TagKey or TagValue
        return true;
      case Ctx::kNodes:
        if (f.items++ == 0) Current().dedicated_cluster_id.clear();
        return true;
      case Ctx::kNets: return true;  // no object: no NetType
      default:
        SetInObject(f, v);
        return true;
    }
  }

  bool Open(bool object) {
    if (frames_.size() >= kMaxJsonDepth) return false;  // the general path reports the depth
    if (frames_.empty()) {
      if (!object || done_) return false;
      frames_.push_back({Ctx::kEnvelope});
      return true;
    }
    const Ctx next = Next(frames_.back(), object);
    frames_.push_back({next});
    return next != Ctx::kRefuse;
  }

  // The context a container opens as the value `f` expects next; kRefuse declines the answer.
  Ctx Next(Frame& f, bool object) {
    switch (f.ctx) {
      case Ctx::kSkip: return Ctx::kSkip;
      case Ctx::kRefuse: return Ctx::kRefuse;
      case Ctx::kEnvelope:
        if (f.field != Field::kResponse) return Ctx::kSkip;
        if (!object) return Ctx::kRefuse;
        have_response_ = true;
        return Ctx::kResponse;
      case Ctx::kResponse:
        if (f.field == Field::kInstanceSet) {
          if (object) return Ctx::kRefuse;
          have_set_ = true;
          return Ctx::kSet;
        }
        SetInObject(f, {Scalar::Kind::kNull});  // a RequestId or TotalCount that is a container
        return Ctx::kSkip;
      case Ctx::kSet:
        if (!object) return Ctx::kRefuse;
        out_->emplace_back();
        return Ctx::kInstance;
      case Ctx::kInstance:
        SetInstanceField(f.field, {Scalar::Kind::kNull});  // a list restarts; a scalar field is empty
        if (object) return Ctx::kSkip;
        if (f.field == Field::kTagList) return Ctx::kTags;
        if (f.field == Field::kNodeSet) return Ctx::kNodes;
        if (f.field == Field::kNetInfo) {
          nets_done_ = false;
          return Ctx::kNets;
        }
        return Ctx::kSkip;
      case Ctx::kTags:
        if (!object) {
          Current().tags[""] = "";
          return Ctx::kSkip;
        }
        tag_key_.clear();
        tag_value_.clear();
        return Ctx::kTag;
      case Ctx::kNodes:
        if (f.items++ != 0) return Ctx::kSkip;
        Current().dedicated_cluster_id.clear();
        if (!object) return Ctx::kSkip;
        cluster_.clear();
        return Ctx::kNode;
      case Ctx::kNets:
        if (!object) return Ctx::kSkip;
        net_ = Net();
        return Ctx::kNet;
      case Ctx::kTag:
      case Ctx::kNode:
      case Ctx::kNet:
        SetInObject(f, {Scalar::Kind::kNull});  // a field that is a container reads as empty
        return Ctx::kSkip;
    }
    return Ctx::kSkip;
  }

  bool Close() {
    const Ctx ctx = frames_.back().ctx;
    frames_.pop_back();
    switch (ctx) {
      case Ctx::kEnvelope: done_ = true; break;
      case Ctx::kTag: Current().tags[tag_key_] = tag_value_; break;
      case Ctx::kNode: Current().dedicated_cluster_id = cluster_; break;
      case Ctx::kNet:
        if (!nets_done_ && TakesNetAddress(net_.type, Current())) {
          c::Instance& i = Current();
          i.private_address = net_.address;
          i.private_ip = net_.ip;
          i.private_port = net_.port;
          nets_done_ = net_.type == "private";
        }
        break;
      default: break;
    }
    return true;
  }

  std::vector<c::Instance>* out_;
  std::vector<Frame> frames_;
  bool done_ = false, have_response_ = false, have_set_ = false, have_total_ = false;
  uint64_t total_ = 0;
  std::string request_id_;
  std::string tag_key_, tag_value_, cluster_;
  Net net_;
  bool nets_done_ = false;
};

}  // namespace

namespace {

// A JSON scanner for the common case of a listing page, about ten times quicker than
// nlohmann's lexer, which reads a character at a time. It drives the same SAX handler. It
// handles strict JSON text whose strings hold no escapes and whose numbers are integers in
// range; on anything else (an escape, a fraction, an exponent, an integer out of range) it
// stops with kUnsupported, and nlohmann's parser reads the page instead. Its syntax and UTF-8
// rules are RFC 8259's and Unicode's (Table 3-7), as nlohmann's are: text either refuses is
// text the other refuses (listing_reader_test.cpp).
class FastScanner {
 public:
  enum class Result { kDone, kRefused, kUnsupported };

  FastScanner(std::string_view text, nlohmann::json_sax<json>* sax) : p_(text.data()), end_(p_ + text.size()), sax_(sax) {}

  Result Run() {
    if (end_ - p_ >= 3 && std::string_view(p_, 3) == "\xEF\xBB\xBF") return Result::kUnsupported;  // a BOM
    SkipSpace();
    if (Result r = Value(0); r != Result::kDone) return r;
    SkipSpace();
    return p_ == end_ ? Result::kDone : Result::kRefused;  // text after the value
  }

 private:
  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  // Every nesting level is a call. The handler refuses past kMaxJsonDepth, and so does this,
  // so the recursion is bounded either way.
  Result Value(int depth) {
    if (p_ == end_ || depth > static_cast<int>(kMaxJsonDepth)) return Result::kRefused;
    switch (*p_) {
      case '{': return Object(depth);
      case '[': return Array(depth);
      case '"': {
        Result r = String();
        if (r != Result::kDone) return r;
        return sax_->string(text_) ? Result::kDone : Result::kRefused;
      }
      case 't': return Word("true", [&] { return sax_->boolean(true); });
      case 'f': return Word("false", [&] { return sax_->boolean(false); });
      case 'n': return Word("null", [&] { return sax_->null(); });
      default: return Number();
    }
  }

  template <typename Emit>
  Result Word(std::string_view word, Emit emit) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return Result::kRefused;
    p_ += word.size();
    return emit() ? Result::kDone : Result::kRefused;
  }

  Result Object(int depth) {
    ++p_;
    if (!sax_->start_object(static_cast<std::size_t>(-1))) return Result::kRefused;
    SkipSpace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return sax_->end_object() ? Result::kDone : Result::kRefused;
    }
    for (;;) {
      if (p_ == end_ || *p_ != '"') return Result::kRefused;
      if (Result r = String(); r != Result::kDone) return r;
      if (!sax_->key(text_)) return Result::kRefused;
      SkipSpace();
      if (p_ == end_ || *p_ != ':') return Result::kRefused;
      ++p_;
      SkipSpace();
      if (Result r = Value(depth + 1); r != Result::kDone) return r;
      SkipSpace();
      if (p_ == end_) return Result::kRefused;
      if (*p_ == '}') {
        ++p_;
        return sax_->end_object() ? Result::kDone : Result::kRefused;
      }
      if (*p_ != ',') return Result::kRefused;
      ++p_;
      SkipSpace();
    }
  }

  Result Array(int depth) {
    ++p_;
    if (!sax_->start_array(static_cast<std::size_t>(-1))) return Result::kRefused;
    SkipSpace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return sax_->end_array() ? Result::kDone : Result::kRefused;
    }
    for (;;) {
      if (Result r = Value(depth + 1); r != Result::kDone) return r;
      SkipSpace();
      if (p_ == end_) return Result::kRefused;
      if (*p_ == ']') {
        ++p_;
        return sax_->end_array() ? Result::kDone : Result::kRefused;
      }
      if (*p_ != ',') return Result::kRefused;
      ++p_;
      SkipSpace();
    }
  }

  // A string with no escapes, its UTF-8 checked, into text_.
  Result String() {
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        text_.assign(start, static_cast<size_t>(p_ - start));
        ++p_;
        return Result::kDone;
      }
      if (c == '\\') return Result::kUnsupported;
      if (c < 0x20) return Result::kRefused;  // a control character must be escaped
      if (c < 0x80) {
        ++p_;
        continue;
      }
      if (!Utf8()) return Result::kRefused;
    }
    return Result::kRefused;  // never closed
  }

  // One multi-byte UTF-8 sequence at p_, well formed per Unicode Table 3-7: no overlong
  // forms, no surrogates, nothing past U+10FFFF.
  bool Utf8() {
    const auto b = [&](ptrdiff_t k) { return static_cast<unsigned char>(p_[k]); };
    const auto in = [](unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; };
    const ptrdiff_t left = end_ - p_;
    const unsigned char c = b(0);
    int length = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (in(c, 0xC2, 0xDF)) length = 2;
    else if (c == 0xE0) length = 3, lo = 0xA0;
    else if (in(c, 0xE1, 0xEC) || in(c, 0xEE, 0xEF)) length = 3;
    else if (c == 0xED) length = 3, hi = 0x9F;
    else if (c == 0xF0) length = 4, lo = 0x90;
    else if (in(c, 0xF1, 0xF3)) length = 4;
    else if (c == 0xF4) length = 4, hi = 0x8F;
    else return false;
    if (left < length || !in(b(1), lo, hi)) return false;
    for (int k = 2; k < length; ++k) {
      if (!in(b(k), 0x80, 0xBF)) return false;
    }
    p_ += length;
    return true;
  }

  // An integer; a fraction or exponent, or one out of range, is left to nlohmann.
  Result Number() {
    const bool negative = *p_ == '-';
    if (negative) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return Result::kRefused;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return Result::kUnsupported;
    if (p_ != end_ && *p_ >= '0' && *p_ <= '9') return Result::kRefused;  // a leading zero
    uint64_t value = 0;
    for (const char* d = digits; d != p_; ++d) {
      const uint64_t digit = static_cast<uint64_t>(*d - '0');
      if (value > (UINT64_MAX - digit) / 10) return Result::kUnsupported;  // nlohmann makes it a float
      value = value * 10 + digit;
    }
    if (!negative) return sax_->number_unsigned(value) ? Result::kDone : Result::kRefused;
    if (value > static_cast<uint64_t>(INT64_MAX) + 1) return Result::kUnsupported;
    const int64_t v = value == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(value);
    return sax_->number_integer(v) ? Result::kDone : Result::kRefused;
  }

  const char* p_;
  const char* end_;
  nlohmann::json_sax<json>* sax_;
  std::string text_;
};

}  // namespace

bool ListingReader::Read(std::string_view body, std::string* request_id) {
  instances_.clear();
  total_ = 0;
  taken_ = false;
  // nlohmann stops reading at a NUL byte, so the scanner's fallback would take a page followed
  // by a NUL and anything; the general path refuses text with a NUL (ParseJsonInput).
  if (body.find('\0') != std::string_view::npos) return false;
  auto handler = std::make_unique<PageHandler>(&instances_);
  FastScanner::Result scanned = FastScanner(body, handler.get()).Run();
  if (scanned == FastScanner::Result::kUnsupported) {
    instances_.clear();
    handler = std::make_unique<PageHandler>(&instances_);
    scanned = json::sax_parse(body.begin(), body.end(), handler.get()) ? FastScanner::Result::kDone
                                                                         : FastScanner::Result::kRefused;
  }
  if (scanned != FastScanner::Result::kDone || !handler->Complete()) {
    instances_.clear();
    return false;
  }
  if (serverless_) {
    for (c::Instance& i : instances_) i.type = "serverless";
  }
  total_ = handler->total();
  *request_id = std::move(handler->request_id());
  taken_ = true;
  return true;
}

}  // namespace reconciler::tencentcloud
