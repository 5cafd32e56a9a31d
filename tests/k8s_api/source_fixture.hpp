// GoogleTest fixture for KubeSource against k8s_test_apiserver (header-only; used by tests/unit/discovery).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "discovery/k8s/kube_source.hpp"
#include "tests/k8s_api/harness.hpp"

namespace clusterdns::k8s_api::testing {

using discovery::ClusterAccess;
using discovery::KubeSource;
using discovery::KubeSourceOptions;
using discovery::RegistryState;

inline const discovery::Service* find_service(const RegistryState& st, const std::string& ns,
                                              const std::string& name) {
  for (const auto& s : st.services) {
    if (s.ns == ns && s.name == name) return &s;
  }
  return nullptr;
}

inline const discovery::EndpointSet* find_slice(const RegistryState& st, const std::string& ns,
                                                const std::string& name) {
  for (const auto& s : st.endpoint_sets) {
    if (s.ns == ns && s.name == name) return &s;
  }
  return nullptr;
}

inline bool has_namespace(const RegistryState& st, const std::string& ns) {
  for (const auto& n : st.namespaces) {
    if (n == ns) return true;
  }
  return false;
}

class KubeSourceTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (source) source->stop();
    source.reset();
    server.reset();
  }

  void start_server(ServerOptions options = {}) {
    server = std::make_unique<ApiServerProcess>(std::move(options));
  }

  // Short back-off so that recovery tests finish quickly; everything else as in production.
  static KubeSourceOptions fast_options() {
    KubeSourceOptions o;
    o.timing.backoff_initial = std::chrono::milliseconds(50);
    o.timing.backoff_max = std::chrono::milliseconds(500);
    o.connect_timeout = std::chrono::seconds(2);
    return o;
  }

  ClusterAccess access(const std::string& token = "") const {
    ClusterAccess a;
    a.server = server->url();
    a.token = token;
    a.origin = "test";
    return a;
  }

  void start_source(ClusterAccess a, KubeSourceOptions options = fast_options()) {
    source = std::make_unique<KubeSource>(std::move(a), std::move(options));
    source->start([] {});
  }

  // Polls the published state (every 1 ms, bounded) until pred holds.
  bool eventually(const std::function<bool(const RegistryState&)>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      auto st = source->state();
      if (st && pred(*st)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }

  // True once the source watches services and two more collections (endpointslices, namespaces). A list
  // is applied before its watch is opened, so under load a watch can still be on its way when the registry
  // looks synced: a bookmark or a stream cut asked for then would miss it.
  bool all_watches_open() {
    return eventually_stat([](const json& stats) {
      const json watches = stats.value("watches", json::object());
      int open = 0;
      for (const auto& [collection, count] : watches.items())
        open += count.get<int>() > 0;
      return watches.value("services", 0) > 0 && open >= 3;
    });
  }

  bool eventually_stat(const std::function<bool(const json&)>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred(server->stats())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  bool wait_synced(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return eventually([](const RegistryState&) { return true; }, timeout);
  }

  uint64_t lists_of(const std::string& plural) {
    json s = server->stats();
    return s["lists"].value(plural, uint64_t{0});
  }

  ScratchDir dir;
  std::unique_ptr<ApiServerProcess> server;
  std::unique_ptr<KubeSource> source;
};

}  // namespace clusterdns::k8s_api::testing
