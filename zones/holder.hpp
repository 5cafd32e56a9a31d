// Publishes snapshots to the query threads: one atomic stamp read per query, a lock only on change.
#pragma once

#include "base/published.hpp"
#include "zones/snapshot.hpp"

namespace clusterdns::zones {

using SnapshotHolder = base::Published<Snapshot>;  // the builder thread publishes; never mutated afterwards
using LocalSnapshot = base::Local<Snapshot>;       // a query thread's view

}  // namespace clusterdns::zones
