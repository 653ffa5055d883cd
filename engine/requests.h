#pragma once

// Requests: what a spec asks for, mapped once. Each resource's spec becomes the request that
// buys it, the config that sets a group in place, the tags that mark an instance as the
// stack's, and the record the state keeps of it. Diff, import and rebuild all use these; the
// JSON forms of the requests (plan files, operation records) are in plan.h.

#include <string>

#include "providers/provider.h"
#include "specs/desired_state.h"
#include "state/state_store.h"

namespace reconciler {

// The tags that mark an instance as `key`'s in `stack`: reconciler/stack and
// reconciler/resource (the executor adds reconciler/operation to a purchase).
cloud::Tags StackTags(const std::string& stack, const specs::ResourceKey& key);

// The request that buys `resource` (its tags include the stack and resource tags; the
// executor adds the operation tag). REQUIRES: the resource's kind matches the function.
cloud::ReplicaRequest ReplicaRequestFor(const specs::Resource& resource, const std::string& stack);
cloud::ServerlessRequest ServerlessRequestFor(const specs::Resource& resource, const std::string& stack);
cloud::GroupRequest GroupRequestFor(const specs::Resource& resource);

// The settings of a group's request that ModifyReadOnlyGroupConfig also sets in place.
cloud::GroupConfig GroupConfigOf(const cloud::GroupRequest& request);

// The settings of a group's spec that ModifyReadOnlyGroupConfig sets: those of its request.
// REQUIRES: the resource is a ReadOnlyGroup.
cloud::GroupConfig GroupConfigFor(const specs::Resource& resource);

// The spec of a resource as JSON, recorded as "last applied" after a successful change.
std::string SpecJson(const specs::Resource& resource);

// What the state records for `resource` once it exists in the cloud: its key, region,
// deletion policy and spec, with `group_id` for a ReadOnlyGroup ("" otherwise). The store
// stamps updated_at.
ResourceRecord RecordFor(const specs::Resource& resource, const std::string& group_id = "");

}  // namespace reconciler
