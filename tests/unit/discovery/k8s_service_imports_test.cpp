// KubeSource and ServiceImports (multicluster.x-k8s.io/v1alpha1) against k8s_test_apiserver: followed when
// asked, never asked otherwise, and a cluster without the CustomResourceDefinition still syncs.
#include "discovery/k8s/kube_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/k8s/objects.hpp"
#include "tests/k8s_api/source_fixture.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using discovery::ImportType;
using discovery::ServiceImport;
using ::testing::ElementsAre;

class K8sServiceImports : public KubeSourceTest {
 protected:
  static KubeSourceOptions import_options() {
    KubeSourceOptions o = fast_options();
    o.watch_service_imports = true;
    return o;
  }
  static ServerOptions with_crd() {
    ServerOptions o;
    o.crds = {kServiceImportCrd};
    return o;
  }
};

const ServiceImport* find_import(const RegistryState& st, const std::string& ns, const std::string& name) {
  for (const auto& i : st.service_imports) {
    if (i.ns == ns && i.name == name) return &i;
  }
  return nullptr;
}

TEST(K8sServiceImportObject, SlimmedToWhatDnsReads) {
  json obj = service_import_object("shop", "web", {"10.42.0.7"}, 80, "http");
  obj["metadata"]["annotations"] = {{"note", std::string(4096, 'x')}};
  obj["spec"]["ports"][0]["appProtocol"] = "http";
  discovery::k8s::SlimResult r = discovery::k8s::slim_object(discovery::k8s::Kind::ServiceImport, obj);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_TRUE(r.object);
  EXPECT_EQ(r.key, "shop/web");
  const auto& i = std::get<ServiceImport>(*r.object);
  EXPECT_EQ(i.type, ImportType::ClusterSetIp);
  EXPECT_THAT(i.ips, ElementsAre("10.42.0.7"));
  ASSERT_EQ(i.ports.size(), 1u);
  EXPECT_EQ(i.ports[0].name, "http");
  EXPECT_EQ(i.ports[0].port, 80);

  json headless = service_import_object("shop", "db", {});
  r = discovery::k8s::slim_object(discovery::k8s::Kind::ServiceImport, headless);
  ASSERT_TRUE(r.object) << r.error;
  EXPECT_EQ(std::get<ServiceImport>(*r.object).type, ImportType::Headless);

  json bad = service_import_object("shop", "bad", {"10.42.0.8"});
  bad["spec"]["type"] = "LoadBalancer";
  r = discovery::k8s::slim_object(discovery::k8s::Kind::ServiceImport, bad);
  EXPECT_FALSE(r.object);
  EXPECT_THAT(r.error, ::testing::HasSubstr("spec.type 'LoadBalancer'"));
}

TEST_F(K8sServiceImports, CreatedChangedAndDeletedThroughTheApi) {
  start_server(with_crd());
  server->apply(service_import_object("shop", "web", {"10.42.0.7"}));
  server->apply(multicluster_slice_object("shop", "web-a", "web", "cluster-a", {{"web-0", "10.1.0.7"}}));
  start_source(access(), import_options());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_import(st, "shop", "web") != nullptr; }));
  EXPECT_EQ(lists_of("serviceimports"), 1u);
  const auto* slice = find_slice(*source->state(), "shop", "web-a");
  ASSERT_NE(slice, nullptr);
  EXPECT_EQ(slice->multicluster_service, "web");
  EXPECT_EQ(slice->source_cluster, "cluster-a");

  server->apply(service_import_object("shop", "web", {"10.42.0.8"}, 8080, "alt"));
  server->apply(service_import_object("shop", "db", {}));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    const auto* web = find_import(st, "shop", "web");
    const auto* db = find_import(st, "shop", "db");
    return web && web->ips == std::vector<std::string>{"10.42.0.8"} && web->ports[0].port == 8080 && db &&
           db->type == ImportType::Headless;
  }));

  server->remove("ServiceImport", "shop", "web");
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return find_import(st, "shop", "web") == nullptr && find_import(st, "shop", "db") != nullptr;
  }));
  EXPECT_EQ(source->stats().absent, 0u);
  EXPECT_FALSE(source->health().stale);
}

TEST_F(K8sServiceImports, NotListedUnlessAsked) {
  start_server(with_crd());
  server->apply(service_import_object("shop", "web", {"10.42.0.7"}));
  server->apply(service_object("shop", "svc", "10.96.0.9"));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "shop", "svc") != nullptr; }));
  EXPECT_TRUE(source->state()->service_imports.empty());
  EXPECT_EQ(lists_of("serviceimports"), 0u);
}

TEST_F(K8sServiceImports, WithoutTheCrdTheSourceSyncsAndTakesItWhenInstalled) {
  start_server();  // no CustomResourceDefinition: /apis/multicluster.x-k8s.io/… answers 404
  server->apply(service_object("shop", "svc", "10.96.0.9"));
  int status = 0;
  server->control("apply", service_import_object("shop", "web", {"10.42.0.7"}), &status);
  EXPECT_EQ(status, 404);  // no such kind while the definition is missing
  start_source(access(), import_options());
  ASSERT_TRUE(wait_synced());
  ASSERT_NE(find_service(*source->state(), "shop", "svc"), nullptr);
  EXPECT_TRUE(source->state()->service_imports.empty());
  EXPECT_GE(source->stats().absent, 1u);
  EXPECT_FALSE(source->health().stale);  // a cluster without multicluster services is not a failure
  EXPECT_FALSE(source->health().silent);

  // Installed later: picked up at the next list (back-off at most 500 ms here).
  server->control("crd", {{"name", kServiceImportCrd}, {"installed", true}});
  server->apply(service_import_object("shop", "web", {"10.42.0.7"}));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_import(st, "shop", "web") != nullptr; }));
  server->apply(service_import_object("shop", "web", {"10.42.0.9"}));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    const auto* web = find_import(st, "shop", "web");
    return web && web->ips == std::vector<std::string>{"10.42.0.9"};
  }));

  // Removed again: its objects go (DELETED events), the watch ends, the list answers 404 again.
  const uint64_t absent = source->stats().absent;
  server->control("crd", {{"name", kServiceImportCrd}, {"installed", false}});
  ASSERT_TRUE(eventually([](const RegistryState& st) { return st.service_imports.empty(); }));
  ASSERT_TRUE(eventually([&](const RegistryState&) { return source->stats().absent > absent; }));
  EXPECT_NE(find_service(*source->state(), "shop", "svc"), nullptr);
  EXPECT_FALSE(source->health().stale);
}

TEST_F(K8sServiceImports, NamespacedWatchesAskPerNamespace) {
  start_server(with_crd());
  server->apply(service_import_object("shop", "web", {"10.42.0.7"}));
  server->apply(service_import_object("other", "hidden", {"10.42.0.8"}));
  KubeSourceOptions o = import_options();
  o.namespaces = {"shop"};
  start_source(access(), o);
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_import(st, "shop", "web") != nullptr; }));
  EXPECT_EQ(find_import(*source->state(), "other", "hidden"), nullptr);
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
