// Reading manifests from disk: directory walking rules, and the shipped examples/ cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discovery/files/manifest_parser.hpp"
#include "discovery/selector_endpoints.hpp"
#include "tests/unit/discovery/temp_dir.hpp"

namespace clusterdns::discovery {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string service(const std::string& name, const std::string& ip) {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: " + ip + "}\n";
}

std::vector<std::string> service_names(const RegistryState& st) {
  std::vector<std::string> out;
  for (const Service& s : st.services)
    out.push_back(s.name);
  return out;
}

const Service* find_service(const RegistryState& st, const std::string& ns, const std::string& name) {
  for (const Service& s : st.services) {
    if (s.ns == ns && s.name == name) return &s;
  }
  return nullptr;
}

std::vector<const EndpointSet*> sets_of(const RegistryState& st, const std::string& service) {
  std::vector<const EndpointSet*> out;
  for (const EndpointSet& set : st.endpoint_sets) {
    if (set.service_name == service) out.push_back(&set);
  }
  return out;
}

TEST(ManifestFiles, DirectoryIsWalkedRecursivelyInPathOrder) {
  TempDir dir;
  dir.write("b.yaml", service("b", "10.0.0.2"));
  dir.write("a.yml", service("a", "10.0.0.1"));
  dir.write("sub/c.json", R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},
                              "spec": {"clusterIP": "10.0.0.3"}})");
  dir.write("sub/deeper/d.YAML", service("d", "10.0.0.4"));
  dir.write("notes.txt", "not: a manifest\n");
  dir.write(".hidden.yaml", service("hidden", "10.0.0.5"));
  dir.write("..data/e.yaml", service("configmap-tree", "10.0.0.6"));
  dir.write(".git/x.yaml", "{{{{ broken");
  ParseResult r = parse_manifests(dir.str());
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(service_names(r.state), ElementsAre("a", "b", "c", "d"));
}

TEST(ManifestFiles, ErrorsNameTheFileTheyComeFrom) {
  TempDir dir;
  dir.write("ok.yaml", service("ok", "10.0.0.1"));
  dir.write("sub/bad.yaml", "# header\n" + service("bad", "10.0.0.999"));
  ParseResult r = parse_manifests(dir.str());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, (dir.path() / "sub/bad.yaml").string());
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_EQ(r.errors[0].reason,
            "Service default/bad: spec.clusterIP: '10.0.0.999' is not a valid IP address");
}

TEST(ManifestFiles, SingleFileIsReadWhateverItsExtension) {
  TempDir dir;
  dir.write("cluster.conf", service("x", "10.0.0.1"));
  ParseResult r = parse_manifests((dir.path() / "cluster.conf").string());
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(service_names(r.state), ElementsAre("x"));
}

TEST(ManifestFiles, MissingPathIsAnError) {
  ParseResult r = parse_manifests("/nonexistent/clusterdns/manifests");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "/nonexistent/clusterdns/manifests: no such file or directory");
}

TEST(ManifestFiles, EmptyDirectoryIsAnEmptyRegistry) {
  TempDir dir;
  ParseResult r = parse_manifests(dir.str());
  EXPECT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.state.services, IsEmpty());
}

TEST(ManifestFiles, ExamplesParseCleanly) {
  ParseResult r = parse_manifests(CLUSTERDNS_SOURCE_DIR "/examples");
  ASSERT_THAT(r.errors, IsEmpty());
  EXPECT_THAT(r.warnings, IsEmpty());
  const RegistryState& st = r.state;
  EXPECT_THAT(st.namespaces, ElementsAre("default", "kube-system"));
  EXPECT_EQ(st.services.size(), 7u);
  EXPECT_EQ(st.pods.size(), 7u);
  EXPECT_EQ(st.endpoint_sets.size(), 3u);  // kubernetes, my-nginx, web

  const Service* nginx = find_service(st, "default", "my-nginx");
  ASSERT_NE(nginx, nullptr);
  EXPECT_THAT(nginx->cluster_ips, ElementsAre("10.0.162.149"));
  ASSERT_EQ(nginx->ports.size(), 1u);
  EXPECT_EQ(nginx->ports[0].name, "http");
  EXPECT_EQ(nginx->ports[0].port, 80);

  const Service* kubernetes = find_service(st, "default", "kubernetes");
  ASSERT_NE(kubernetes, nullptr);
  EXPECT_THAT(kubernetes->cluster_ips, ElementsAre("10.0.0.1"));
  ASSERT_EQ(sets_of(st, "kubernetes").size(), 1u);
  EXPECT_THAT(sets_of(st, "kubernetes")[0]->endpoints[0].addresses, ElementsAre("192.168.0.10"));
  EXPECT_EQ(sets_of(st, "kubernetes")[0]->ports[0].port, 6443);

  const Service* dns = find_service(st, "kube-system", "kube-dns");
  ASSERT_NE(dns, nullptr);
  EXPECT_THAT(dns->cluster_ips, ElementsAre("10.0.0.10"));
  ASSERT_EQ(dns->ports.size(), 3u);
  EXPECT_EQ(dns->ports[0].protocol, Protocol::Udp);
  EXPECT_EQ(dns->ports[1].name, "dns-tcp");
  EXPECT_EQ(dns->ports[2].port, 9153);

  const Service* web = find_service(st, "default", "web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->kind, ServiceKind::Headless);
  ASSERT_EQ(sets_of(st, "web").size(), 1u);
  const EndpointSet& web_set = *sets_of(st, "web")[0];
  ASSERT_EQ(web_set.endpoints.size(), 3u);
  EXPECT_EQ(web_set.endpoints[2].hostname, "web-2");
  EXPECT_FALSE(web_set.endpoints[2].ready);

  const Service* ext = find_service(st, "default", "ext-search");
  ASSERT_NE(ext, nullptr);
  EXPECT_EQ(ext->kind, ServiceKind::ExternalName);
  EXPECT_EQ(ext->external_name, "search.example.com");

  const Service* dual = find_service(st, "default", "dual");
  ASSERT_NE(dual, nullptr);
  EXPECT_THAT(dual->cluster_ips, ElementsAre("10.0.55.5", "fd00:10:96::55"));

  // api has a selector and pods but no slice: its endpoints are derived.
  ASSERT_TRUE(sets_of(st, "api").empty());
  RegistryState derived = st;
  compute_selector_endpoints(derived);
  std::vector<const EndpointSet*> api = sets_of(derived, "api");
  ASSERT_EQ(api.size(), 1u);
  ASSERT_EQ(api[0]->endpoints.size(), 2u);
  EXPECT_THAT(api[0]->endpoints[0].addresses, ElementsAre("10.244.2.20"));
  EXPECT_THAT(api[0]->endpoints[1].addresses, ElementsAre("10.244.3.21"));
  ASSERT_EQ(api[0]->ports.size(), 1u);
  EXPECT_EQ(api[0]->ports[0].port, 8080);       // targetPort "http" → the pods' container port
  EXPECT_EQ(derived.endpoint_sets.size(), 4u);  // kube-dns selects no pod: no set
}

}  // namespace
}  // namespace clusterdns::discovery
