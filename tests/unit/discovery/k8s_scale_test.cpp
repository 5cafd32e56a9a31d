// KubeSource at size and over time: 5,000 services in one list (paged and unpaged) with the client's peak
// RSS, freshness (apply → state published) p50/p99 over 200 changes, and a watch idle for 30 s.
#include "discovery/k8s/kube_source.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "tests/k8s_api/source_fixture.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kServices = 5000;

// Lists 5,000 realistic (~2 KiB) services and reports time and memory. Run one case per process for a
// clean peak: discovery_unit_tests --gtest_filter=K8sScale.FiveThousandServicesPaged
class K8sScale : public KubeSourceTest {
 protected:
  void list_five_thousand(bool one_page);
};

void K8sScale::list_five_thousand(bool one_page) {
  auto& t = *this;
  t.start_server();
  t.server->control("generate", {{"count", kServices}, {"namespace", "bulk"}});
  if (one_page) t.server->control("config", {{"ignoreLimit", true}});
  long rss_before = current_rss_kib();
  long peak_before = peak_rss_kib();
  auto t0 = Clock::now();
  t.start_source(t.access());
  ASSERT_TRUE(t.eventually([](const RegistryState& st) { return st.services.size() == kServices; },
                           std::chrono::seconds(120)));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  long peak_after = peak_rss_kib();
  long rss_after = current_rss_kib();
  uint64_t pages = t.lists_of("services");
  EXPECT_EQ(pages, one_page ? 1u : 10u);
  std::printf(
      "[k8s] %d services, %s: synced in %lld ms over %llu page(s); client RSS %ld KiB before, %ld KiB "
      "after; peak RSS (ru_maxrss) %ld KiB before, %ld KiB after (+%ld KiB)\n",
      kServices, one_page ? "one unpaged list" : "paged by 500", static_cast<long long>(ms),
      static_cast<unsigned long long>(pages), rss_before, rss_after, peak_before, peak_after,
      peak_after - peak_before);
  auto st = t.source->state();
  const discovery::Service* s = find_service(*st, "bulk", "svc-4999");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->ports.size(), 2u);
  EXPECT_EQ(s->ports[1].target_port, "metrics");
}

TEST_F(K8sScale, FiveThousandServicesPaged) {
  list_five_thousand(false);
}

TEST_F(K8sScale, FiveThousandServicesInOneUnpagedList) {
  list_five_thousand(true);
}

// Time from POST /test/apply to the listener seeing the change in a published state, 200 changes (adds
// and modifications, one at a time) over a registry of 1,000 services.
TEST_F(K8sScale, FreshnessApplyToPublished) {
  start_server();
  server->control("generate", {{"count", 1000}, {"namespace", "bulk"}});
  server->apply(service_object("probe", "probe", "10.96.200.1", 1000));
  std::mutex m;
  std::condition_variable cv;
  uint64_t notified = 0;
  source = std::make_unique<KubeSource>(access(), fast_options());
  source->start([&] {
    std::lock_guard lock(m);
    ++notified;
    cv.notify_all();
  });
  ASSERT_TRUE(eventually([](const RegistryState& st) { return st.services.size() == 1001; },
                         std::chrono::seconds(60)));
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    bool add = i % 2 == 0;
    std::string name = add ? "fresh-" + std::to_string(i) : "probe";
    int port = 2000 + i;
    auto seen = [&] {
      auto st = source->state();
      const discovery::Service* s = st ? find_service(*st, add ? "fresh" : "probe", name) : nullptr;
      return s != nullptr && !s->ports.empty() && s->ports[0].port == port;
    };
    auto t0 = Clock::now();
    server->apply(service_object(add ? "fresh" : "probe", name, "", port));
    std::unique_lock lock(m);
    bool ok = cv.wait_for(lock, std::chrono::seconds(5), [&] { return seen(); });
    ASSERT_TRUE(ok) << "change " << i << " not published within 5 s";
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double p50 = ms[ms.size() / 2];
  double p99 = ms[ms.size() * 99 / 100];
  std::printf(
      "[k8s] freshness over %zu changes (1,001 services): p50 %.2f ms, p99 %.2f ms, max %.2f ms "
      "(target p99 < 50 ms)\n",
      ms.size(), p50, p99, ms.back());
  // A figure, not a pass mark (timings belong to benchmarks; Release here: p99 ~8 ms): what this test
  // asserts is that each of the 200 changes was published, within 5 s.
}

// A watch with nothing to say for 30 s (no events, no bookmarks) stays connected: no new watch, no
// re-list, and the next change arrives at once. K8S_IDLE_SECONDS overrides the 30 s.
TEST_F(K8sScale, IdleWatchStaysUp) {
  const char* env = std::getenv("K8S_IDLE_SECONDS");
  int idle = env != nullptr ? std::atoi(env) : 30;
  start_server(ServerOptions{"", nullptr, false, 0});  // bookmarks off
  start_source(access());
  ASSERT_TRUE(wait_synced());
  ASSERT_TRUE(eventually_stat([](const json& s) { return s["activeWatches"].get<int>() == 3; }));
  json before = server->stats();
  for (int i = 0; i < idle; ++i)
    std::this_thread::sleep_for(std::chrono::seconds(1));
  json after = server->stats();
  EXPECT_EQ(after["watches"], before["watches"]);
  EXPECT_EQ(after["lists"], before["lists"]);
  EXPECT_EQ(after["activeWatches"].get<int>(), 3);
  auto t0 = Clock::now();
  server->apply(service_object("a", "wake", "10.96.0.1"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "a", "wake") != nullptr; }));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
  EXPECT_EQ(source->stats().watches, 0u);  // counted when a watch ends: none has
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
