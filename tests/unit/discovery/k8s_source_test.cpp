// KubeSource against k8s_test_apiserver: objects added, changed and deleted; filters; pods; TLS and auth.
#include "discovery/k8s/kube_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "discovery/source.hpp"
#include "tests/k8s_api/source_fixture.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using ::testing::ElementsAre;

using K8sSource = KubeSourceTest;

TEST_F(K8sSource, ServicesSlicesAndNamespacesFollowTheApi) {
  start_server();
  server->apply(service_object("shop", "web", "10.96.0.10"));
  server->apply(slice_object("shop", "web-1", "web", {"10.1.0.1"}));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "shop", "web") != nullptr; }));
  EXPECT_TRUE(source->has_synced());
  auto st = source->state();
  EXPECT_TRUE(has_namespace(*st, "shop"));
  EXPECT_TRUE(has_namespace(*st, "kube-system"));  // from the Namespace objects
  ASSERT_NE(find_slice(*st, "shop", "web-1"), nullptr);
  EXPECT_EQ(find_slice(*st, "shop", "web-1")->endpoints[0].addresses[0], "10.1.0.1");
  uint64_t gen = source->generation();

  // add
  server->apply(service_object("shop", "api", "10.96.0.11"));
  server->apply(namespace_object("empty"));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return find_service(st, "shop", "api") != nullptr && has_namespace(st, "empty");
  }));
  EXPECT_GT(source->generation(), gen);
  // modify
  server->apply(service_object("shop", "api", "10.96.0.11", 8443, "https"));
  server->apply(slice_object("shop", "web-1", "web", {"10.1.0.1", "10.1.0.2"}));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    auto* api = find_service(st, "shop", "api");
    auto* slice = find_slice(st, "shop", "web-1");
    return api && api->ports[0].port == 8443 && slice && slice->endpoints.size() == 2;
  }));
  // delete
  server->remove("Service", "shop", "web");
  server->remove("EndpointSlice", "shop", "web-1");
  server->remove("Namespace", "", "empty");
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return !find_service(st, "shop", "web") && !find_slice(st, "shop", "web-1") &&
           !has_namespace(st, "empty");
  }));
  // Deleting a namespace deletes what it holds.
  server->remove("Namespace", "", "shop");
  ASSERT_TRUE(
      eventually([](const RegistryState& st) { return st.services.empty() && !has_namespace(st, "shop"); }));
}

TEST_F(K8sSource, MalformedObjectIsSkippedAndTheRestApplies) {
  start_server();
  json bad = service_object("a", "bad", "10.96.0.5");
  bad["spec"]["ports"][0]["name"] = "Not_A_Port_Name";
  server->apply(bad);
  server->apply(service_object("a", "good", "10.96.0.6"));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "a", "good") != nullptr; }));
  EXPECT_EQ(find_service(*source->state(), "a", "bad"), nullptr);
  EXPECT_GE(source->stats().malformed, 1u);
  // A bad modification keeps the last good version of that object.
  json worse = service_object("a", "good", "10.96.0.6", 81);
  worse["spec"]["ports"][0]["name"] = "BAD";
  server->apply(worse);
  server->apply(service_object("a", "later", "10.96.0.7"));
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "a", "later") != nullptr; }));
  EXPECT_EQ(find_service(*source->state(), "a", "good")->ports[0].port, 80);
}

TEST_F(K8sSource, OneEventChangesOneObjectAndTheRestIsShared) {
  start_server();
  for (int i = 0; i < 600; ++i)
    server->apply(service_object("a", "s" + std::to_string(i), "10.96.1." + std::to_string(i % 250)));
  start_source(access());
  ASSERT_TRUE(eventually([](const RegistryState& st) { return st.services.size() == 600; }));
  auto before = source->state();
  server->apply(service_object("a", "s7", "10.96.2.7"));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    auto* s = find_service(st, "a", "s7");
    return s && s->cluster_ips[0] == "10.96.2.7";
  }));
  auto after = source->state();
  EXPECT_EQ(find_service(*before, "a", "s7")->cluster_ips[0], "10.96.1.7");  // published states never change
  // Applied in place, not rebuilt: only s7 differs, every other object is the one published before.
  size_t changed = 0;
  discovery::ObjectTable<discovery::Service>::diff(
      before->services, after->services,
      [&](const discovery::Service*, const discovery::Service*) { ++changed; });
  EXPECT_EQ(changed, 1u);
  EXPECT_EQ(after->services.find({"a", "s8"}), before->services.find({"a", "s8"}));
  EXPECT_TRUE(has_namespace(*after, "a"));
}

TEST_F(K8sSource, NamespaceFilterAndServiceLabelSelector) {
  start_server();
  json web = service_object("a", "web", "10.96.0.1");
  web["metadata"]["labels"]["tier"] = "front";
  server->apply(web);
  server->apply(service_object("a", "db", "10.96.0.2"));
  json other = service_object("b", "web", "10.96.0.3");
  other["metadata"]["labels"]["tier"] = "front";
  server->apply(other);
  KubeSourceOptions o = fast_options();
  o.namespaces = {"a"};
  o.service_label_selector = "tier in (front,edge)";
  start_source(access(), o);
  ASSERT_TRUE(wait_synced());
  auto st = source->state();
  ASSERT_EQ(st->services.size(), 1u);
  EXPECT_EQ(st->services[0].ns + "/" + st->services[0].name, "a/web");
  EXPECT_THAT(st->namespaces, ElementsAre("a"));
}

TEST_F(K8sSource, PodsAndSelectorEndpointsWhenAsked) {
  start_server();
  server->apply(service_object("a", "web", "10.96.0.1", 8080));
  server->apply(pod_object("a", "web-0", "10.1.0.1", {{"app", "web"}}, true));
  KubeSourceOptions o = fast_options();
  o.selector_endpoints = true;
  start_source(access(), o);
  ASSERT_TRUE(eventually(
      [](const RegistryState& st) { return st.pods.size() == 1 && st.endpoint_sets.size() == 1; }));
  server->apply(pod_object("a", "web-1", "10.1.0.2", {{"app", "web"}}, true));
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return st.endpoint_sets.size() == 1 && st.endpoint_sets[0].endpoints.size() == 2;
  }));
  server->remove("Pod", "a", "web-0");
  ASSERT_TRUE(eventually([](const RegistryState& st) {
    return st.endpoint_sets.size() == 1 && st.endpoint_sets[0].endpoints.size() == 1;
  }));
}

TEST_F(K8sSource, KubeconfigWithTokenFileThroughMakeSource) {
  start_server(ServerOptions{"s3cret"});
  server->apply(service_object("a", "web", "10.96.0.1"));
  dir.write("token", "s3cret\n");
  std::string config =
      dir.write("kubeconfig", kubeconfig_text(server->url(), json::object(), {{"tokenFile", "token"}}));
  std::string error;
  auto src = discovery::make_source("kubeconfig:" + config, error);
  ASSERT_TRUE(src) << error;
  src->start([] {});
  bool seen = false;
  for (int i = 0; i < 5000 && !seen; ++i) {
    auto st = src->state();
    seen = st && find_service(*st, "a", "web") != nullptr;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  src->stop();
  EXPECT_TRUE(seen);
}

TEST_F(K8sSource, HttpsWithCaDataAndClientCertificate) {
  TestCerts certs;
  ASSERT_EQ(make_test_certs(dir.path(), certs), "");
  start_server(ServerOptions{"", &certs, true});
  server->apply(service_object("a", "web", "10.96.0.1"));
  std::string config = dir.write(
      "kubeconfig",
      kubeconfig_text(server->url(), {{"certificate-authority-data", base64(read_text(certs.ca_cert))}},
                      {{"client-certificate-data", base64(read_text(certs.client_cert))},
                       {"client-key-data", base64(read_text(certs.client_key))}}));
  std::string error;
  auto a = discovery::load_kubeconfig(config, "", error);
  ASSERT_TRUE(a) << error;
  start_source(*a);
  ASSERT_TRUE(eventually([](const RegistryState& st) { return find_service(st, "a", "web") != nullptr; }));
}

TEST_F(K8sSource, HttpsIsVerifiedAlways) {
  TestCerts certs;
  ASSERT_EQ(make_test_certs(dir.path(), certs), "");
  start_server(ServerOptions{"", &certs});
  ClusterAccess a = access();  // no CA: the system roots do not know the test CA
  start_source(a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_FALSE(source->has_synced());
  EXPECT_EQ(lists_of("services"), 0u);  // the handshake failed before any request
  source->stop();

  a.ca_file = certs.client_cert;  // a CA file that did not sign the server's certificate
  start_source(a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_FALSE(source->has_synced());
}

TEST_F(K8sSource, InClusterServiceAccount) {
  TestCerts certs;
  ASSERT_EQ(make_test_certs(dir.path(), certs), "");
  start_server(ServerOptions{"pod-token", &certs});
  server->apply(service_object("kube-system", "kube-dns", "10.96.0.10", 53, "dns"));
  ScratchDir sa;
  sa.write("token", "pod-token");
  sa.write("ca.crt", read_text(certs.ca_cert));
  ::setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", std::to_string(server->port()).c_str(), 1);
  std::string error;
  auto a = discovery::load_in_cluster(error, sa.path());
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(a) << error;
  start_source(*a);
  ASSERT_TRUE(eventually(
      [](const RegistryState& st) { return find_service(st, "kube-system", "kube-dns") != nullptr; }));
}

TEST_F(K8sSource, StopEndsEveryThreadPromptly) {
  start_server();
  start_source(access());
  ASSERT_TRUE(wait_synced());
  auto t0 = std::chrono::steady_clock::now();
  source->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  source->stop();  // idempotent
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
