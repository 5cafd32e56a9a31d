// The watch protocol's hard cases against k8s_test_apiserver: bookmarks, 410 in both forms, cut and slow
// streams, an expired token followed by a rotated token file, 429/5xx back-off.
#include "discovery/k8s/kube_source.hpp"

#include <gtest/gtest.h>

#include "tests/k8s_api/source_fixture.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using Clock = std::chrono::steady_clock;
using K8sWatch = KubeSourceTest;

bool has(const RegistryState& st, const char* ns, const char* name) {
  return find_service(st, ns, name) != nullptr;
}

TEST_F(K8sWatch, ListIsPagedWithLimitAndContinue) {
  start_server();
  json list = {{"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < 1234; ++i)
    list["items"].push_back(service_object("a", "svc-" + std::to_string(i), ""));
  server->apply(list);
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return st.services.size() == 1234; }));
  EXPECT_EQ(lists_of("services"), 3u);  // limit=500: 500 + 500 + 234
}

TEST_F(K8sWatch, BookmarkThenResumeNeedsNoRelist) {
  start_server();
  server->apply(service_object("a", "one", "10.96.0.1"));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "one"); }));
  // Changes the source does not watch (pods) move the store's resourceVersion past the services watch's.
  for (int i = 0; i < 5; ++i)
    server->apply(
        pod_object("default", "p" + std::to_string(i), "10.1.0." + std::to_string(i + 1), {}, true));
  // A watch opened after the bookmark request would get none.
  ASSERT_TRUE(all_watches_open());
  server->control("bookmark");
  ASSERT_TRUE(eventually([this](const RegistryState&) { return source->stats().bookmarks >= 3; }));
  // Without the bookmark a re-watch from the last service event would now be 410 Gone.
  server->control("compact");
  server->control("cut-streams", {{"mode", "clean"}});
  server->apply(service_object("a", "two", "10.96.0.2"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "two"); }));
  EXPECT_EQ(source->stats().gone, 0u);
  EXPECT_EQ(lists_of("services"), 1u);  // resumed from the bookmark, never re-listed
  EXPECT_GE(server->stats()["watches"].value("services", 0), 2);
}

// Changes made while the client cannot watch, then compaction: its resourceVersion is gone.
void expire_while_away(ApiServerProcess& server) {
  server.control("hold", {{"hold", true}});
  server.control("cut-streams", {{"mode", "abort"}});
  server.apply(service_object("a", "new", "10.96.0.9"));
  server.remove("Service", "a", "old");
  server.apply(slice_object("a", "new-1", "new", {"10.1.0.9"}));
  server.control("compact");
  server.control("hold", {{"hold", false}});
}

TEST_F(K8sWatch, GoneAsHttpStatusRelists) {
  start_server();
  server->control("config", {{"goneMode", "http"}});
  server->apply(service_object("a", "old", "10.96.0.1"));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "old"); }));
  expire_while_away(*server);
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return has(st, "a", "new") && !has(st, "a", "old") && find_slice(st, "a", "new-1") != nullptr;
  }));
  EXPECT_GE(source->stats().gone, 2u);  // services and endpointslices at least
  EXPECT_EQ(lists_of("services"), 2u);
  // What /metrics reports as clusterdns_source_{watches,relists}_total: services and endpointslices were
  // re-listed, and watches beyond the first one of each of the three collections were made.
  EXPECT_GE(source->restarts().relists, 2u);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (source->restarts().watches <= 3 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GT(source->restarts().watches, 3u);
}

TEST_F(K8sWatch, GoneAsInStreamErrorEventRelists) {
  start_server();  // goneMode "event": HTTP 200, then {"type":"ERROR","object":{"kind":"Status","code":410}}
  server->apply(service_object("a", "old", "10.96.0.1"));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "old"); }));
  expire_while_away(*server);
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return has(st, "a", "new") && !has(st, "a", "old") && find_slice(st, "a", "new-1") != nullptr;
  }));
  EXPECT_GE(source->stats().gone, 2u);
  EXPECT_EQ(lists_of("services"), 2u);
  // And a 410 ERROR in the middle of a healthy stream (the watch cache fell behind).
  server->control("cut-streams", {{"mode", "error410"}});
  ASSERT_TRUE(eventually_stat([](const json& s) { return s["lists"].value("services", 0) >= 3; }));
  server->apply(service_object("a", "after", "10.96.0.3"));
  ASSERT_TRUE(
      eventually([](const RegistryState& st) { return has(st, "a", "after") && has(st, "a", "new"); }));
}

TEST_F(K8sWatch, StreamCutMidEventIsDiscardedAndResumed) {
  start_server();
  start_source(access());
  ASSERT_TRUE(wait_synced());
  ASSERT_TRUE(all_watches_open());  // a watch opened after the cut request would not be cut
  server->control("cut-streams", {{"mode", "midline"}});
  server->apply(service_object("a", "cut", "10.96.0.4"));  // its ADDED line is cut in half
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "cut"); }));
  EXPECT_GE(source->stats().partial_lines, 1u);
  EXPECT_EQ(source->stats().malformed, 0u);  // the half line was never parsed
  EXPECT_EQ(source->stats().gone, 0u);
  EXPECT_EQ(lists_of("services"), 1u);  // resumed from the last complete event
}

TEST_F(K8sWatch, SlowStreamInTinyPieces) {
  start_server();
  start_source(access());
  ASSERT_TRUE(wait_synced());
  server->control("slow", {{"splitBytes", 7}, {"pieceDelayMs", 1}});
  for (int i = 0; i < 5; ++i)
    server->apply(service_object("a", "s" + std::to_string(i), ""));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return st.services.size() == 5; }));
  EXPECT_EQ(source->stats().malformed, 0u);
}

TEST_F(K8sWatch, ExpiredTokenThenRotatedTokenFile) {
  start_server(ServerOptions{"token-1"});
  server->apply(service_object("a", "before", "10.96.0.1"));
  std::string token_file = dir.write("token", "token-1\n");
  ClusterAccess a = access();
  a.token_file = token_file;
  start_source(a);
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "before"); }));
  uint64_t gen = source->generation();

  server->control("expire-token", {{"newToken", "token-2"}});
  server->control("cut-streams", {{"mode", "abort"}});
  ASSERT_TRUE(eventually_stat([](const json& s) { return s["unauthorized"].get<int>() >= 3; }));
  server->apply(service_object("a", "during", "10.96.0.2"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(source->generation(), gen);               // nothing new while refused…
  EXPECT_TRUE(has(*source->state(), "a", "before"));  // …and the last good state stays
  dir.write("token", "token-2");                      // kubelet rotates the projected token
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "during"); }));
}

TEST_F(K8sWatch, BackOffOnServerErrorsAndTooManyRequests) {
  start_server();
  server->control("fail", {{"status", 503}, {"count", 4}, {"verb", "list"}});
  auto t0 = Clock::now();
  KubeSourceOptions o = fast_options();
  o.timing.backoff_max = std::chrono::seconds(2);  // Retry-After is honoured up to the cap
  start_source(access(), o);
  ASSERT_TRUE(wait_synced());
  // Four 503s spread over three collections: at least one collection waited 50 ms and then 100 ms.
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(150));

  // The three re-watches after a clean end get 429 with Retry-After: 1, which is honoured.
  server->control("fail", {{"status", 429}, {"count", 3}, {"verb", "watch"}, {"retryAfter", 1}});
  server->control("cut-streams", {{"mode", "clean"}});
  auto t1 = Clock::now();
  server->apply(service_object("a", "late", "10.96.0.5"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "late"); }));
  EXPECT_GE(Clock::now() - t1, std::chrono::milliseconds(900));

  // An in-stream ERROR that is not a 410: back off, re-list, watch again.
  server->control("cut-streams", {{"mode", "error500"}});
  ASSERT_TRUE(eventually_stat([](const json& s) { return s["lists"].value("services", 0) >= 2; }));
  server->apply(service_object("a", "later", "10.96.0.6"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return has(st, "a", "later"); }));
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
