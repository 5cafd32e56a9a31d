// EtcdSource when etcd goes away: kill -9 and restart, compaction while cut off, a silent peer, failover.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discovery/etcd/etcd_source.hpp"
#include "discovery/etcd/testing/fixtures.hpp"
#include "discovery/etcd/testing/local_etcd.hpp"
#include "discovery/etcd/testing/tcp_proxy.hpp"

namespace clusterdns::discovery::etcd {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // the etcd test support
using ::testing::ElementsAre;
using ::testing::SizeIs;
using Clock = std::chrono::steady_clock;

class EtcdResilienceTest : public ::testing::Test {
 protected:
  // A fresh etcd per test: these tests kill, restart and compact it.
  void SetUp() override {
    if (!etcd_installed()) GTEST_SKIP() << "etcd is not installed (Debian etcd-server)";
    etcd_ = std::make_unique<LocalEtcd>();
    client_ = std::make_unique<Client>(client_options({etcd_->url()}));
  }
  static ClientOptions client_options(std::vector<std::string> urls) {
    ClientOptions o;
    o.endpoints = std::move(urls);
    o.connect_timeout = 1s;
    o.request_timeout = 2s;
    return o;
  }
  static EtcdSourceOptions options(std::vector<std::string> urls) {
    EtcdSourceOptions o;
    o.client = client_options(std::move(urls));
    o.read_timeout = 3s;  // etcd runs with 1 s progress notifications
    o.backoff_initial = 50ms;
    o.backoff_max = 400ms;
    return o;
  }
  void put_service(const std::string& name, const std::string& ip) {
    client_->put(layout_.key(Resource::Service, "default", name), service_json("default", name, ip));
  }
  static bool has(const RegistryState& st, const std::string& name) {
    return find_service(st, "default", name) != nullptr;
  }
  // Bounded: waits until stats satisfy pred.
  static bool wait_stats(const EtcdSource& src, const std::function<bool(const EtcdSource::Stats&)>& pred,
                         std::chrono::milliseconds limit = 8s) {
    for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(5ms)) {
      if (pred(src.stats())) return true;
    }
    return false;
  }

  std::unique_ptr<LocalEtcd> etcd_;
  std::unique_ptr<Client> client_;
  Layout layout_;
};

TEST_F(EtcdResilienceTest, KillNineKeepsTheLastStateAndAChangeAfterRestartIsSeen) {
  LogCapture log;
  put_service("a", "10.96.0.1");
  EtcdSource src(options({etcd_->url()}));
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return has(s, "a"); }));
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));

  etcd_->kill9();
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return !s.connected; }));
  const uint64_t generation = src.generation();
  std::this_thread::sleep_for(1500ms);  // several back-off rounds against a dead port
  ASSERT_NE(src.state(), nullptr);
  EXPECT_TRUE(has(*src.state(), "a"));
  EXPECT_TRUE(src.has_synced());
  EXPECT_EQ(src.generation(), generation);                           // nothing published while etcd is gone
  EXPECT_THAT(log.lines("keeping the last good state"), SizeIs(1));  // once per state change, not per retry

  etcd_->restart();
  put_service("b", "10.96.0.2");
  client_->delete_range(layout_.key(Resource::Service, "default", "a"), "");
  EXPECT_TRUE(wait_for_state(
      src, [](const RegistryState& s) { return has(s, "b") && !has(s, "a"); }, 10s));
  EXPECT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));
  EXPECT_EQ(src.stats().full_ranges, 1u);  // resumed the watch from its revision: no re-read
  EXPECT_THAT(log.lines("watching again"), SizeIs(1));
}

TEST_F(EtcdResilienceTest, CompactionPastTheWatchRevisionWhileCutOffRecovers) {
  TcpProxy proxy(etcd_->port());
  put_service("a", "10.96.0.1");
  put_service("b", "10.96.0.2");
  EtcdSource src(options({proxy.url()}));
  src.start([] {});
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return has(s, "a") && has(s, "b"); }));
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));

  proxy.set_mode(TcpProxy::Mode::Refuse);
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return !s.connected; }));
  put_service("c", "10.96.0.3");
  client_->delete_range(layout_.key(Resource::Service, "default", "a"), "");
  put_service("b", "10.96.0.22");
  int64_t rev = client_->range(layout_.prefix(), "", 1, 0).revision;
  client_->compact(rev);  // every revision the source has not seen is gone
  proxy.set_mode(TcpProxy::Mode::Forward);

  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) {
    const Service* b = find_service(s, "default", "b");
    return has(s, "c") && !has(s, "a") && b && b->cluster_ips[0] == "10.96.0.22";
  }));
  EtcdSource::Stats stats = src.stats();
  EXPECT_GE(stats.compactions_seen, 1u);
  EXPECT_EQ(stats.full_ranges, 2u);
  put_service("d", "10.96.0.4");  // and the new watch works
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return has(s, "d"); }));
}

TEST_F(EtcdResilienceTest, AReadAfterCompactionKeepsUnchangedObjectsAndSelectorEndpoints) {
  TcpProxy proxy(etcd_->port());
  for (int i = 0; i < 300; ++i)  // more than one chunk of each table
    put_service("s" + std::to_string(i), "10.96.1." + std::to_string(i % 250 + 1));
  client_->put(layout_.key(Resource::Service, "default", "api"),
               service_json("default", "api", "None", {{"app", "api"}}));
  client_->put(layout_.key(Resource::Pod, "default", "api-1"),
               pod_json("default", "api-1", "10.3.0.1", {{"app", "api"}}, true));
  // And in a namespace nothing changes in while the source is cut off.
  client_->put(layout_.key(Resource::Service, "team", "db"),
               service_json("team", "db", "None", {{"app", "db"}}));
  client_->put(layout_.key(Resource::Pod, "team", "db-1"),
               pod_json("team", "db-1", "10.4.0.1", {{"app", "db"}}, true));
  EtcdSource src(options({proxy.url()}));
  src.start([] {});
  ASSERT_TRUE(
      wait_for_state(src, [](const RegistryState& s) { return has(s, "api") && s.services.size() == 302; }));
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));
  const auto before = src.state();
  EXPECT_THAT(endpoints_of(*before, "default", "api"), ElementsAre("10.3.0.1"));

  proxy.set_mode(TcpProxy::Mode::Refuse);
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return !s.connected; }));
  put_service("s7", "10.96.2.7");
  client_->delete_range(layout_.key(Resource::Service, "default", "s8"), "");
  client_->put(layout_.key(Resource::Pod, "default", "api-2"),
               pod_json("default", "api-2", "10.3.0.2", {{"app", "api"}}, true));
  client_->compact(client_->range(layout_.prefix(), "", 1, 0).revision);
  proxy.set_mode(TcpProxy::Mode::Forward);

  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) { return !has(s, "s8"); }));
  ASSERT_EQ(src.stats().full_ranges, 2u);
  const auto after = src.state();
  EXPECT_THAT(after->services, SizeIs(301));
  EXPECT_EQ(find_service(*after, "default", "s7")->cluster_ips[0], "10.96.2.7");
  // What did not change is the very object the last state held: the zone builder sees only the changes.
  EXPECT_EQ(after->services.find_ptr({"default", "s9"}), before->services.find_ptr({"default", "s9"}));
  EXPECT_NE(after->services.find_ptr({"default", "s7"}), before->services.find_ptr({"default", "s7"}));
  // Selector endpoints are computed for the state read afresh.
  EXPECT_THAT(endpoints_of(*after, "default", "api"), ElementsAre("10.3.0.1", "10.3.0.2"));
  EXPECT_THAT(endpoints_of(*after, "team", "db"), ElementsAre("10.4.0.1"));
  EXPECT_THAT(after->namespaces, ElementsAre("default", "team"));
}

TEST_F(EtcdResilienceTest, ASilentPeerIsDetectedByTheReadTimeout) {
  TcpProxy proxy(etcd_->port());
  EtcdSourceOptions o = options({proxy.url()});
  o.read_timeout = 1500ms;
  EtcdSource src(o);
  src.start([] {});
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));

  auto t0 = Clock::now();
  proxy.set_mode(TcpProxy::Mode::Blackhole);  // the connection stays open; nothing comes through
  ASSERT_TRUE(wait_stats(
      src, [](const EtcdSource::Stats& s) { return !s.connected; }, 6s));
  auto detected = Clock::now() - t0;
  EXPECT_GE(detected, 1s);  // not before the read timeout (progress notifications would have come)
  EXPECT_LT(detected, 4s);
  put_service("x", "10.96.0.9");
  proxy.set_mode(TcpProxy::Mode::Forward);
  EXPECT_TRUE(wait_for_state(
      src, [](const RegistryState& s) { return has(s, "x"); }, 10s));
  // The services watcher can deliver "x" before the last watcher's "created" message, which is
  // when a watch counts as started: wait for it rather than read the counter at once.
  EXPECT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.watches_started >= 2; }));
}

// Health: the malformed value is counted, a blackholed peer makes the source stale at once (no stream)
// and silent after read_timeout without a message, and both clear when etcd is heard again.
TEST_F(EtcdResilienceTest, HealthCountsRejectedValuesAndReportsASilentPeer) {
  TcpProxy proxy(etcd_->port());
  client_->put(layout_.key(Resource::Service, "default", "broken"), "{not json");
  put_service("a", "10.96.0.1");
  EtcdSourceOptions o = options({proxy.url()});
  o.read_timeout = 1500ms;
  EtcdSource src(o);
  EXPECT_EQ(src.health().last_applied_unix_ms, 0);
  src.start([] {});
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));
  RegistrySource::Health h = src.health();
  EXPECT_EQ(h.rejected, 1u);
  EXPECT_GT(h.last_applied_unix_ms, 0);
  EXPECT_FALSE(h.stale);
  EXPECT_FALSE(h.silent);

  proxy.set_mode(TcpProxy::Mode::Blackhole);
  auto wait_health = [&](auto pred) {
    for (auto end = Clock::now() + 8s; Clock::now() < end; std::this_thread::sleep_for(5ms)) {
      if (pred(src.health())) return true;
    }
    return false;
  };
  EXPECT_TRUE(wait_health([](const RegistrySource::Health& x) { return x.silent && x.stale; }));
  proxy.set_mode(TcpProxy::Mode::Forward);
  EXPECT_TRUE(wait_health([](const RegistrySource::Health& x) { return !x.silent && !x.stale; }));
}

TEST_F(EtcdResilienceTest, FailsOverToTheNextEndpoint) {
  TcpProxy first(etcd_->port()), second(etcd_->port());
  const std::string dead = "http://127.0.0.1:" + std::to_string(free_loopback_port());
  EtcdSource src(options({dead, first.url(), second.url()}));
  src.start([] {});
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.connected; }));
  EXPECT_EQ(second.connections(), 0u);

  first.set_mode(TcpProxy::Mode::Refuse);
  ASSERT_TRUE(wait_stats(src, [](const EtcdSource::Stats& s) { return s.watches_started >= 2; }));
  EXPECT_GE(second.connections(), 1u);
  put_service("moved", "10.96.0.5");
  EXPECT_TRUE(wait_for_state(src, [](const RegistryState& s) { return has(s, "moved"); }));
}

}  // namespace
}  // namespace clusterdns::discovery::etcd
