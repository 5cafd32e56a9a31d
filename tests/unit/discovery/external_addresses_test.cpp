// A Service's addresses outside the cluster (spec.externalIPs, status.loadBalancer.ingress) reach the model
// from every source: manifest files, the Kubernetes API (slimmed) and etcd (the API server's stored JSON).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/etcd/etcd_objects.hpp"
#include "discovery/files/manifest_parser.hpp"
#include "discovery/k8s/objects.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> messages(const std::vector<ManifestError>& errors) {
  std::vector<std::string> out;
  for (const ManifestError& e : errors)
    out.push_back(e.to_string());
  return out;
}

// A LoadBalancer Service as `kubectl get svc -o json` prints it once the cloud controller has written its
// status: both ingress forms, ports and ipMode that DNS does not need, two external IPs.
const char* const kLoadBalancer = R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "my-nginx", "namespace": "default", "resourceVersion": "12"},
  "spec": {"type": "LoadBalancer", "clusterIP": "10.0.162.149", "clusterIPs": ["10.0.162.149"],
           "externalIPs": ["198.51.100.7", "2001:DB8::7", "198.51.100.7"],
           "ports": [{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 31080}]},
  "status": {"loadBalancer": {"ingress": [
      {"ip": "203.0.113.10", "ipMode": "VIP", "ports": [{"port": 80, "protocol": "TCP"}]},
      {"hostname": "A1B2.ELB.Example.NET."}]}}})";

void expect_external(const Service& s) {
  // Canonical text, duplicates once, in the object's order.
  EXPECT_THAT(s.external_ips, ElementsAre("198.51.100.7", "2001:db8::7"));
  ASSERT_EQ(s.load_balancer.size(), 2u);
  EXPECT_EQ(s.load_balancer[0].ip, "203.0.113.10");
  EXPECT_EQ(s.load_balancer[0].hostname, "");
  EXPECT_EQ(s.load_balancer[1].ip, "");
  EXPECT_EQ(s.load_balancer[1].hostname, "a1b2.elb.example.net");  // lower case, no trailing dot
  EXPECT_THAT(s.cluster_ips, ElementsAre("10.0.162.149"));
}

TEST(ExternalAddresses, ManifestFile) {
  ParseResult r = parse_manifest_text(kLoadBalancer, "lb.json");
  EXPECT_THAT(messages(r.errors), IsEmpty());
  ASSERT_EQ(r.state.services.size(), 1u);
  expect_external(r.state.services[0]);
}

TEST(ExternalAddresses, ManifestYamlAsUsersWriteIt) {
  ParseResult r = parse_manifest_text(R"(apiVersion: v1
kind: Service
metadata: {name: test, namespace: default}
spec:
  clusterIP: None
  externalIPs:
  - 192.168.200.123
  type: ClusterIP
)",
                                      "t.yaml");
  EXPECT_THAT(messages(r.errors), IsEmpty());
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_EQ(r.state.services[0].kind, ServiceKind::Headless);
  EXPECT_THAT(r.state.services[0].external_ips, ElementsAre("192.168.200.123"));
  EXPECT_THAT(r.state.services[0].load_balancer, IsEmpty());
}

TEST(ExternalAddresses, BadAddressesAreReportedWithTheirPlace) {
  ParseResult r = parse_manifest_text(R"(apiVersion: v1
kind: Service
metadata: {name: bad, namespace: default}
spec:
  clusterIP: 10.0.0.1
  externalIPs: [not-an-ip]
status:
  loadBalancer:
    ingress:
    - ip: 300.1.1.1
    - hostname: 1.2.3.4
    - hostname: under_score.example
    - just-a-string
)",
                                      "t.yaml");
  const auto m = messages(r.errors);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_THAT(m[0],
              HasSubstr("t.yaml:6: Service default/bad: spec.externalIPs[0]: 'not-an-ip' is not a valid"));
  EXPECT_THAT(m[1], HasSubstr(":10: Service default/bad: status.loadBalancer.ingress[0].ip: '300.1.1.1'"));
  EXPECT_THAT(m[2], HasSubstr(":11: Service default/bad: status.loadBalancer.ingress[1].hostname '1.2.3.4'"));
  EXPECT_THAT(m[3], HasSubstr("ingress[2].hostname 'under_score.example' is not a DNS name"));
  EXPECT_THAT(m[4], HasSubstr("ingress[3]: expected a mapping"));
  EXPECT_THAT(r.state.services, IsEmpty());  // a broken object is left out, as with any other field
}

TEST(ExternalAddresses, ExternalNameServicesHaveNone) {
  ParseResult r = parse_manifest_text(R"(apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: www.example.org, externalIPs: [198.51.100.1]}
)",
                                      "t.yaml");
  EXPECT_THAT(messages(r.errors), IsEmpty());
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_THAT(r.state.services[0].external_ips, IsEmpty());
}

TEST(ExternalAddresses, KubernetesApiSlimmingKeepsThem) {
  nlohmann::json obj = nlohmann::json::parse(kLoadBalancer);
  k8s::SlimResult r = k8s::slim_object(k8s::Kind::Service, obj);
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.object);
  expect_external(std::get<Service>(*r.object));
}

TEST(ExternalAddresses, KubernetesApiWithoutStatus) {
  nlohmann::json obj = nlohmann::json::parse(kLoadBalancer);
  obj.erase("status");
  obj["spec"].erase("externalIPs");
  k8s::SlimResult r = k8s::slim_object(k8s::Kind::Service, obj);
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.object);
  EXPECT_THAT(std::get<Service>(*r.object).load_balancer, IsEmpty());
  EXPECT_THAT(std::get<Service>(*r.object).external_ips, IsEmpty());
}

TEST(ExternalAddresses, EtcdStoredObject) {
  etcd::ObjectKey key{etcd::Resource::Service, "default", "my-nginx"};
  etcd::DecodeResult r = etcd::decode_object(key, kLoadBalancer);
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.object);
  expect_external(std::get<Service>(r.object->value));
}

}  // namespace
}  // namespace clusterdns::discovery
