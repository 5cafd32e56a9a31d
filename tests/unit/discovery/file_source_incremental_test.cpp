// FileSource / FileRegistry: a change re-reads only its file, in-place rewrites are never seen half-written,
// duplicates across files, namespace counts, capped errors.
#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "discovery/files/file_registry.hpp"
#include "discovery/files/file_source.hpp"
#include "tests/unit/discovery/temp_dir.hpp"

namespace clusterdns::discovery {
namespace {

namespace fs = std::filesystem;
using files::FileRegistry;
using test_support::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string service(const std::string& name, const std::string& ip, const std::string& ns = "default") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns +
         "}\nspec: {clusterIP: " + ip + "}\n";
}

std::string many_services(int n, const std::string& prefix) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += "---\n" + service(prefix + std::to_string(i),
                              "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
  return text;
}

bool wait_until(const std::function<bool()>& done) {
  for (auto start = Clock::now(); Clock::now() - start < std::chrono::seconds(5);) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// `kubectl get -o yaml > f`: the file is truncated, then written in pieces with pauses. IN_MODIFY must
// not trigger a reload (the old source re-read after 20 ms of quiet and served the truncated file);
// IN_CLOSE_WRITE does.
TEST(FileSourceIncremental, InPlaceRewriteIsNeverPublishedHalfWritten) {
  TempDir dir;
  const std::string text = service("web", "10.0.0.1") + many_services(300, "pad");
  dir.write("a.yaml", text);
  FileSource src(dir.str());
  std::atomic<int> without_web{0}, publishes{0};
  src.start([&] {
    ++publishes;
    auto st = src.state();
    if (!st || !st->services.find({"default", "web"})) ++without_web;
  });
  ASSERT_TRUE(src.state()->services.find({"default", "web"}));

  const std::string next =
      many_services(300, "pad") + "---\n" + service("web", "10.0.0.2");  // web comes last
  int fd = open(dir.str("a.yaml").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0);
  const size_t piece = next.size() / 8 + 1;
  for (size_t at = 0; at < next.size(); at += piece) {
    const size_t n = std::min(piece, next.size() - at);
    ASSERT_EQ(write(fd, next.data() + at, n), static_cast<ssize_t>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
  }
  close(fd);
  ASSERT_TRUE(wait_until([&] {
    auto st = src.state();
    const Service* web = st->services.find({"default", "web"});
    return web && web->cluster_ips[0] == "10.0.0.2" && publishes.load() >= 2;  // the listener runs after
  }));
  EXPECT_EQ(without_web.load(), 0);
  EXPECT_EQ(publishes.load(), 2);  // the initial load and the closed file
}

// A change to a small file beside a big one re-reads only the small file: the big file's objects keep
// their chunks (a copy of the state is O(chunks), the zone builder then rebuilds only what moved).
TEST(FileSourceIncremental, SmallFileChangeLeavesTheBigFilesObjectsShared) {
  TempDir dir;
  dir.write("big.yaml", many_services(2000, "big"));
  dir.write("small.yaml", service("zzz", "10.0.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  auto before = src.state();
  ASSERT_EQ(before->services.size(), 2001u);
  dir.write("small.yaml", service("zzz", "10.0.0.2"));
  ASSERT_TRUE(wait_until([&] { return src.generation() > 1; }));
  auto after = src.state();
  EXPECT_EQ(after->services.find({"default", "zzz"})->cluster_ips[0], "10.0.0.2");
  size_t chunks = 0;
  ObjectTable<Service>::diff(before->services, after->services,
                             [&](const Service*, const Service*) { ++chunks; });
  EXPECT_EQ(chunks, 1u);  // only zzz differs
  EXPECT_GE(after->services.shared_chunks(before->services) + 1,
            (after->services.size() + ObjectTable<Service>::kMaxChunk - 1) / ObjectTable<Service>::kMaxChunk);
}

// An editor's swap file or a tool's temporary dot-file beside the manifests is not a reason to re-read
// them all (only the kubelet's "..data" swaps are); the small file's change is then the only read.
TEST(FileSourceIncremental, AHiddenFileBesideTheManifestsReadsNothing) {
  TempDir dir;
  dir.write("big.yaml", many_services(2000, "big"));
  dir.write("small.yaml", service("zzz", "10.0.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  ASSERT_EQ(src.state()->services.size(), 2001u);
  const uint64_t read_before = src.files_read();
  dir.write(".small.yaml.swp", "not yaml at all: [");
  dir.write(".new.tmp", service("zzz", "10.0.0.3"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the watcher has seen both
  dir.write("small.yaml", service("zzz", "10.0.0.2"));
  ASSERT_TRUE(wait_until([&] { return src.generation() > 1; }));
  EXPECT_EQ(src.state()->services.find({"default", "zzz"})->cluster_ips[0], "10.0.0.2");
  EXPECT_EQ(src.files_read(), read_before + 1);
  EXPECT_TRUE(src.last_errors().empty());
}

// Selector-derived endpoints follow a pod edited in another file (update_selector_endpoints per change).
TEST(FileSourceIncremental, SelectorEndpointsFollowAPodInAnotherFile) {
  TempDir dir;
  dir.write(
      "svc.yaml",
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: None, selector: {app: web}, "
      "ports: [{name: http, port: 80}]}\n");
  const auto pod = [](const std::string& ip) {
    return "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {app: web}}\nspec: {}\nstatus: {podIP: " +
           ip + ", phase: Running, conditions: [{type: Ready, status: 'True'}]}\n";
  };
  dir.write("pod.yaml", pod("10.1.0.1"));
  FileSource src(dir.str());
  src.start(nullptr);
  const auto address = [&]() -> std::string {
    std::string out;
    src.state()->endpoint_sets.for_each_in("default", [&](const EndpointSet& e) {
      if (e.service_name == "web" && !e.endpoints.empty()) out = e.endpoints[0].addresses[0];
    });
    return out;
  };
  EXPECT_EQ(address(), "10.1.0.1");
  dir.write("pod.yaml", pod("10.1.0.2"));
  EXPECT_TRUE(wait_until([&] { return address() == "10.1.0.2"; }));
  fs::remove(dir.path() / "pod.yaml");
  EXPECT_TRUE(wait_until([&] { return address().empty(); }));
}

TEST(FileRegistry, DuplicateAcrossFilesNamesBothPositionsAndTakesOverWhenTheFirstGoes) {
  FileRegistry reg;
  reg.update("a.yaml", service("web", "10.0.0.1"));
  auto out = reg.update("b.yaml", "# b\n" + service("web", "10.0.0.2"));
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].to_string(), "b.yaml:2: Service default/web: defined twice (first at a.yaml:1)");
  EXPECT_EQ(reg.state().services.find({"default", "web"})->cluster_ips[0], "10.0.0.1");
  EXPECT_TRUE(reg.remove("a.yaml"));
  EXPECT_EQ(reg.state().services.find({"default", "web"})->cluster_ips[0], "10.0.0.2");
  EXPECT_TRUE(reg.remove("b.yaml"));
  EXPECT_TRUE(reg.state().services.empty());
}

// Ownership moves down the files in the order they defined the object, and back to one file's alone.
TEST(FileRegistry, ThreeFilesDefiningOneServiceHandItOnInTheOrderTheyDefinedIt) {
  FileRegistry reg;
  const auto ip = [&] { return reg.state().services.find({"default", "web"})->cluster_ips[0]; };
  reg.update("a.yaml", service("web", "10.0.0.1"));
  EXPECT_EQ(reg.update("b.yaml", service("web", "10.0.0.2")).errors.size(), 1u);
  auto out = reg.update("c.yaml", "# c\n" + service("web", "10.0.0.3"));
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].to_string(), "c.yaml:2: Service default/web: defined twice (first at a.yaml:1)");
  EXPECT_EQ(ip(), "10.0.0.1");
  EXPECT_TRUE(reg.remove("a.yaml"));
  EXPECT_EQ(ip(), "10.0.0.2");
  out = reg.update("a.yaml", "# a\n# again\n" + service("web", "10.0.0.1"));  // now the last to define it
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].to_string(), "a.yaml:3: Service default/web: defined twice (first at b.yaml:1)");
  EXPECT_EQ(ip(), "10.0.0.2");
  EXPECT_FALSE(reg.update("c.yaml", service("web", "10.0.0.4")).changed) << "c does not own it";
  EXPECT_TRUE(reg.update("b.yaml", service("web", "10.0.0.5")).changed);
  EXPECT_EQ(ip(), "10.0.0.5");
  EXPECT_TRUE(reg.remove("b.yaml"));
  EXPECT_EQ(ip(), "10.0.0.4");
  EXPECT_TRUE(reg.remove("c.yaml"));
  EXPECT_EQ(ip(), "10.0.0.1");
  // a.yaml's alone again: its changes apply, and its removal removes the Service.
  EXPECT_TRUE(reg.update("a.yaml", service("web", "10.0.0.6")).changed);
  EXPECT_EQ(ip(), "10.0.0.6");
  out = reg.update("b.yaml", service("web", "10.0.0.7"));
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.errors[0].to_string(), "b.yaml:1: Service default/web: defined twice (first at a.yaml:1)");
  EXPECT_TRUE(reg.remove("a.yaml"));
  EXPECT_EQ(ip(), "10.0.0.7");
  EXPECT_TRUE(reg.remove("b.yaml"));
  EXPECT_TRUE(reg.state().services.empty());
}

TEST(FileRegistry, NamespaceLivesWhileAnyFileNamesIt) {
  FileRegistry reg;
  reg.update("a.yaml", service("s", "10.0.0.1", "x"));
  reg.update("b.yaml",
             service("t", "10.0.0.2", "x") + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: y}\n");
  EXPECT_TRUE(reg.state().namespaces.find({"", "x"}));
  EXPECT_TRUE(reg.state().namespaces.find({"", "y"}));
  reg.remove("a.yaml");
  EXPECT_TRUE(reg.state().namespaces.find({"", "x"}));
  reg.update("b.yaml", service("t", "10.0.0.2", "z"));
  EXPECT_FALSE(reg.state().namespaces.find({"", "x"}));
  EXPECT_FALSE(reg.state().namespaces.find({"", "y"}));
  EXPECT_TRUE(reg.state().namespaces.find({"", "z"}));
}

// A `kind: List` of 10,000 aliases of one Service: one object, 9,999 duplicates, 21 lines.
TEST(FileRegistry, ErrorsAreCappedPerFile) {
  std::string text =
      "apiVersion: v1\nkind: List\nitems:\n- &s {apiVersion: v1, kind: Service, metadata: {name: a}, "
      "spec: {clusterIP: 10.0.0.1}}\n";
  for (int i = 0; i < 9999; ++i)
    text += "- *s\n";
  FileRegistry reg;
  auto out = reg.update("list.yaml", text);
  EXPECT_EQ(reg.state().services.size(), 1u);
  EXPECT_GE(out.rejected, 9999u);
  ASSERT_EQ(out.errors.size(), FileRegistry::kMaxErrorsPerFile + 1);
  EXPECT_THAT(out.errors.back().reason, HasSubstr("more problems"));
  EXPECT_EQ(reg.errors().size(), FileRegistry::kMaxErrorsPerFile + 1);
}

// The API server accepts Service names that are DNS-1123 labels ("1kubernetes"); an invalid object is
// skipped on its own, named with file:line, and counted, while the rest of its file applies.
TEST(FileRegistry, LeadingDigitNamesAreAcceptedAndAnInvalidObjectIsSkippedAlone) {
  FileRegistry reg;
  auto out = reg.update("a.yaml", service("1kubernetes", "10.0.0.1", "0ns") + "---\n" +
                                      service("Bad_Name", "10.0.0.2") + "---\n" + service("ok", "10.0.0.3"));
  EXPECT_TRUE(reg.state().services.find({"0ns", "1kubernetes"}));
  EXPECT_TRUE(reg.state().services.find({"default", "ok"}));
  EXPECT_EQ(reg.state().services.size(), 2u);
  ASSERT_EQ(out.errors.size(), 1u);
  EXPECT_EQ(out.rejected, 1u);
  EXPECT_EQ(out.errors[0].line, 8);
  EXPECT_THAT(out.errors[0].reason, HasSubstr("Service default/Bad_Name: metadata.name 'Bad_Name'"));
}

}  // namespace
}  // namespace clusterdns::discovery
