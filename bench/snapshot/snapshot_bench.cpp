// snapshot_bench MANIFESTS [ROUNDS]: parses a registry of manifests (bench/gen_cluster.py writes large
// ones) once, then compiles it ROUNDS times (default 15) and prints the median and spread of each phase:
// the records (registry → draft), the answers (draft → snapshot), a whole build from nothing (start-up),
// and a whole build after one Service's cluster IP changed, lent the unchanged answers by the snapshot
// before (what the server runs on a registry change). Rounds interleave the phases so machine noise falls
// on all of them alike.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "discovery/files/manifest_parser.hpp"
#include "zones/builder.hpp"
#include "zones/cluster_records.hpp"
#include "zones/snapshot.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void report(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%-34s median %8.2f ms   min %8.2f   max %8.2f   (%zu rounds)\n", what, v[v.size() / 2],
              v.front(), v.back(), v.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MANIFESTS [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 15;
  // As cmd/clusterdns does: freed snapshots stay in the heap for the next build instead of going back to
  // the kernel and faulting in again.
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  auto t0 = Clock::now();
  auto parsed = clusterdns::discovery::parse_manifests(argv[1]);
  if (!parsed.errors.empty()) {
    std::fprintf(stderr, "%s: %zu errors, first: %s\n", argv[1], parsed.errors.size(),
                 parsed.errors.front().reason.c_str());
    return 1;
  }
  const auto& state = parsed.state;
  std::printf("%s: %zu namespaces, %zu services, %zu endpoint sets, %zu pods (parsed in %.0f ms)\n", argv[1],
              state.namespaces.size(), state.services.size(), state.endpoint_sets.size(), state.pods.size(),
              ms_since(t0));

  clusterdns::zones::BuildConfig config;
  std::vector<double> records, answers, whole, change;
  size_t names = 0, bytes = 0, reused = 0;
  // The change: the first ClusterIP service moves between two addresses, one round after the other.
  auto changed = state;
  clusterdns::discovery::Service* moving = nullptr;
  for (auto& svc : changed.services) {
    if (svc.kind == clusterdns::discovery::ServiceKind::ClusterIp && svc.cluster_ips.size() == 1) {
      moving = &svc;
      break;
    }
  }
  if (!moving) {
    std::fprintf(stderr, "%s: no ClusterIP service to change\n", argv[1]);
    return 1;
  }
  const std::string original_ip = moving->cluster_ips[0];
  namespace zones = clusterdns::zones;
  const auto make_draft = [&](const clusterdns::discovery::RegistryState& from) {
    auto draft = std::make_shared<zones::ZoneDraft>();
    zones::add_cluster_zones(*draft, config.cluster, 1);
    zones::add_cluster_records(*draft, from, config.cluster);
    return draft;
  };
  std::vector<double> answers_change, freeing;
  for (int i = 0; i < rounds; ++i) {
    t0 = Clock::now();
    auto draft = make_draft(state);
    records.push_back(ms_since(t0));
    t0 = Clock::now();
    auto snap = zones::Snapshot::build(draft, true, config.cluster.ttl, false);
    answers.push_back(ms_since(t0));
    names = snap->node_count();
    bytes = snap->memory_bytes();
    moving->cluster_ips[0] = i % 2 ? original_ip : "10.255.254.253";
    auto changed_draft = make_draft(changed);
    t0 = Clock::now();
    auto next = zones::Snapshot::build(changed_draft, true, config.cluster.ttl, false, {}, snap.get());
    answers_change.push_back(ms_since(t0));
    t0 = Clock::now();
    draft.reset();
    changed_draft.reset();
    next.reset();
    freeing.push_back(ms_since(t0) / 2);
    snap.reset();

    t0 = Clock::now();
    snap = zones::build_snapshot(&state, config, static_cast<uint32_t>(2 * i + 2));
    whole.push_back(ms_since(t0));
    t0 = Clock::now();
    std::shared_ptr<const zones::ZoneDraft> spent;  // freed after the clock stops, as the server does
    next = zones::build_snapshot(&changed, config, static_cast<uint32_t>(2 * i + 3), snap.get(), &spent);
    change.push_back(ms_since(t0));
    reused = next->reused_count();
  }
  std::printf("snapshot: %zu names, %zu KiB; after one change %zu names reused\n", names, bytes / 1024,
              reused);
  report("records (registry -> draft)", records);
  report("answers (draft -> snapshot)", answers);
  report("answers after one change", answers_change);
  report("freeing a draft and a snapshot", freeing);
  report("build_snapshot from nothing", whole);
  report("build_snapshot after one change", change);  // the server publishes here
  return 0;
}
