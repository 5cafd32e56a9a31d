// Kubernetes API objects slimmed into the model (same field rules as manifests), and watch-line framing.
#include "discovery/k8s/objects.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/k8s/api_client.hpp"
#include "discovery/k8s/cluster_access.hpp"
#include "discovery/k8s/watch_stream.hpp"

namespace clusterdns::discovery::k8s {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A Service as `kubectl get svc -o json` prints it, list-item style (no kind/apiVersion), with the bulk
// (managedFields, last-applied annotation, status) that slimming must drop.
json api_service() {
  return json::parse(R"({
    "metadata": {"name": "web", "namespace": "shop", "uid": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      "resourceVersion": "4711", "creationTimestamp": "2024-05-01T10:00:00Z", "labels": {"app": "web"},
      "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\"}",
                      "service.alpha.kubernetes.io/tolerate-unready-endpoints": "true"},
      "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1",
                         "fieldsV1": {"f:spec": {"f:ports": {}}}}]},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.7.8", "clusterIPs": ["10.96.7.8", "fd00::7:8"],
      "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack", "sessionAffinity": "None",
      "internalTrafficPolicy": "Cluster", "selector": {"app": "web"},
      "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "web", "appProtocol": "http"},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}]},
    "status": {"loadBalancer": {}}})");
}

TEST(K8sObjects, ServiceKeepsWhatDnsNeeds) {
  json obj = api_service();
  SlimResult r = slim_object(Kind::Service, obj);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.key, "shop/web");
  ASSERT_TRUE(r.object);
  const Service& s = std::get<Service>(*r.object);
  EXPECT_EQ(s.ns, "shop");
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.kind, ServiceKind::ClusterIp);
  EXPECT_THAT(s.cluster_ips, ElementsAre("10.96.7.8", "fd00::7:8"));
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[0].name, "http");
  EXPECT_EQ(s.ports[0].target_port, "web");
  EXPECT_EQ(s.ports[1].protocol, Protocol::Udp);
  EXPECT_EQ(s.ports[1].target_port, "5353");
  EXPECT_TRUE(s.publish_not_ready);  // from the tolerate-unready annotation
  EXPECT_EQ(s.selector.at("app"), "web");
}

TEST(K8sObjects, HeadlessAndExternalName) {
  json headless = {{"metadata", {{"name", "db"}, {"namespace", "x"}}},
                   {"spec", {{"clusterIP", "None"}, {"clusterIPs", {"None"}}}}};
  SlimResult h = slim_object(Kind::Service, headless);
  ASSERT_TRUE(h.object);
  EXPECT_EQ(std::get<Service>(*h.object).kind, ServiceKind::Headless);

  json ext = {{"kind", "Service"},
              {"apiVersion", "v1"},
              {"metadata", {{"name", "ext"}}},
              {"spec", {{"type", "ExternalName"}, {"externalName", "Example.COM."}}}};
  SlimResult e = slim_object(Kind::Service, ext);
  ASSERT_TRUE(e.object);
  EXPECT_EQ(e.key, "default/ext");  // no namespace means "default"
  EXPECT_EQ(std::get<Service>(*e.object).external_name, "example.com");

  json ip = {{"metadata", {{"name", "ipext"}}},
             {"spec", {{"type", "ExternalName"}, {"externalName", "1.2.3.4"}}}};
  SlimResult i = slim_object(Kind::Service, ip);
  EXPECT_EQ(i.error, "");
  EXPECT_FALSE(i.object);  // left out on purpose, as in manifests
  EXPECT_THAT(i.note, HasSubstr("IP address"));
}

TEST(K8sObjects, EndpointSliceV1) {
  json slice = json::parse(R"({"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
    "metadata": {"name": "web-abc12", "namespace": "shop", "generateName": "web-",
      "labels": {"kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "x"},
      "ownerReferences": [{"kind": "Service", "name": "web", "uid": "u"}]},
    "addressType": "IPv4",
    "endpoints": [
      {"addresses": ["10.1.0.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
       "hostname": "web-0", "targetRef": {"kind": "Pod", "namespace": "shop", "name": "web-0", "uid": "p"},
       "nodeName": "n1", "zone": "a"},
      {"addresses": ["10.1.0.6"], "conditions": {"ready": false}},
      {"addresses": ["10.1.0.7"]}],
    "ports": [{"name": "http", "protocol": "TCP", "port": 8080, "appProtocol": "http"}]})");
  SlimResult r = slim_object(Kind::EndpointSlice, slice);
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.object);
  const EndpointSet& set = std::get<EndpointSet>(*r.object);
  EXPECT_EQ(set.service_name, "web");
  ASSERT_EQ(set.endpoints.size(), 3u);
  EXPECT_EQ(set.endpoints[0].hostname, "web-0");
  EXPECT_FALSE(set.endpoints[1].ready);
  EXPECT_TRUE(set.endpoints[2].ready);  // absent ready = ready
  ASSERT_EQ(set.ports.size(), 1u);
  EXPECT_EQ(set.ports[0].port, 8080);
}

TEST(K8sObjects, NamespaceAndPod) {
  json ns = {{"metadata", {{"name", "shop"}, {"labels", {{"kubernetes.io/metadata.name", "shop"}}}}},
             {"spec", {{"finalizers", {"kubernetes"}}}},
             {"status", {{"phase", "Active"}}}};
  SlimResult n = slim_object(Kind::Namespace, ns);
  ASSERT_TRUE(n.object);
  EXPECT_EQ(n.key, "shop");
  EXPECT_EQ(std::get<std::string>(*n.object), "shop");

  json pod = json::parse(R"({"metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"},
      "deletionTimestamp": "2024-05-01T10:00:00Z"},
    "spec": {"hostname": "web-0", "subdomain": "web", "nodeName": "n1",
      "containers": [{"name": "c", "image": "nginx", "env": [{"name": "A", "value": "b"}],
                      "ports": [{"name": "web", "containerPort": 8080, "protocol": "TCP"}]}]},
    "status": {"phase": "Running", "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}], "hostIP": "192.0.2.1",
      "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]}})");
  SlimResult p = slim_object(Kind::Pod, pod);
  ASSERT_EQ(p.error, "");
  ASSERT_TRUE(p.object);
  const Pod& slim = std::get<Pod>(*p.object);
  EXPECT_EQ(slim.ip, "10.1.0.5");
  EXPECT_TRUE(slim.ready);
  EXPECT_TRUE(slim.terminating);
  EXPECT_EQ(slim.subdomain, "web");
  ASSERT_EQ(slim.container_ports.size(), 1u);
  EXPECT_EQ(slim.container_ports[0].name, "web");
}

TEST(K8sObjects, MalformedObjectsAreRejectedWithTheirKey) {
  json bad_ip = {{"metadata", {{"name", "web"}, {"namespace", "a"}}},
                 {"spec", {{"clusterIP", "10.0.0.300"}}}};
  SlimResult r = slim_object(Kind::Service, bad_ip);
  EXPECT_EQ(r.key, "a/web");
  EXPECT_FALSE(r.object);
  EXPECT_THAT(r.error, HasSubstr("10.0.0.300"));

  json no_name = {{"metadata", {{"namespace", "a"}}}};
  EXPECT_THAT(slim_object(Kind::Service, no_name).error, HasSubstr("metadata.name"));
  json not_object = json::array();
  EXPECT_FALSE(slim_object(Kind::Pod, not_object).object);
  json unjoined = {{"metadata", {{"name", "s"}}}, {"addressType", "IPv4"}};
  EXPECT_THAT(slim_object(Kind::EndpointSlice, unjoined).error, HasSubstr("kubernetes.io/service-name"));
}

TEST(K8sWatchStream, LinesSplitAcrossPiecesAndPartialTailHeldBack) {
  LineSplitter split(1024);
  std::vector<std::string> lines;
  auto on_line = [&](std::string& l) {
    lines.push_back(l);
    return true;
  };
  std::string stream = "{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":";
  for (char c : stream)
    ASSERT_TRUE(split.feed(&c, 1, on_line));  // one byte at a time: chunks are not messages
  EXPECT_THAT(lines, ElementsAre("{\"a\":1}", "{\"b\":2}"));
  EXPECT_EQ(split.pending(), 5u);  // the cut event is never handed out
  split.discard();
  EXPECT_EQ(split.pending(), 0u);

  LineSplitter small(8);
  EXPECT_FALSE(small.feed("0123456789", 10, on_line));
  EXPECT_TRUE(small.overflowed());
}

TEST(K8sWatchStream, StopsWhenTheHandlerSaysSo) {
  LineSplitter split(1024);
  int seen = 0;
  EXPECT_FALSE(split.feed("a\nb\nc\n", 6, [&](std::string&) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
}

TEST(K8sHelpers, Base64AndUrlEncoding) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVs\nbG8h"), "hello!");
  EXPECT_EQ(base64_decode("aGVsbA=="), "hell");
  EXPECT_FALSE(base64_decode("not base64!"));
  EXPECT_EQ(url_encode("app in (a,b),tier!=x"), "app%20in%20%28a%2Cb%29%2Ctier%21%3Dx");
}

}  // namespace
}  // namespace clusterdns::discovery::k8s
