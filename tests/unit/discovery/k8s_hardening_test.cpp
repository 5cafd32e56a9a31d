// A watch stream that turns bad: an undecodable line is read again (not lost), a silent server is noticed.
#include "discovery/k8s/kube_source.hpp"

#include <gtest/gtest.h>

#include "tests/k8s_api/source_fixture.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using K8sHardening = KubeSourceTest;

bool has(const RegistryState& st, const char* ns, const char* name) {
  return find_service(st, ns, name) != nullptr;
}

TEST_F(K8sHardening, AnUndecodableWatchLineIsReadAgainNotLost) {
  start_server();
  start_source(access());
  ASSERT_TRUE(wait_synced());
  // The cut reaches only streams open by then: a services watch still connecting would get the events clean.
  ASSERT_TRUE(eventually_stat(
      [](const nlohmann::json& s) { return s["watches"].value("services", uint64_t{0}) >= 1; }));
  server->control("cut-streams", {{"mode", "garble"}});
  server->apply(service_object("a", "garbled", "10.96.0.4"));  // its ADDED line arrives undecodable
  server->apply(service_object("a", "next", "10.96.0.5"));
  // Skipping the line would lose "garbled" until the next re-list; watching again from the last applied
  // resourceVersion has the server send it again.
  ASSERT_TRUE(
      eventually([](const RegistryState& st) { return has(st, "a", "garbled") && has(st, "a", "next"); }));
  EXPECT_GE(source->stats().undecodable, 1u);
  EXPECT_EQ(lists_of("services"), 1u);  // re-watched, not re-listed
}

TEST_F(K8sHardening, ASilentWatchIsRestartedAfterTheIdleTimeout) {
  start_server();
  KubeSourceOptions o = fast_options();
  o.timing.watch_idle_timeout = std::chrono::seconds(1);
  server->control("config", {{"bookmarkIntervalMs", 200}});  // bookmarks keep a healthy watch alive
  start_source(access(), o);
  ASSERT_TRUE(wait_synced());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(source->stats().idle_timeouts, 0u);  // bookmarks arrive: no timeout
  server->control("hold", {{"hold", true}});     // the server goes quiet, connections stay open
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (source->stats().idle_timeouts == 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(source->stats().idle_timeouts, 1u);
  server->control("hold", {{"hold", false}});
  server->apply(service_object("a", "after", "10.96.0.6"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "after"); }));
}

TEST_F(K8sHardening, HealthCountsRejectedObjectsAndReportsASilentWatch) {
  start_server();
  KubeSourceOptions o = fast_options();
  o.timing.watch_idle_timeout = std::chrono::seconds(1);
  server->control("config", {{"bookmarkIntervalMs", 200}});
  nlohmann::json bad = service_object("a", "bad", "10.96.0.9");
  bad["spec"]["clusterIP"] = "not-an-ip";
  server->apply(bad);
  server->apply(service_object("a", "good", "10.96.0.8"));
  start_source(access(), o);
  ASSERT_TRUE(wait_synced());
  discovery::RegistrySource::Health h = source->health();
  EXPECT_GE(h.rejected, 1u);  // the service whose clusterIP is no IP
  EXPECT_GT(h.last_applied_unix_ms, 0);
  EXPECT_FALSE(h.stale);
  EXPECT_FALSE(h.silent);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(source->health().silent);  // bookmarks keep it heard

  server->control("hold", {{"hold", true}});  // the server goes quiet, connections stay open
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!source->health().silent && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  h = source->health();
  EXPECT_TRUE(h.silent);
  EXPECT_TRUE(h.stale);

  server->control("hold", {{"hold", false}});  // bookmarks again: heard, not stale
  end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((source->health().silent || source->health().stale) && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(source->health().silent);
  EXPECT_FALSE(source->health().stale);
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
