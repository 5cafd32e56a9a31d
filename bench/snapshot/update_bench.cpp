// update_bench N [CHANGES [PODS]]: the builder's cost per registry change at N services (no parsing: a
// synthetic registry of N ClusterIP services with a named port in 50 namespaces). Builds once from nothing,
// then applies CHANGES (default 200) one-Service changes as a source would (copy the state, upsert one
// object) and times ZoneBuilder::update for each: median, p99 and max, and the names each change compiled.
// Run it at 10,000 and 100,000: a change should cost the same at both.
// With PODS > 0 the registry also holds PODS running pods (--pods verified, so each has an A record and the
// autopath pod index an entry), and each change moves one pod to a new address instead of a Service.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "zones/builder.hpp"

namespace {
using Clock = std::chrono::steady_clock;
double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}
}  // namespace

int main(int argc, char** argv) {
  using namespace clusterdns;
  const int n = argc > 1 ? std::max(1, std::atoi(argv[1])) : 100000;
  const int changes = argc > 2 ? std::max(1, std::atoi(argv[2])) : 200;
  const int pods = argc > 3 ? std::max(0, std::atoi(argv[3])) : 0;
  auto state = std::make_shared<discovery::RegistryState>();
  for (int i = 0; i < 50; ++i)
    state->namespaces.upsert("ns" + std::to_string(i));
  const auto address = [](int i) {
    return "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." +
           std::to_string(i % 256);
  };
  for (int i = 0; i < n; ++i) {
    discovery::Service s;
    s.ns = "ns" + std::to_string(i % 50);
    s.name = "svc-" + std::to_string(i);
    s.cluster_ips = {address(i)};
    s.ports = {{"http", 80, discovery::Protocol::Tcp, ""}};
    state->services.upsert(std::move(s));
  }
  const auto pod_address = [](int i) {
    return "10." + std::to_string(128 + i / 65536 % 128) + "." + std::to_string(i / 256 % 256) + "." +
           std::to_string(i % 256);
  };
  const auto pod_at = [&](int i, const std::string& ip) {
    discovery::Pod p;
    p.ns = "ns" + std::to_string(i % 50);
    p.name = "pod-" + std::to_string(i);
    p.ip = ip;
    p.ips = {ip};
    p.phase = "Running";
    p.ready = true;
    return p;
  };
  for (int i = 0; i < pods; ++i)
    state->pods.upsert(pod_at(i, pod_address(i)));
  std::shared_ptr<const discovery::RegistryState> current = state;
  zones::BuildConfig config;
  if (pods > 0) config.cluster.pods = zones::PodMode::Verified;
  zones::ZoneBuilder builder{config};
  auto t0 = Clock::now();
  auto snap = builder.update(current, 1);
  std::printf("%d services, %d pods: built from nothing in %.0f ms, %zu names, %zu KiB\n", n, pods,
              us_between(t0, Clock::now()) / 1000, snap->node_count(), snap->memory_bytes() / 1024);
  std::vector<double> publish, update;
  size_t compiled = 0;
  for (int r = 0; r < changes; ++r) {
    const int which = static_cast<int>((r * 7919L) % n);
    t0 = Clock::now();
    auto next = std::make_shared<discovery::RegistryState>(*current);
    if (pods > 0) {
      next->pods.upsert(pod_at(static_cast<int>((r * 7919L) % pods), pod_address(pods + r)));
    } else {
      discovery::Service s =
          *current->services.find({"ns" + std::to_string(which % 50), "svc-" + std::to_string(which)});
      s.cluster_ips = {address(n + r)};
      next->services.upsert(std::move(s));
    }
    current = next;
    const auto t1 = Clock::now();
    snap = builder.update(current, static_cast<uint32_t>(r + 2));
    const auto t2 = Clock::now();
    publish.push_back(us_between(t0, t1));
    update.push_back(us_between(t1, t2));
    compiled += snap->compiled_count();
  }
  for (auto* v : {&publish, &update})
    std::sort(v->begin(), v->end());
  const auto at = [](const std::vector<double>& v, double q) {
    return v[static_cast<size_t>(q * (v.size() - 1))];
  };
  std::printf("state copy + upsert:     median %7.1f us  p99 %7.1f us  max %7.1f us\n", at(publish, 0.5),
              at(publish, 0.99), publish.back());
  std::printf(
      "ZoneBuilder::update:     median %7.1f us  p99 %7.1f us  max %7.1f us  (%.1f names compiled each)\n",
      at(update, 0.5), at(update, 0.99), update.back(), static_cast<double>(compiled) / changes);
  return 0;
}
