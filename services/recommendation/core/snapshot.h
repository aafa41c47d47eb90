// The simulator's view of a cluster (pure): a Snapshot built from the facts k8i-recommendation
// keeps of each object (core/facts.h), so a simulation reads exactly the stored inventory.
#pragma once

#include <vector>

#include "absl/types/span.h"
#include "services/recommendation/core/evaluate.h"
#include "services/recommendation/core/simulate.h"

namespace k8i::recommendation {

// Nodes, pods (a pod's requests are the sum of its containers'), workloads, PDBs, ConfigMaps
// and Secrets; succeeded and failed pods are not kept in the first place. Objects whose facts
// do not parse are skipped.
Snapshot SnapshotOf(absl::Span<const StoredObject> objects);

}  // namespace k8i::recommendation
