// EtcdSource against a real etcd: paged range, put/update/delete, malformed values, selectors, freshness.
#include "discovery/etcd/etcd_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <thread>

#include "discovery/etcd/testing/fixtures.hpp"
#include "discovery/etcd/testing/local_etcd.hpp"

namespace clusterdns::discovery::etcd {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // the etcd test support
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using Clock = std::chrono::steady_clock;

class EtcdSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (etcd_installed()) etcd_ = new LocalEtcd();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (!etcd_) GTEST_SKIP() << "etcd is not installed (Debian etcd-server)";
    // Every test has its own prefix in the suite's etcd, so none sees another's objects.
    static int counter = 0;
    layout_ = Layout("/t" + std::to_string(++counter) + "/registry/");
    ClientOptions o;
    o.endpoints = {etcd_->url()};
    client_ = std::make_unique<Client>(o);
  }
  EtcdSourceOptions options() const {
    EtcdSourceOptions o;
    o.client.endpoints = {etcd_->url()};
    o.client.connect_timeout = 1s;
    o.client.request_timeout = 2s;
    o.prefix = layout_.prefix();
    o.read_timeout = 3s;  // etcd runs with 1 s progress notifications
    o.backoff_initial = 50ms;
    o.backoff_max = 500ms;
    return o;
  }
  void put(Resource r, const std::string& ns, const std::string& name, const std::string& value) {
    client_->put(layout_.key(r, ns, name), value);
  }
  void del(Resource r, const std::string& ns, const std::string& name) {
    client_->delete_range(layout_.key(r, ns, name), "");
  }

  static LocalEtcd* etcd_;
  Layout layout_;
  std::unique_ptr<Client> client_;
};

LocalEtcd* EtcdSourceTest::etcd_ = nullptr;

std::string ip_of(const RegistryState& st, const std::string& name) {
  const Service* s = find_service(st, "default", name);
  return s && !s->cluster_ips.empty() ? s->cluster_ips[0] : "";
}

TEST_F(EtcdSourceTest, RangesEveryPageAtOneRevisionThenWatches) {
  for (int i = 0; i < 23; ++i) {
    put(Resource::Service, "default", "svc-" + std::to_string(i),
        service_json("default", "svc-" + std::to_string(i), "10.96.0." + std::to_string(i + 1)));
    put(Resource::Pod, "team", "pod-" + std::to_string(i),
        pod_json("team", "pod-" + std::to_string(i), "10.244.0." + std::to_string(i + 1), {{"app", "x"}},
                 true));
  }
  put(Resource::EndpointSlice, "default", "svc-0-abc",
      slice_json("default", "svc-0-abc", "svc-0", {"10.244.1.1"}));
  put(Resource::Namespace, "", "empty", namespace_json("empty"));
  client_->put(layout_.prefix() + "secrets/default/token", "not ours");  // other resources are not read

  EtcdSourceOptions o = options();
  o.page_size = 5;
  EtcdSource src(o);
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState&) { return true; }));
  EXPECT_TRUE(src.has_synced());
  auto st = src.state();
  EXPECT_THAT(st->services, SizeIs(23));
  EXPECT_THAT(st->pods, SizeIs(23));
  EXPECT_THAT(endpoints_of(*st, "default", "svc-0"), ElementsAre("10.244.1.1"));
  EXPECT_THAT(st->namespaces, ElementsAre("default", "empty", "team"));
  EXPECT_EQ(src.stats().full_ranges, 1u);

  put(Resource::Service, "default", "late", service_json("default", "late", "10.96.1.1"));
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "late") == "10.96.1.1"; }));
  EXPECT_EQ(src.stats().full_ranges, 1u);
  // "connected" means every watcher was created; an event can arrive on the first before the last is.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!src.stats().connected && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(src.stats().connected);
}

TEST_F(EtcdSourceTest, RangePagesHandsOverEveryPageOfEveryRangeAtOneRevision) {
  const std::string a = layout_.prefix() + "a/", b = layout_.prefix() + "b/";
  for (int i = 0; i < 23; ++i)
    client_->put(a + std::to_string(100 + i), "a" + std::to_string(i));
  for (int i = 0; i < 3; ++i)
    client_->put(b + std::to_string(100 + i), "b" + std::to_string(i));
  const int64_t at = client_->range(a, "", 1, 0).revision;
  ClientOptions o;
  o.endpoints = {etcd_->url()};
  Client reader(o);
  int64_t revision = 0;
  std::vector<std::size_t> sizes;
  std::vector<std::string> keys;
  reader.range_pages({{a, prefix_end(a)}, {b, prefix_end(b)}}, 5, &revision,
                     [&](std::size_t range, std::vector<KeyValue>& kvs) {
                       sizes.push_back(kvs.size());
                       for (const KeyValue& kv : kvs)
                         keys.push_back(std::to_string(range) + ":" + kv.value);
                       // Written after the first page was read: not in the later pages.
                       if (sizes.size() == 1) client_->put(a + "122x", "late");
                     });
  EXPECT_EQ(revision, at);
  // Pages of 5, 10 then the rest of a; then b.
  EXPECT_THAT(sizes, ElementsAre(5, 10, 8, 3));
  ASSERT_THAT(keys, SizeIs(26));
  EXPECT_EQ(keys[0], "0:a0");
  EXPECT_EQ(keys[22], "0:a22");
  EXPECT_EQ(keys[25], "1:b2");
}

TEST_F(EtcdSourceTest, RangePagesStopsAtAFailureOfEitherSide) {
  const std::string a = layout_.prefix() + "a/";
  for (int i = 0; i < 30; ++i)
    client_->put(a + std::to_string(100 + i), "v");
  ClientOptions o;
  o.endpoints = {etcd_->url()};
  Client reader(o);
  int64_t revision = 0;
  int pages = 0;
  // The handler throws: no page after it, and the reader thread is joined.
  EXPECT_THROW(reader.range_pages({{a, prefix_end(a)}}, 2, &revision,
                                  [&](std::size_t, std::vector<KeyValue>&) {
                                    if (++pages == 2) throw std::runtime_error("stop");
                                  }),
               std::runtime_error);
  EXPECT_EQ(pages, 2);
  // A read etcd refuses (a revision it has not reached) ends with its error.
  revision = client_->range(a, "", 1, 0).revision + 1000;
  pages = 0;
  EXPECT_THROW(reader.range_pages({{a, prefix_end(a)}}, 2, &revision,
                                  [&](std::size_t, std::vector<KeyValue>&) { ++pages; }),
               EtcdError);
  EXPECT_EQ(pages, 0);
}

TEST_F(EtcdSourceTest, PutUpdateDeleteOfServicesSlicesAndPodsArePublished) {
  EtcdSource src(options());
  std::atomic<int> notified{0};
  src.start([&] { ++notified; });
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return s.services.empty(); }));

  put(Resource::Service, "default", "web", service_json("default", "web", "10.96.0.10"));
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "web") == "10.96.0.10"; }));
  put(Resource::Service, "default", "web", service_json("default", "web", "10.96.0.11"));
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "web") == "10.96.0.11"; }));

  put(Resource::EndpointSlice, "default", "web-1",
      slice_json("default", "web-1", "web", {"10.1.0.1", "10.1.0.2"}));
  EXPECT_TRUE(wait_for_state(
      src, [](const RegistryState& s) { return endpoints_of(s, "default", "web").size() == 2; }));
  put(Resource::EndpointSlice, "default", "web-1", slice_json("default", "web-1", "web", {"10.1.0.3"}));
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) {
    return endpoints_of(s, "default", "web") == std::vector<std::string>{"10.1.0.3"};
  }));
  del(Resource::EndpointSlice, "default", "web-1");
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return s.endpoint_sets.empty(); }));

  put(Resource::Pod, "default", "p", pod_json("default", "p", "10.2.0.1", {}, true));
  EXPECT_TRUE(wait_for_state(
      src, [](const RegistryState& s) { return s.pods.size() == 1 && s.pods[0].ip == "10.2.0.1"; }));
  put(Resource::Pod, "default", "p", pod_json("default", "p", "10.2.0.2", {}, false));
  EXPECT_TRUE(
      wait_for_state(src, [](const RegistryState& s) { return s.pods.size() == 1 && !s.pods[0].ready; }));
  del(Resource::Pod, "default", "p");
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return s.pods.empty(); }));

  del(Resource::Service, "default", "web");
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return s.services.empty(); }));
  EXPECT_GE(notified.load(), 9);
}

TEST_F(EtcdSourceTest, AMalformedValueIsLoggedWithItsKeyAndSkipped) {
  LogCapture log;
  put(Resource::Service, "default", "good", service_json("default", "good", "10.96.0.1"));
  put(Resource::Service, "default", "bad", "{not json");
  EtcdSource src(options());
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "good") == "10.96.0.1"; }));
  EXPECT_EQ(find_service(*src.state(), "default", "bad"), nullptr);
  const std::string bad_key = layout_.key(Resource::Service, "default", "bad");
  EXPECT_THAT(log.lines("ignored " + bad_key), SizeIs(1));

  // The key becomes good, then bad again: the bad write leaves the last good version; the rest applies.
  put(Resource::Service, "default", "bad", service_json("default", "bad", "10.96.0.2"));
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "bad") == "10.96.0.2"; }));
  put(Resource::Service, "default", "bad", service_json("default", "other-name", "10.96.0.3"));
  put(Resource::Service, "default", "good", service_json("default", "good", "10.96.0.4"));
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "good") == "10.96.0.4"; }));
  EXPECT_EQ(ip_of(*src.state(), "bad"), "10.96.0.2");
  std::vector<std::string> lines = log.lines("ignored " + bad_key);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("metadata.name 'other-name' does not match"));
  EXPECT_THAT(lines[1], ::testing::HasSubstr("its last good version stays"));
  EXPECT_EQ(src.stats().malformed, 2u);
}

TEST_F(EtcdSourceTest, ASelectorServiceGainsAndLosesEndpointsAsPodsChange) {
  EtcdSource src(options());
  src.start([] {});
  put(Resource::Service, "default", "api", service_json("default", "api", "None", {{"app", "api"}}));
  put(Resource::Pod, "default", "api-1", pod_json("default", "api-1", "10.3.0.1", {{"app", "api"}}, false));
  put(Resource::Pod, "default", "other", pod_json("default", "other", "10.3.0.9", {{"app", "db"}}, true));
  auto eps = [&](std::vector<std::string> want) {
    return wait_for_state(src,
                          [&](const RegistryState& s) { return endpoints_of(s, "default", "api") == want; });
  };
  EXPECT_TRUE(eps({"10.3.0.1!"}));  // selected, not ready yet
  put(Resource::Pod, "default", "api-1", pod_json("default", "api-1", "10.3.0.1", {{"app", "api"}}, true));
  EXPECT_TRUE(eps({"10.3.0.1"}));
  put(Resource::Pod, "default", "api-2", pod_json("default", "api-2", "10.3.0.2", {{"app", "api"}}, true));
  EXPECT_TRUE(eps({"10.3.0.1", "10.3.0.2"}));
  del(Resource::Pod, "default", "api-1");
  EXPECT_TRUE(eps({"10.3.0.2"}));
  del(Resource::Pod, "default", "api-2");
  EXPECT_TRUE(eps({}));
}

TEST_F(EtcdSourceTest, OneEventChangesOneObjectAndTheRestIsShared) {
  for (int i = 0; i < 600; ++i)
    put(Resource::Service, "default", "s" + std::to_string(i),
        service_json("default", "s" + std::to_string(i), "10.96.1." + std::to_string(i % 250)));
  EtcdSource src(options());
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return s.services.size() == 600; }));
  auto before = src.state();
  put(Resource::Service, "default", "s7", service_json("default", "s7", "10.96.2.7"));
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return ip_of(s, "s7") == "10.96.2.7"; }));
  auto after = src.state();
  EXPECT_EQ(ip_of(*before, "s7"), "10.96.1.7");  // a published state never changes
  // The state is updated in place, not rebuilt: every chunk but the one holding s7 is the same.
  size_t changed = 0;
  ObjectTable<Service>::diff(before->services, after->services,
                             [&](const Service*, const Service*) { ++changed; });
  EXPECT_EQ(changed, 1u);
  EXPECT_GE(after->services.shared_chunks(before->services), 3u);
  EXPECT_EQ(after->services.find({"default", "s8"}), before->services.find({"default", "s8"}));
}

TEST_F(EtcdSourceTest, StopEndsAnIdleWatchPromptly) {
  EtcdSource src(options());
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState&) { return true; }));
  std::this_thread::sleep_for(100ms);
  auto t0 = Clock::now();
  src.stop();
  EXPECT_LT(Clock::now() - t0, 1s);
  src.stop();  // idempotent
}

// Time from sending a put to the published state holding it, over 200 puts (printed; the target is
// p99 < 50 ms).
TEST_F(EtcdSourceTest, FreshnessFromPutToPublishedState) {
  EtcdSource src(options());
  std::mutex m;
  std::condition_variable cv;
  src.start([&] {
    { std::lock_guard lock(m); }  // no lost wake-up between the waiter's check and its wait
    cv.notify_all();
  });
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState&) { return true; }));
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    const std::string ip = "10.97." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    auto t0 = Clock::now();
    put(Resource::Service, "default", "fresh", service_json("default", "fresh", ip));
    std::unique_lock lock(m);
    bool seen = cv.wait_for(lock, 5s, [&] {
      auto st = src.state();
      return st && ip_of(*st, "fresh") == ip;
    });
    ASSERT_TRUE(seen) << "put " << i << " not seen";
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double p50 = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100], max = ms.back();
  std::printf(
      "etcd freshness (put sent -> state published), 200 puts: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", p50,
      p99, max);
  EXPECT_LT(p99, 500.0);  // generous: the machine is shared; the figure above is the measurement
}

}  // namespace
}  // namespace clusterdns::discovery::etcd
