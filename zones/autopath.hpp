// --autopath as a handler of its own, wrapped around the Responder (CoreDNS's autopath plugin, without its
// per-pod watch): an NXDOMAIN for X.<ns>.svc.<zone> asked by a pod of <ns> walks that pod's search list
// server-side. See zones/autopath.cpp.
#pragma once

#include <string>
#include <vector>

#include "dns/handler.hpp"
#include "zones/responder.hpp"

namespace clusterdns::zones {

struct AutopathOptions {
  std::string zone;  // the cluster domain, lower-cased wire form
  std::vector<std::string>
      search;  // a pod's search domains after <ns>.svc.<zone> svc.<zone> <zone>, wire form
};

// A walk answered from the snapshot allocates nothing (each worker thread reuses its walk's memory); a
// walk whose candidate is forwarded keeps its state on the heap until the forwarder answers.
class Autopath : public dns::QueryHandler {
 public:
  Autopath(Responder& inner, AutopathOptions options);
  // The Responder's answer, or, when that is an NXDOMAIN to walk, the walk's (0 when it was deferred).
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                const dns::QueryContext& ctx) override;

 private:
  Responder& inner_;
  AutopathOptions options_;
  // What each candidate appends to X, in order: <ns>.svc.<zone> is asked already, so svc.<zone>, <zone>,
  // the search domains, the root.
  std::vector<std::string> suffixes_;
};

}  // namespace clusterdns::zones
