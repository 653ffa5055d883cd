#pragma once

// How the cloud shows that an instance belongs to a stack, on both API sites.
//
// A replica purchase on the international site can carry exactly one tag (TagList is one
// Tag object there). That one tag is the proof that a purchase happened:
//
//   reconciler/operation = <stack>/<Kind>/<name>/<operation id>
//
// e.g. "orders/ReadOnlyInstance/reports/op-3kq9x1c0a7zz". It names the stack, the resource
// and the operation, so the instance can be found, attributed and finished from that tag
// alone. As soon as the instance ids are known, the tag service adds reconciler/stack,
// reconciler/resource and the user's tags (a recorded step: Operation::tags_pending). The
// operation tag keeps its value for the instance's life, so nothing ever has to overwrite a
// tag for the identity to hold. On the China site the create takes every tag at once.
//
// An instance that carries only the operation tag (a crash between the purchase and the
// tagging) is still ours: listings ask for either key, Normalize() derives the other two
// from the operation tag, and the engine finishes the tagging instead of buying again.

#include <optional>
#include <string>
#include <vector>

#include "providers/provider.h"

namespace reconciler {

// The value of the reconciler/operation tag of a purchase.
std::string OperationTagValue(const std::string& stack, const std::string& resource_key,
                              const std::string& operation_id);

struct OperationTag {
  std::string stack;         // empty for a plain "op-..." value (written before this scheme)
  std::string resource_key;  // "ReadOnlyInstance/reports"; empty likewise
  std::string operation_id;  // "op-..."
};
OperationTag ParseOperationTag(const std::string& value);

// Derives reconciler/stack and reconciler/resource from reconciler/operation where they are
// missing, reduces reconciler/operation to the operation id, and sets
// `instance->tagging_incomplete` when the stack or resource tag was missing.
void Normalize(cloud::Instance* instance);

// Whether a normalized instance belongs to `stack`.
bool BelongsTo(const cloud::Instance& instance, const std::string& stack);

// The tag keys a listing must ask for (either marks an instance of some stack).
std::vector<std::string> IdentityTagKeys();

// Every read-only instance in `region` that belongs to `stack`, tagged in full or only at
// purchase, normalized. One paged listing.
Result<std::vector<cloud::Instance>> ListStackInstances(cloud::Cloud* cloud, const std::string& region,
                                                        const std::string& stack);

// Every serverless instance in `region` that belongs to `stack`, normalized. Their creates
// carry every tag, so one listing by the stack tag finds them all.
Result<std::vector<cloud::Instance>> ListStackServerless(cloud::Cloud* cloud, const std::string& region,
                                                         const std::string& stack);

}  // namespace reconciler
