// kube-dns's /healthcheck/kubedns: ask the query path itself for kubernetes.default.svc.<domain>.
#pragma once

#include <string>

#include "dns/handler.hpp"
#include "ops/runtime/readiness.hpp"

namespace clusterdns::ops {

// Sends an A query for `name` through `handler` (as a UDP query from 127.0.0.1) and returns 200 when it
// answers NOERROR with at least one record, else 503 saying what came back. Any thread; allocates.
Probe probe_query(dns::QueryHandler& handler, const std::string& name);

}  // namespace clusterdns::ops
