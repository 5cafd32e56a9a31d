// FileSource: initial load, live edits within 100 ms, rejection of broken input, rename and symlink swaps.
#include "discovery/files/file_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "tests/unit/discovery/temp_dir.hpp"

namespace clusterdns::discovery {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Clock = std::chrono::steady_clock;

std::string service(const std::string& name, const std::string& ip) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: " + ip + "}\n";
}

std::vector<std::string> service_names(const std::shared_ptr<const RegistryState>& st) {
  std::vector<std::string> out;
  if (!st) return out;
  for (const Service& s : st->services)
    out.push_back(s.name);
  return out;
}

// Polls (bounded: 2 s) until the source passes generation `after`; returns the delay since `since`.
std::optional<std::chrono::milliseconds> wait_for_generation(const FileSource& src, uint64_t after,
                                                             Clock::time_point since) {
  while (Clock::now() - since < std::chrono::seconds(2)) {
    if (src.generation() > after) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

// Polls (bounded: 2 s) until the source serves exactly `names`.
bool wait_for_names(const FileSource& src, const std::vector<std::string>& names) {
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(2)) {
    if (service_names(src.state()) == names) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

bool wait_for_errors(const FileSource& src) {
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(2)) {
    if (!src.last_errors().empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Asserts that a change shows up as a new generation (bounded: 2 s) and prints the delay. The strict
// 100 ms bound is asserted by EditIsLiveWithin100ms; here a loaded machine must not make tests flaky.
std::chrono::milliseconds expect_live(const FileSource& src, uint64_t before, Clock::time_point since,
                                      const char* what) {
  std::optional<std::chrono::milliseconds> delay = wait_for_generation(src, before, since);
  EXPECT_TRUE(delay.has_value()) << what << ": no new generation within 2 s";
  if (!delay) return std::chrono::milliseconds(2000);
  std::printf("[ delay    ] %s: live after %lld ms\n", what, static_cast<long long>(delay->count()));
  return *delay;
}

// Routes the "discovery" logger into a string for the test's lifetime.
class CapturedLog {
 public:
  CapturedLog() {
    spdlog::drop("discovery");
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    spdlog::register_logger(std::make_shared<spdlog::logger>("discovery", sink));
  }
  ~CapturedLog() { spdlog::drop("discovery"); }
  std::string text() const { return out_.str(); }
  int count(const std::string& needle) const {
    std::string t = text();
    int n = 0;
    for (std::size_t pos = t.find(needle); pos != std::string::npos; pos = t.find(needle, pos + 1))
      ++n;
    return n;
  }

 private:
  std::ostringstream out_;
};

TEST(MakeSource, FileSchemeAndErrors) {
  std::string error;
  EXPECT_EQ(make_source("file:/nonexistent/clusterdns", error), nullptr);
  EXPECT_EQ(error, "file source: no such file or directory: /nonexistent/clusterdns");
  EXPECT_EQ(make_source("consul:http://127.0.0.1:8500", error), nullptr);
  EXPECT_EQ(error,
            "unknown --source 'consul:http://127.0.0.1:8500' (expected file:PATH, etcd:URL[,URL…], "
            "kubernetes or kubeconfig:PATH[#context])");
  EXPECT_EQ(make_source("examples", error), nullptr);
  EXPECT_EQ(error,
            "unknown --source 'examples' (expected file:PATH, etcd:URL[,URL…], kubernetes or "
            "kubeconfig:PATH[#context])");
  error.clear();
  std::unique_ptr<RegistrySource> src = make_source("file:" CLUSTERDNS_SOURCE_DIR "/examples", error);
  ASSERT_NE(src, nullptr);
  EXPECT_EQ(error, "");
  EXPECT_EQ(src->name(), "file:" CLUSTERDNS_SOURCE_DIR "/examples");
  EXPECT_FALSE(src->has_synced());
  EXPECT_EQ(src->state(), nullptr);
}

TEST(FileSource, LoadsExamplesWithSelectorEndpoints) {
  FileSource src(CLUSTERDNS_SOURCE_DIR "/examples");
  src.start(nullptr);
  ASSERT_TRUE(src.has_synced());
  EXPECT_EQ(src.generation(), 1u);
  ASSERT_NE(src.state(), nullptr);
  EXPECT_EQ(src.state()->services.size(), 7u);
  EXPECT_EQ(src.state()->endpoint_sets.size(), 4u);  // three slices + api derived from its selector
  EXPECT_THAT(src.last_errors(), IsEmpty());
  src.stop();
}

TEST(FileSource, PublishesEditsWithin100ms) {
  TempDir dir;
  dir.write("a.yaml", service("a", "10.0.0.1"));
  FileSource src(dir.str());
  std::atomic<int> notified{0};
  src.start([&] { ++notified; });
  ASSERT_TRUE(src.has_synced());
  EXPECT_EQ(src.generation(), 1u);
  EXPECT_THAT(service_names(src.state()), ElementsAre("a"));

  auto t0 = Clock::now();
  dir.write("a.yaml", service("a", "10.0.0.1") + "---\n" + service("b", "10.0.0.2"));
  expect_live(src, 1, t0, "in-place edit");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a", "b"));
  EXPECT_EQ(src.generation(), 2u);

  t0 = Clock::now();
  dir.write("sub/dir/c.yaml", service("c", "10.0.0.3"));  // a new directory, then a file in it
  expect_live(src, 2, t0, "file in a new directory");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a", "b", "c"));

  t0 = Clock::now();
  fs::remove(dir.path() / "a.yaml");
  expect_live(src, 3, t0, "deleted file");
  EXPECT_THAT(service_names(src.state()), ElementsAre("c"));
  src.stop();
  EXPECT_EQ(notified.load(), 4);
}

// A change must be live within 100 ms (debounce 20 ms quiet, 60 ms at most, then a re-parse). Other
// suites may load this 2-core machine, so each of up to 5 edits is timed and the best must be < 100 ms;
// a design that polls or debounces too long fails every time.
TEST(FileSource, EditIsLiveWithin100ms) {
  TempDir dir;
  dir.write("a.yaml", service("a", "10.0.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  ASSERT_EQ(src.generation(), 1u);
  long long best = 1 << 30;
  for (int attempt = 0; attempt < 5 && best >= 100; ++attempt) {
    uint64_t before = src.generation();
    auto t0 = Clock::now();
    dir.write("a.yaml", service("a", "10.0.0." + std::to_string(10 + attempt)));
    best = std::min<long long>(best, expect_live(src, before, t0, "in-place edit").count());
    ASSERT_EQ(src.state()->services[0].cluster_ips.at(0), "10.0.0." + std::to_string(10 + attempt));
  }
  EXPECT_LT(best, 100) << "no edit became live within 100 ms";
}

TEST(FileSource, ReplaceByRename) {
  TempDir dir;
  dir.write("a.yaml", service("a", "10.0.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  auto t0 = Clock::now();
  dir.replace("a.yaml", service("renamed", "10.0.0.9"));
  expect_live(src, 1, t0, "rename over a file in a directory");
  EXPECT_THAT(service_names(src.state()), ElementsAre("renamed"));

  // The same with the source pointed at the file itself.
  FileSource single(dir.str("a.yaml"));
  single.start(nullptr);
  ASSERT_TRUE(single.has_synced());
  t0 = Clock::now();
  dir.replace("a.yaml", service("again", "10.0.0.10"));
  expect_live(single, 1, t0, "rename over the watched file");
  EXPECT_THAT(service_names(single.state()), ElementsAre("again"));
  t0 = Clock::now();
  dir.write("a.yaml", service("in-place", "10.0.0.11"));  // and an in-place edit of the new inode
  expect_live(single, 2, t0, "in-place edit of the watched file");
  // An event of the rename still queued (the old inode's) may make the source read the file between the
  // truncation and the write: a generation with the file empty, then the close's. Wait for the last.
  EXPECT_TRUE(wait_for_names(single, {"in-place"})) << testing::PrintToString(service_names(single.state()));
}

TEST(FileSource, ConfigMapStyleSymlinkSwap) {
  // A ConfigMap volume: cluster.yaml -> ..data/cluster.yaml, ..data -> ..v1; an update renames a new
  // ..data link over the old one.
  TempDir dir;
  dir.write("..v1/cluster.yaml", service("one", "10.0.0.1"));
  dir.write("..v2/cluster.yaml", service("two", "10.0.0.2"));
  fs::create_directory_symlink("..v1", dir.path() / "..data");
  fs::create_symlink("..data/cluster.yaml", dir.path() / "cluster.yaml");
  FileSource src(dir.str("cluster.yaml"));
  src.start(nullptr);
  EXPECT_THAT(service_names(src.state()), ElementsAre("one"));
  auto t0 = Clock::now();
  fs::create_directory_symlink("..v2", dir.path() / "..data_tmp");
  fs::rename(dir.path() / "..data_tmp", dir.path() / "..data");
  expect_live(src, 1, t0, "ConfigMap ..data swap");
  EXPECT_THAT(service_names(src.state()), ElementsAre("two"));
}

TEST(FileSource, InvalidObjectIsLeftOutAndNotYamlKeepsTheFilesLastGoodObjects) {
  CapturedLog log;
  TempDir dir;
  dir.write("a.yaml", service("a", "10.0.0.1"));
  dir.write("b.yaml", service("b", "10.0.0.2") + "---\n" + service("c", "10.0.0.4"));
  FileSource src(dir.str());
  src.start(nullptr);
  ASSERT_THAT(service_names(src.state()), ElementsAre("a", "b", "c"));

  // One invalid object: it alone is left out, the other object of the same file is applied.
  auto t0 = Clock::now();
  dir.write("b.yaml",
            "# broken on purpose\n" + service("b", "10.0.0.300") + "---\n" + service("c", "10.0.0.5"));
  expect_live(src, 1, t0, "a file with one invalid object");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a", "c"));
  EXPECT_EQ(src.state()->services.find({"default", "c"})->cluster_ips[0], "10.0.0.5");
  const std::string expected =
      dir.str("b.yaml") + ":5: Service default/b: spec.clusterIP: '10.0.0.300' is not a valid IP address";
  std::vector<std::string> errors;
  for (const ManifestError& e : src.last_errors())
    errors.push_back(e.to_string());
  EXPECT_THAT(errors, ElementsAre(expected));
  EXPECT_EQ(log.count(expected + "; left out"), 1) << log.text();
  EXPECT_GE(src.health().rejected, 1u);
  EXPECT_FALSE(src.health().stale);

  // Not YAML at all: b.yaml's last good objects stay, a.yaml's change applies.
  const uint64_t gen = src.generation();
  dir.write("b.yaml", "---\n,\n");
  ASSERT_TRUE(wait_for_errors(src));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(src.generation(), gen);
  EXPECT_TRUE(src.health().stale);
  EXPECT_EQ(log.count(dir.str("b.yaml") + ":2: invalid YAML"), 1) << log.text();
  t0 = Clock::now();
  dir.write("a.yaml", service("a2", "10.0.0.1"));
  expect_live(src, gen, t0, "another file while b.yaml is not YAML");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a2", "c"));

  t0 = Clock::now();
  dir.write("b.yaml", service("b", "10.0.0.3"));
  expect_live(src, gen + 1, t0, "fix after a broken edit");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a2", "b"));
  EXPECT_THAT(src.last_errors(), IsEmpty());
  EXPECT_FALSE(src.health().stale);
  EXPECT_GT(src.health().last_applied_unix_ms, 0);
}

TEST(FileSource, InvalidInitialObjectsAreLeftOutAndTheRestServed) {
  CapturedLog log;
  TempDir dir;
  dir.write("a.yaml", "apiVersion: v1\nkind: Service\nmetadata: {}\n");
  dir.write("b.yaml", service("b", "10.0.0.2"));
  FileSource src(dir.str());
  src.start(nullptr);
  EXPECT_TRUE(src.has_synced());
  EXPECT_THAT(service_names(src.state()), ElementsAre("b"));
  ASSERT_EQ(src.last_errors().size(), 1u);
  EXPECT_EQ(src.last_errors()[0].line, 3);
  EXPECT_THAT(log.text(), HasSubstr(dir.str("a.yaml") + ":3: Service: metadata.name is required; left out"));

  auto t0 = Clock::now();
  dir.write("a.yaml", service("a", "10.0.0.1"));
  expect_live(src, 1, t0, "fixed file");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a", "b"));
}

TEST(FileSource, UnchangedContentIsNotRepublished) {
  TempDir dir;
  dir.write("a.yaml", service("a", "10.0.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  dir.write("a.yaml", service("a", "10.0.0.1"));  // same bytes
  dir.write("notes.txt", "not a manifest");       // ignored by name
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(src.generation(), 1u);
}

TEST(FileSource, DeletedPathIsRejectedThenRecovered) {
  TempDir dir;
  dir.write("cfg/a.yaml", service("a", "10.0.0.1"));
  FileSource src(dir.str("cfg"));
  src.start(nullptr);
  // Moved away whole (a `rm -r` would delete its files one by one first: each deletion applies).
  fs::rename(dir.path() / "cfg", dir.path() / "cfg.old");
  ASSERT_TRUE(wait_for_errors(src));
  EXPECT_EQ(src.last_errors()[0].to_string(), dir.str("cfg") + ": no such file or directory");
  EXPECT_THAT(service_names(src.state()), ElementsAre("a"));
  auto t0 = Clock::now();
  dir.write("cfg/b.yaml", service("b", "10.0.0.2"));  // the directory comes back
  ASSERT_TRUE(wait_for_generation(src, 1, t0)) << "re-created directory";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_THAT(service_names(src.state()), ElementsAre("b"));
}

TEST(FileSource, StopIsPromptAndIdempotent) {
  TempDir dir;
  FileSource never_started(dir.str());
  never_started.stop();

  FileSource src(dir.str());
  src.start(nullptr);
  EXPECT_TRUE(src.has_synced());  // an empty directory is an empty registry
  auto t0 = Clock::now();
  src.stop();
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  EXPECT_LT(took.count(), 100);
  src.stop();
  dir.write("a.yaml", service("a", "10.0.0.1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(src.generation(), 1u);  // no longer watching
}

}  // namespace
}  // namespace clusterdns::discovery
