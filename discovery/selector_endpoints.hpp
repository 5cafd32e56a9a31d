// Endpoints for services that select pods but come without an EndpointSlice (the endpoints controller's job).
#pragma once

#include "discovery/model.hpp"

namespace clusterdns::discovery {

// For every non-ExternalName Service with a non-empty selector and no EndpointSet whose service_name names
// it (same namespace), appends EndpointSets computed from the Pods it selects, as the Kubernetes
// EndpointSlice controller would (Kubernetes DNS specification 1.1.0 §2.4, the EndpointSlice controller's
// podToEndpoint):
//  - pods in the service's namespace whose labels contain every selector pair and that have an IP;
//    phase Succeeded/Failed pods are skipped; a ClusterIP service keeps only its own IP families;
//  - ready = publish_not_ready || (pod ready && !terminating);
//  - hostname = pod hostname only when the pod's subdomain is the service name;
//  - ports = service ports with targetPort resolved per pod: "" → the service port, a number → itself, a
//    name → that pod's container port of that name and protocol; a port a pod cannot resolve is left out
//    for that pod, and a pod resolving none of the service's ports is left out.
// Pods resolving to the same port list share one EndpointSet (like the subsets of an Endpoints object),
// so several sets may name one service. A service selecting no usable pod gets no set.
// Derived sets are named "<service>/selector/<n>" (no API object can be), so they are told apart from
// slices and replaced on the next computation. Pure function of state; not on the DNS hot path.
void compute_selector_endpoints(RegistryState& state);

// The same after a change: `after` is `before` with some objects upserted or erased (its derived sets
// still those of `before`). Recomputes only the namespaces where a service, pod or real endpoint set
// moved: O(the namespaces touched), not O(cluster).
void update_selector_endpoints(const RegistryState& before, RegistryState& after);

}  // namespace clusterdns::discovery
