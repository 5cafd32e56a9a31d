// snapshot_bench MANIFESTS [ROUNDS]: parses a registry of manifests (bench/gen_cluster.py writes large
// ones) once and prints what the heap holds once built. Then the median and spread of 10 × ROUNDS
// (default 15) registry changes as the server applies them — a copy of the state with one Service's cluster
// IP moved (what a source publishes), then ZoneBuilder::update on the builder that built the state before
// (records rewritten for that object, its names recompiled, every other shard shared) — and of ROUNDS
// builds from nothing (start-up).
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
#include "zones/snapshot.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Bytes malloc has handed out and not had back (arenas and mmapped blocks).
double heap_mib() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd) / (1 << 20);
}

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
  const double heap_empty = heap_mib();
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
  namespace zones = clusterdns::zones;
  namespace discovery = clusterdns::discovery;
  const discovery::Service* first = nullptr;
  for (const auto& svc : state.services) {
    // Not the DNS Service (its addresses glue the apex NS): an ordinary one.
    if (svc.kind == discovery::ServiceKind::ClusterIp && svc.cluster_ips.size() == 1 &&
        svc.ns != "kube-system") {
      first = &svc;
      break;
    }
  }
  if (!first) {
    std::fprintf(stderr, "%s: no ClusterIP service to change\n", argv[1]);
    return 1;
  }
  discovery::Service moving = *first;
  const std::string original_ip = moving.cluster_ips[0];
  std::vector<double> whole, publish, change;
  size_t names = 0, bytes = 0, compiled = 0;
  auto current = std::make_shared<const discovery::RegistryState>(state);
  const double heap_state = heap_mib();
  zones::ZoneBuilder incremental(config);
  const size_t snapshot_bytes = incremental.update(current, 1)->memory_bytes();
  const double heap_built = heap_mib();
  // What the server holds once ready: the registry state, and the builder's draft and dependency maps
  // beside the snapshot the workers read.
  std::printf(
      "heap once built: %.1f MiB = registry state %.1f + snapshot %.1f + builder (draft, maps) %.1f\n",
      heap_built - heap_empty, heap_state - heap_empty, static_cast<double>(snapshot_bytes) / (1 << 20),
      heap_built - heap_state - static_cast<double>(snapshot_bytes) / (1 << 20));
  // Changes first, on the builder that built the state (as the server applies them); the builds from nothing
  // after, since freeing a whole snapshot leaves malloc's fast bins to be consolidated by the next call.
  for (int i = 0; i < rounds * 10; ++i) {
    t0 = Clock::now();
    auto next = std::make_shared<discovery::RegistryState>(*current);
    moving.cluster_ips[0] = i % 2 ? original_ip : "10.255.254.253";
    next->services.upsert(moving);
    current = next;
    publish.push_back(ms_since(t0));
    t0 = Clock::now();
    auto changed = incremental.update(current, static_cast<uint32_t>(i + 2));
    change.push_back(ms_since(t0));
    compiled = changed->compiled_count();
  }
  std::vector<double> records;  // of each build from nothing: the registry → draft part
  const auto shared_state = std::make_shared<const discovery::RegistryState>(state);
  for (int i = 0; i < rounds; ++i) {
    t0 = Clock::now();
    zones::ZoneBuilder builder(config);
    auto snap = builder.update(shared_state, static_cast<uint32_t>(i + 2));
    whole.push_back(ms_since(t0));
    records.push_back(builder.records_seconds() * 1000);
    names = snap->node_count();
    bytes = snap->memory_bytes();
  }
  std::printf("snapshot: %zu names, %zu KiB; one change compiled %zu names\n", names, bytes / 1024, compiled);
  report("build from nothing", whole);
  report("  of which records", records);
  report("state copy + one upsert (source)", publish);
  report("ZoneBuilder::update, one change", change);  // the server publishes here
  return 0;
}
