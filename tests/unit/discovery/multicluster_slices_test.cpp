// EndpointSlices of imported services (the Multi-Cluster Services API, KEP-1645): labelled
// multicluster.kubernetes.io/service-name and .../source-cluster, read from manifests and the Kubernetes API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/k8s/objects.hpp"
#include "discovery/objects/json_document.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/service_import.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const char* const kSlice = R"({
  "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "imported-web-cluster-a", "namespace": "test",
               "labels": {"multicluster.kubernetes.io/service-name": "web",
                          "multicluster.kubernetes.io/source-cluster": "cluster-a",
                          "endpointslice.kubernetes.io/managed-by": "lighthouse-agent.submariner.io"}},
  "addressType": "IPv4",
  "endpoints": [{"addresses": ["10.3.0.100"], "hostname": "my-pet-1", "conditions": {"ready": true}}],
  "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]})";

void expect_imported(const EndpointSet& s) {
  EXPECT_EQ(s.service_name, "");  // not a slice of a local service
  EXPECT_EQ(s.multicluster_service, "web");
  EXPECT_EQ(s.source_cluster, "cluster-a");
  ASSERT_EQ(s.endpoints.size(), 1u);
  EXPECT_EQ(s.endpoints[0].hostname, "my-pet-1");
}

TEST(MulticlusterSlices, ManifestWithOnlyTheMulticlusterLabels) {
  ParseResult r = parse_manifest_text(kSlice, "slice.json");
  EXPECT_THAT(r.errors, IsEmpty());
  ASSERT_EQ(r.state.endpoint_sets.size(), 1u);
  expect_imported(r.state.endpoint_sets[0]);
}

TEST(MulticlusterSlices, KubernetesApiSlimmingKeepsTheLabels) {
  nlohmann::json obj = nlohmann::json::parse(kSlice);
  k8s::SlimResult r = k8s::slim_object(k8s::Kind::EndpointSlice, obj);
  ASSERT_EQ(r.error, "");
  ASSERT_TRUE(r.object);
  expect_imported(std::get<EndpointSet>(*r.object));
}

TEST(MulticlusterSlices, ASliceWithNeitherLabelIsStillAnError) {
  nlohmann::json obj = nlohmann::json::parse(kSlice);
  obj["metadata"]["labels"].erase("multicluster.kubernetes.io/service-name");
  ParseResult r = parse_manifest_text(obj.dump(), "slice.json");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].reason, ::testing::HasSubstr("kubernetes.io/service-name'] is required"));
}

// ServiceImport's spec, read by the function the manifest reader calls for kind ServiceImport.
struct ImportRead {
  bool ok = false;
  ServiceImport import;
  std::vector<ManifestError> errors, warnings;
};

ImportRead read_import(const char* json_text) {
  ImportRead r;
  std::string error;
  auto doc = document_from_json(nlohmann::json::parse(json_text), error);
  EXPECT_TRUE(doc) << error;
  if (!doc) return r;
  objects::Fields f("import.json", r.errors, r.warnings, 100000);
  r.ok = objects::read_service_import(doc->root(), f, "test", "myservice", r.import);
  return r;
}

TEST(ServiceImportSpec, ClusterSetIpDualStack) {
  ImportRead r = read_import(R"({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
    "metadata": {"name": "myservice", "namespace": "test"},
    "spec": {"type": "ClusterSetIP", "ips": ["10.42.42.42", "2001:DB8::1"],
             "ports": [{"name": "https", "port": 443, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]},
    "status": {"clusters": [{"cluster": "cluster-a"}, {"cluster": "cluster-b"}]}})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.import.ns, "test");
  EXPECT_EQ(r.import.name, "myservice");
  EXPECT_EQ(r.import.type, ImportType::ClusterSetIp);
  EXPECT_THAT(r.import.ips, ElementsAre("10.42.42.42", "2001:db8::1"));
  ASSERT_EQ(r.import.ports.size(), 2u);
  EXPECT_EQ(r.import.ports[0].name, "https");
  EXPECT_EQ(r.import.ports[1].protocol, Protocol::Udp);
}

TEST(ServiceImportSpec, Headless) {
  ImportRead r = read_import(R"({"spec": {"type": "Headless", "ports": [{"name": "http", "port": 80}]}})");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.import.type, ImportType::Headless);
  EXPECT_THAT(r.import.ips, IsEmpty());
}

TEST(ServiceImportSpec, BadFieldsAreReported) {
  ImportRead r = read_import(R"({"spec": {"type": "LoadBalancer", "ips": ["10.0.0.1", "10.0.0.2", "x"],
    "ports": [{"name": "Not_A_Name", "port": 70000}]}})");
  EXPECT_FALSE(r.ok);
  std::string all;
  for (const auto& e : r.errors)
    all += e.reason + "\n";
  EXPECT_THAT(all, HasSubstr("spec.type 'LoadBalancer' is not one of ClusterSetIP, Headless"));
  EXPECT_THAT(all, HasSubstr("spec.ips[2]"));
  EXPECT_THAT(all, HasSubstr("at most one address per IP family"));
  EXPECT_THAT(all, HasSubstr("spec.ports[0].name"));
  EXPECT_THAT(all, HasSubstr("spec.ports[0].port"));
  EXPECT_FALSE(read_import(R"({"spec": {"ports": []}})").ok);  // type is required
}

TEST(ServiceImportManifest, AManifestFileServesItsImports) {
  ParseResult r = parse_manifest_text(
      "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceImport\n"
      "metadata: {name: web, namespace: test}\n"
      "spec: {type: ClusterSetIP, ips: [10.42.0.7], ports: [{name: http, port: 80, protocol: TCP}]}\n"
      "---\n"
      "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceImport\n"
      "metadata: {name: web, namespace: test}\nspec: {type: Headless}\n",
      "imports.yaml");
  ASSERT_EQ(r.state.service_imports.size(), 1u);
  EXPECT_EQ(r.state.service_imports.front().ips, std::vector<std::string>{"10.42.0.7"});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 6);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("defined twice (first at imports.yaml:1)"));
  EXPECT_EQ(r.state.namespaces.size(), 1u);
}

}  // namespace
}  // namespace clusterdns::discovery
