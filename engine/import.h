#pragma once

// `reconciler import KIND/NAME ID`: an instance or group that already exists in the cloud,
// taken into a stack as one resource of its specs.

#include <string>

#include "base/status.h"
#include "providers/provider.h"
#include "specs/desired_state.h"
#include "state/state_store.h"

namespace reconciler {

enum class Imported {
  kGroup,     // a ReadOnlyGroup: recorded only (groups carry no tags)
  kInstance,  // a replica or serverless instance: tagged for the stack, then recorded
};

struct ImportSummary {
  std::string id;          // the instance or group imported
  specs::ResourceKey key;  // the resource it is recorded under
  Imported what = Imported::kInstance;
};

// Takes the instance (or group) `id` into `desired`'s stack as resource `key`, looking for it
// only in the spec's region (and, for a group, on the spec's master). An instance gets the
// stack and resource tags (requests.h StackTags), then the instance and the resource's spec
// are recorded in `store`; a group has its id recorded with the spec. `id` goes to the cloud
// as given: checking its form is the caller's.
//
// Refuses, changing nothing, with a message fit to show as it is:
//   kInvalidInput  `key` is not a resource of `desired`
//   kNotFound      nothing has that id in the spec's region (for a group: on its master)
//   kPermanent     it differs from the spec where nothing changes in place (another kind,
//                  region, master, zone, ...), so the next plan would replace it; the
//                  message lists each field with the spec's and the instance's value
//   kConflict      its tags give it to another stack, or to another resource of this one
// Any other failure is the cloud's or the store's, passed on. When tagging succeeded but
// recording failed, the instance keeps the tags; importing it again finishes the job.
Result<ImportSummary> ImportInstance(const specs::DesiredState& desired, const specs::ResourceKey& key,
                                     const std::string& id, StateStore* store, cloud::Cloud* cloud);

}  // namespace reconciler
