// Readiness (sources, lameduck), the reconfigurable snapshot pipeline, reload settings, logging format.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "dns/wire/types.hpp"
#include "ops/runtime/logging.hpp"
#include "ops/runtime/readiness.hpp"
#include "ops/runtime/reload.hpp"
#include "ops/runtime/snapshot_pipeline.hpp"
#include "ops/runtime/sources.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/responder.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;
using namespace clusterdns::ops;
using ::testing::HasSubstr;

namespace {

class FakeSource : public discovery::RegistrySource {
 public:
  explicit FakeSource(std::string name) : name_(std::move(name)) {}
  void start(Listener l) override { listener_ = std::move(l); }
  void stop() override {}
  bool has_synced() const override { return state_ != nullptr; }
  std::shared_ptr<const discovery::RegistryState> state() const override { return state_; }
  uint64_t generation() const override { return generation_; }
  std::string name() const override { return name_; }
  Health health() const override { return health_; }
  Health health_;
  void publish(discovery::RegistryState s) {
    state_ = std::make_shared<const discovery::RegistryState>(std::move(s));
    ++generation_;
    if (listener_) listener_();
  }

 private:
  std::string name_;
  Listener listener_;
  std::shared_ptr<const discovery::RegistryState> state_;
  uint64_t generation_ = 0;
};

discovery::RegistryState one_service() {
  discovery::RegistryState s;
  s.namespaces = {"default"};
  discovery::Service svc;
  svc.ns = "default";
  svc.name = "my-nginx";
  svc.cluster_ips = {"10.0.162.149"};
  svc.ports = {{"", 80, discovery::Protocol::Tcp, ""}};
  s.services.push_back(svc);
  return s;
}

testutil::Decoded ask(zones::Responder& r, const std::string& name) {
  const auto q = testutil::make_query({.name = name, .type = rrtype::A});
  std::vector<uint8_t> out(65535);
  dns::QueryContext ctx;
  const size_t n = r.answer(q, out, ctx);
  return testutil::decode(out.data(), n);
}

}  // namespace

TEST(Readiness, SourcesThenLameduck) {
  FakeSource a("file:a"), b("etcd:b");
  Sources sources;
  sources.add(a);
  sources.add(b);
  int notified = 0;
  a.start(sources.listener(0, [&] { ++notified; }));
  Readiness r(sources);
  EXPECT_EQ(r.ready().status, 503);
  EXPECT_EQ(r.ready().body, "not ready: waiting for the first sync of file:a, etcd:b");
  a.publish(one_service());
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(r.ready().body, "not ready: waiting for the first sync of etcd:b");
  b.publish({});
  EXPECT_EQ(r.ready().status, 200);
  EXPECT_EQ(r.ready().body, "OK");
  const auto st = sources.status();
  EXPECT_GE(st[0].seconds_since_event, 0);
  EXPECT_LT(st[1].seconds_since_event, 0);  // b had no listener of ours
  EXPECT_EQ(sources.state()->services.size(), 1u);
  r.enter_lameduck();
  EXPECT_EQ(r.ready().status, 503);
  EXPECT_THAT(r.ready().body, HasSubstr("lameduck"));
}

TEST(Readiness, ASilentWatchFailsReadyUntilHeardAgain) {
  FakeSource k8s("kubernetes:in-cluster"), files("file:a");
  Sources sources;
  sources.add(k8s);
  sources.add(files);
  k8s.publish(one_service());
  files.publish({});
  Readiness r(sources);
  files.health_.stale = true;  // a refused manifest: the last good state still serves, still ready
  EXPECT_EQ(r.ready().status, 200);
  k8s.health_.stale = true;  // a watch failed and is being retried: not yet beyond its idle timeout
  EXPECT_EQ(r.ready().status, 200);
  k8s.health_.silent = true;
  EXPECT_EQ(r.ready().status, 503);
  EXPECT_THAT(r.ready().body, HasSubstr("kubernetes:in-cluster silent beyond the watch idle timeout"));
  EXPECT_THAT(r.ready().body, ::testing::Not(HasSubstr("file:a")));
  k8s.health_ = {};
  EXPECT_EQ(r.ready().status, 200);
}

TEST(SnapshotPipeline, ReconfigureRebuildsWithTheNewTtl) {
  FakeSource source("file:x");
  source.publish(one_service());
  zones::SnapshotHolder holder;
  zones::BuildConfig config;
  config.cluster.ttl = 30;
  SnapshotPipeline pipeline(holder, config, [&] { return source.state(); });
  source.start([&] { pipeline.notify(); });
  pipeline.start();
  zones::Responder responder(holder, {});
  auto d = ask(responder, "my-nginx.default.svc.cluster.local");
  ASSERT_EQ(d.answer.size(), 1u);
  EXPECT_EQ(d.answer[0], "my-nginx.default.svc.cluster.local. 30 IN A 10.0.162.149");
  config.cluster.ttl = 7;
  pipeline.reconfigure(config);  // published before it returns
  d = ask(responder, "my-nginx.default.svc.cluster.local");
  ASSERT_EQ(d.answer.size(), 1u);
  EXPECT_EQ(d.answer[0], "my-nginx.default.svc.cluster.local. 7 IN A 10.0.162.149");
  config.cluster.domain = "example.internal";
  pipeline.reconfigure(config);
  EXPECT_EQ(ask(responder, "my-nginx.default.svc.example.internal").answer.size(), 1u);
  EXPECT_GE(pipeline.stats().builds, 3u);
  pipeline.stop();
}

TEST(SnapshotPipeline, ASyncDuringTheFirstBuildIsNotLost) {
  FakeSource source("file:x");
  zones::SnapshotHolder holder;
  int calls = 0;  // the builder calls the state function on one thread at a time
  SnapshotPipeline pipeline(holder, {}, [&] {
    auto before = source.state();                     // not synced yet
    if (calls++ == 0) source.publish(one_service());  // the source syncs while the first build runs
    return before;
  });
  source.start([&] { pipeline.notify(); });
  pipeline.start();
  zones::Responder responder(holder, {});
  for (int i = 0; i < 100 && ask(responder, "my-nginx.default.svc.cluster.local").answer.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ask(responder, "my-nginx.default.svc.cluster.local").answer.size(), 1u);
  pipeline.stop();
}

TEST(SnapshotPipeline, EventsDuringReconfigureAreNotLost) {
  FakeSource source("file:x");
  source.publish({});
  zones::SnapshotHolder holder;
  SnapshotPipeline pipeline(holder, {}, [&] { return source.state(); });
  source.start([&] { pipeline.notify(); });
  pipeline.start();
  zones::Responder responder(holder, {});
  std::thread t([&] {
    for (int i = 0; i < 20; ++i)
      pipeline.reconfigure({});
  });
  source.publish(one_service());
  t.join();
  for (int i = 0; i < 100 && ask(responder, "my-nginx.default.svc.cluster.local").answer.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ask(responder, "my-nginx.default.svc.cluster.local").answer.size(), 1u);
}

TEST(Reload, AppliesReloadableAndReportsTheRest) {
  FakeSource source("file:x");
  source.publish(one_service());
  zones::SnapshotHolder holder;
  SnapshotPipeline pipeline(holder, {}, [&] { return source.state(); });
  pipeline.start();
  QueryMetrics metrics;
  Settings s;
  s.args = {{"--ttl", "30", "c.yaml", 1}, {"--listen", "127.0.0.1:53", "c.yaml", 2}};
  s.reloadable = {"--ttl"};
  SettingsApplier applier(s, pipeline, metrics);
  Settings next = s;
  next.build.cluster.ttl = 5;
  next.lameduck = std::chrono::milliseconds(3000);
  next.args = {{"--ttl", "5", "c.yaml", 1}, {"--listen", "127.0.0.2:53", "c.yaml", 2}};
  applier.apply(next);
  EXPECT_EQ(applier.lameduck(), std::chrono::milliseconds(3000));
  EXPECT_EQ(pipeline.config().cluster.ttl, 5u);
  reconfigure_logging("info", "text");
}

TEST(Logging, JsonLinesEscapeTheMessage) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("jsontest", sink);
  setup_logging("info", "json");
  spdlog::register_logger(logger);
  reconfigure_logging("info", "json");
  logger->info("say \"hi\"");
  const std::string line = out.str();
  EXPECT_THAT(line, HasSubstr(R"("level":"info","logger":"jsontest","msg":"say \"hi\""})"));
  spdlog::drop("jsontest");
  reconfigure_logging("info", "text");
}
