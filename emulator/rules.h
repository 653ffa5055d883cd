#pragma once

// The value rules the emulated cloud enforces, written from the API pages (the two seed
// pages under shared/docs/seeds and tencent-api.md), never from the product's own rules:
// the emulator checks the product, so it must not share the product's beliefs. Each rule
// names its source; the error code each one answers with is chosen by its caller.

#include <cstdint>
#include <string>
#include <vector>

namespace reconciler::tencentcloud::emulator::rules {

// Regions. Every region Tencent Cloud knows (tencent-api.md section 2, the Go SDK's list):
// a name outside it is UnsupportedRegion. The regions the postgres API serves (the
// CreateReadOnlyDBInstance seed, "This API only supports: ..."): a known region outside it
// is InvalidParameterValue.RegionNotSupported.
bool IsKnownRegion(const std::string& region);
bool IsPostgresRegion(const std::string& region);

// Storage in GB moves in steps of 10 (seed: "specifies the step length ... as 10").
inline constexpr uint64_t kStorageStepGB = 10;

// CreateReadOnlyDBInstance InstanceCount: "value range: [1-6]" (seed).
inline constexpr uint64_t kMinReplicaCount = 1;
inline constexpr uint64_t kMaxReplicaCount = 6;
// InquiryPriceCreateDBInstances InstanceCount: at most 100 (tencent-api.md).
inline constexpr uint64_t kMaxInquiryCount = 100;

// Purchase periods in months: 1-12, 24 and 36 (seed: "1, 2, ..., 12, 24, and 36"); a
// POSTPAID_BY_HOUR purchase takes only 1 (tencent-api.md: "postpaid only 1").
bool IsValidPeriod(uint64_t months);

// Charge types of the create actions: PREPAID (the default) or POSTPAID_BY_HOUR (seed,
// whose first example buys POSTPAID_BY_HOUR; tencent-api.md). InquiryPriceCreateDBInstances
// spells postpaid "POSTPAID" (tencent-api.md).
inline constexpr const char* kPrepaid = "PREPAID";
inline constexpr const char* kPostpaidByHour = "POSTPAID_BY_HOUR";
inline constexpr const char* kInquiryPostpaid = "POSTPAID";

// Instance and group names: "only chinese characters, letters, digits, underscores (_),
// and delimiters (-) are supported. the length must be less than 60 characters" (seed).
// Returns the number of characters, or -1 at the first one outside that set. Chinese
// characters are read as the CJK Unified Ideographs (U+4E00-U+9FFF) and Extension A
// (U+3400-U+4DBF); an empty name is refused as too short.
long NameChars(const std::string& name);
inline constexpr long kMaxNameChars = 59;

// 0/1 flags (AutoVoucher, NeedSupportIpv6, AutoRenewFlag): "1: yes. Default value: 0" (seed).
// VoucherIds: "Currently, you can specify only one voucher" (seed).
inline constexpr size_t kMaxVouchers = 1;

// DescribeDBInstances Limit 0-100, 0 meaning the default 10 (tencent-api.md).
inline constexpr uint64_t kMaxListLimit = 100;
inline constexpr uint64_t kDefaultListLimit = 10;
// DescribeReadOnlyGroups PageSize: at most 99 (tencent-api.md).
inline constexpr int64_t kMaxGroupPageSize = 99;
// CreateReadOnlyGroup MinDelayEliminateReserve: 0-100 (tencent-api.md).
inline constexpr uint64_t kMaxMinDelayEliminateReserve = 100;

// Serverless (the CreateServerlessDBInstance seed): "Only ap-shanghai-2, ap-beijing-1, and
// ap-guangzhou-2 are supported during the beta test" (the world marks those zones),
// "Currently, only 10.4 is supported", "Currently, only UTF-8 is supported" (UTF8 in the
// API's spelling, InvalidParameterValue.InvalidCharset: "only UTF8 and LATIN1").
inline constexpr const char* kServerlessVersion = "10.4";
inline constexpr const char* kServerlessCharset = "UTF8";

// Tags. Key 1-127 bytes, value at most 255, the "qcloud:" prefix reserved, 50 tags per
// resource: the Tag service's limits page (not among our seeds; tencent-api.md names the
// Tag service only). UNCONFIRMED beyond that page.
inline constexpr size_t kMaxTagKeyBytes = 127;
inline constexpr size_t kMaxTagValueBytes = 255;
inline constexpr const char* kReservedTagPrefix = "qcloud:";
inline constexpr size_t kMaxTagsPerResource = 50;
// TagResources ResourceList: at most 10 resources per call (intl TagResources page:
// "ResourceList.N ... N in 0-9"). UnTagResources is read the same way.
inline constexpr size_t kMaxTagResourcesPerCall = 10;
// TagResources Tags: at most 10 per call (same page: "Tags.N ... Value range of N: 0-9").
inline constexpr size_t kMaxTagsPerCall = 10;
// ModifyResourceTags ReplaceTags and DeleteTags: at most 10 each (tencent-api.md).
inline constexpr size_t kMaxModifyTags = 10;

}  // namespace reconciler::tencentcloud::emulator::rules
