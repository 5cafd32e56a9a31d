// Readiness: /ready from the sources' status and the lameduck.
#include "ops/runtime/readiness.hpp"

namespace clusterdns::ops {

Probe Readiness::ready() const {
  if (lameduck()) return {503, "lameduck: shutting down"};
  std::string waiting;
  for (const auto& s : sources_.status()) {
    if (s.synced) continue;
    waiting += waiting.empty() ? "" : ", ";
    waiting += s.name;
  }
  if (!waiting.empty()) return {503, "not ready: waiting for the first sync of " + waiting};
  std::string silent;
  for (const auto& s : sources_.status()) {
    if (!s.health.silent) continue;
    silent += silent.empty() ? "" : ", ";
    silent += s.name;
  }
  if (!silent.empty()) {
    return {503, "not ready: " + silent +
                     " silent beyond the watch idle timeout (no event, no bookmark); serving the last state"};
  }
  return {200, "OK"};
}

}  // namespace clusterdns::ops
