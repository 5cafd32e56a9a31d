// Manifest parsing of broken and hostile input: every error names file:line and a precise reason.
#include "discovery/files/manifest_parser.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace clusterdns::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> errors_of(const std::string& text) {
  std::vector<std::string> out;
  for (const ManifestError& e : parse_manifest_text(text, "bad.yaml").errors)
    out.push_back(e.to_string());
  return out;
}

const std::string kSvcHead = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n";  // 3 lines

TEST(ManifestErrors, MisspelledCoreKindIsAnErrorButOtherGroupsAreIgnored) {
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: Servize\nmetadata: {name: x}\n"),
              ElementsAre("bad.yaml:1: unknown kind Servize for apiVersion v1"));
  EXPECT_THAT(errors_of("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlyce\nmetadata: {name: x}\n"),
              ElementsAre("bad.yaml:1: unknown kind EndpointSlyce for apiVersion discovery.k8s.io/v1"));
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), IsEmpty());
  EXPECT_THAT(errors_of("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"), IsEmpty());
  EXPECT_THAT(errors_of("apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x}\n"),
              IsEmpty());
}

TEST(ManifestErrors, MissingKindOrApiVersion) {
  EXPECT_THAT(errors_of("# a comment\napiVersion: v1\nmetadata: {name: x}\n"),
              ElementsAre("bad.yaml:2: kind is required"));
  EXPECT_THAT(errors_of("kind: Service\nmetadata: {name: x}\n"),
              ElementsAre("bad.yaml:1: apiVersion is required"));
  EXPECT_THAT(errors_of("kind: [Service]\napiVersion: v1\n"),
              ElementsAre("bad.yaml:1: kind: expected a string, got a list"));
}

TEST(ManifestErrors, DocumentNotAMapping) {
  EXPECT_THAT(errors_of("---\n- a\n- b\n"),
              ElementsAre("bad.yaml:2: a manifest must be a mapping with apiVersion and kind"));
  EXPECT_THAT(errors_of("just text\n"),
              ElementsAre("bad.yaml:1: a manifest must be a mapping with apiVersion and kind"));
}

TEST(ManifestErrors, MissingName) {
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\n"),
              ElementsAre("bad.yaml:4: Service: metadata.name is required"));
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: Pod\n"), ElementsAre("bad.yaml:1: Pod: metadata is required"));
}

TEST(ManifestErrors, InvalidNames) {
  EXPECT_THAT(
      errors_of("apiVersion: v1\nkind: Service\nmetadata:\n  name: My_Svc\n"),
      ElementsAre("bad.yaml:4: Service default/My_Svc: metadata.name 'My_Svc' is not a DNS-1123 label "
                  "(lowercase letters, digits and '-', at most 63 characters)"));
  EXPECT_THAT(
      errors_of("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: Bad.NS\n"),
      ElementsAre("bad.yaml:5: Pod Bad.NS/p: metadata.namespace 'Bad.NS' is not a valid namespace name"));
}

TEST(ManifestErrors, InvalidYamlKeepsOtherDocuments) {
  ParseResult r = parse_manifest_text(R"(apiVersion: v1
kind: Service
metadata: {name: good}
spec: {clusterIP: 10.0.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: broken
spec: {clusterIP: 10.0.0.2}
---
apiVersion: v1
kind: Service
metadata: {name: also-good}
spec: {clusterIP: 10.0.0.3}
)",
                                      "bad.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "bad.yaml");
  EXPECT_EQ(r.errors[0].line, 9);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("invalid YAML"));
  ASSERT_EQ(r.state.services.size(), 2u);
  EXPECT_NE(r.state.services.find({"default", "also-good"}), nullptr);
}

TEST(ManifestErrors, BadIndentation) {
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n"),
              ElementsAre("bad.yaml:5: invalid YAML: mapping values are not allowed in this context"));
}

TEST(ManifestErrors, InvalidIps) {
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  clusterIP: 10.0.0.256\n"),
      ElementsAre("bad.yaml:5: Service default/s: spec.clusterIP: '10.0.0.256' is not a valid IP address"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  clusterIPs:\n  - 10.0.0.1\n  - fd00::zz\n"),
      ElementsAre("bad.yaml:7: Service default/s: spec.clusterIPs[1]: 'fd00::zz' is not a valid IP address"));
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIP: 300.1.1.1\n"),
              ElementsAre("bad.yaml:5: Pod default/p: status.podIP: '300.1.1.1' is not a valid IP address"));
  EXPECT_THAT(
      errors_of("apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets:\n- addresses:\n"
                "  - ip: 10.0.0.1\n  - ip: nope\n"),
      ElementsAre("bad.yaml:7: Endpoints default/e: subsets[0].addresses[1].ip: 'nope' is not a valid IP "
                  "address"));
}

TEST(ManifestErrors, ClusterIpConsistency) {
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  clusterIP: 10.0.0.1\n  clusterIPs: [10.0.0.2]\n"),
              ElementsAre("bad.yaml:5: Service default/s: spec.clusterIP '10.0.0.1' must equal "
                          "spec.clusterIPs[0] '10.0.0.2'"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  clusterIPs: [10.0.0.1, 10.0.0.2]\n"),
      ElementsAre("bad.yaml:5: Service default/s: spec.clusterIPs: a dual-stack service needs one IPv4 "
                  "and one IPv6 address"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  clusterIPs: [None, 10.0.0.2]\n"),
              ElementsAre("bad.yaml:5: Service default/s: spec.clusterIPs: 'None' must be the only entry"));
}

TEST(ManifestErrors, Ports) {
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  clusterIP: 10.0.0.1\n  ports:\n  - name: http\n    port: 70000\n"),
      ElementsAre("bad.yaml:8: Service default/s: spec.ports[0].port: 70000 is out of range 1..65535"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  ports:\n  - name: http\n    targetPort: 80\n"),
              ElementsAre("bad.yaml:6: Service default/s: spec.ports[0].port is required"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  ports:\n  - port: eighty\n"),
              ElementsAre("bad.yaml:6: Service default/s: spec.ports[0].port: 'eighty' is not an integer"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  ports:\n  - port: 80\n    protocol: HTTP\n"),
      ElementsAre("bad.yaml:7: Service default/s: spec.ports[0].protocol: 'HTTP' is not one of TCP, UDP, "
                  "SCTP"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  ports:\n  - port: 80\n    targetPort: 80/tcp\n"),
      ElementsAre("bad.yaml:7: Service default/s: spec.ports[0].targetPort '80/tcp' is not a valid port name "
                  "(IANA_SVC_NAME: at most 15 lowercase letters, digits and '-', with a letter)"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  ports:\n  - {name: a, port: 80}\n  - {port: 81}\n"),
      ElementsAre("bad.yaml:7: Service default/s: spec.ports[1].name is required when a service has more "
                  "than one port"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  ports:\n  - {name: a, port: 80}\n  - {name: a, port: 81}\n"),
              ElementsAre("bad.yaml:7: Service default/s: spec.ports[1].name 'a' is used by another port"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  ports:\n  - {name: my.port, port: 80}\n"),
      ElementsAre("bad.yaml:6: Service default/s: spec.ports[0].name 'my.port' is not a valid port name "
                  "(IANA_SVC_NAME: at most 15 lowercase letters, digits and '-', with a letter)"));
  EXPECT_THAT(
      errors_of("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
                "    ports:\n    - containerPort: 0\n"),
      ElementsAre("bad.yaml:8: Pod default/p: spec.containers[0].ports[0].containerPort: 0 is out of range "
                  "1..65535"));
}

TEST(ManifestErrors, ServiceTypeAndExternalName) {
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  type: Magic\n"),
      ElementsAre("bad.yaml:5: Service default/s: spec.type 'Magic' is not one of ClusterIP, NodePort, "
                  "LoadBalancer, ExternalName"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  type: ExternalName\n"),
              ElementsAre("bad.yaml:5: Service default/s: spec.externalName is required"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  type: ExternalName\n  externalName: bad_name.example\n"),
      ElementsAre("bad.yaml:6: Service default/s: spec.externalName 'bad_name.example' is not a valid DNS "
                  "name"));
}

TEST(ManifestErrors, WrongTypes) {
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  clusterIP: 10.0.0.1\n  selector: [app]\n"),
              ElementsAre("bad.yaml:6: Service default/s: spec.selector: expected a mapping, got a list"));
  EXPECT_THAT(
      errors_of(kSvcHead + "spec:\n  clusterIP: 10.0.0.1\n  publishNotReadyAddresses: maybe\n"),
      ElementsAre("bad.yaml:6: Service default/s: spec.publishNotReadyAddresses: expected true or false, "
                  "got 'maybe'"));
  EXPECT_THAT(errors_of(kSvcHead + "spec: 5\n"),
              ElementsAre("bad.yaml:4: Service default/s: spec: expected a "
                          "mapping, got a scalar"));
  EXPECT_THAT(errors_of(kSvcHead + "spec:\n  ports: {port: 80}\n"),
              ElementsAre("bad.yaml:5: Service default/s: spec.ports: expected a list, got a mapping"));
}

TEST(ManifestErrors, EndpointSlices) {
  const std::string head = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: e\n";
  EXPECT_THAT(
      errors_of(head + "addressType: IPv4\n"),
      ElementsAre("bad.yaml:4: EndpointSlice default/e: metadata.labels['kubernetes.io/service-name'] is "
                  "required to join the slice to its service"));
  const std::string labelled = head + "  labels: {kubernetes.io/service-name: web}\n";  // 5 lines
  EXPECT_THAT(errors_of(labelled + "endpoints: []\n"),
              ElementsAre("bad.yaml:1: EndpointSlice default/e: addressType is required"));
  EXPECT_THAT(
      errors_of(labelled + "addressType: IPv5\n"),
      ElementsAre("bad.yaml:6: EndpointSlice default/e: addressType 'IPv5' is not one of IPv4, IPv6, FQDN"));
  EXPECT_THAT(
      errors_of(labelled + "addressType: IPv6\nendpoints:\n- addresses: [10.0.0.1]\n"),
      ElementsAre("bad.yaml:8: EndpointSlice default/e: endpoints[0].addresses[0] '10.0.0.1' is not an IPv6 "
                  "address (addressType IPv6)"));
  EXPECT_THAT(
      errors_of(labelled + "addressType: IPv4\nendpoints:\n- hostname: x\n"),
      ElementsAre("bad.yaml:8: EndpointSlice default/e: endpoints[0].addresses is required (at least one "
                  "address)"));
  EXPECT_THAT(
      errors_of(labelled + "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n  hostname: Web_0\n"),
      ElementsAre("bad.yaml:9: EndpointSlice default/e: endpoints[0].hostname 'Web_0' is not a DNS-1123 "
                  "label"));
  EXPECT_THAT(
      errors_of(labelled + "addressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n"
                           "  conditions: {ready: perhaps}\n"),
      ElementsAre("bad.yaml:9: EndpointSlice default/e: endpoints[0].conditions.ready: expected true or "
                  "false, got 'perhaps'"));
}

TEST(ManifestErrors, PodStatus) {
  const std::string head = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n";
  EXPECT_THAT(errors_of(head + "  podIP: 10.0.0.1\n  podIPs: [{ip: 10.0.0.2}]\n"),
              ElementsAre("bad.yaml:5: Pod default/p: status.podIP '10.0.0.1' must equal status.podIPs[0].ip "
                          "'10.0.0.2'"));
  EXPECT_THAT(
      errors_of(head + "  phase: Sleeping\n"),
      ElementsAre("bad.yaml:5: Pod default/p: status.phase 'Sleeping' is not one of Pending, Running, "
                  "Succeeded, Failed, Unknown"));
}

TEST(ManifestErrors, DuplicatesAcrossFilesNameTheFirst) {
  const std::string svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.1}\n";
  ParseResult r = parse_manifest_files({{"a.yaml", svc}, {"b.yaml", "# dup\n---\n" + svc}});
  std::vector<std::string> got;
  for (const ManifestError& e : r.errors)
    got.push_back(e.to_string());
  EXPECT_THAT(got, ElementsAre("b.yaml:3: Service default/s: defined twice (first at a.yaml:1)"));
  EXPECT_EQ(r.state.services.size(), 1u);
}

TEST(ManifestErrors, NestedListRejected) {
  EXPECT_THAT(errors_of("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: []\n"),
              ElementsAre("bad.yaml:4: a List inside a list is not supported"));
}

TEST(ManifestErrors, ReportsEveryErrorAndKeepsTheRest) {
  ParseResult r =
      parse_manifest_text(kSvcHead + "spec: {clusterIP: 1.2.3}\n---\n" +
                              "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\n---\n" +
                              "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus: {podIP: x}\n",
                          "bad.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[1].line, 13);
  ASSERT_EQ(r.state.pods.size(), 1u);
  EXPECT_EQ(r.state.pods[0].name, "ok");
}

TEST(ManifestErrors, DeepNestingDoesNotCrash) {
  std::string deep = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: " + std::string(100000, '[');
  ParseResult r = parse_manifest_text(deep, "bad.yaml");
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].line, 4);
}

TEST(ManifestErrors, AliasExpansionIsBounded) {
  // One pod with 3000 aliases of a container whose port list is an alias of 2000 entries: 6M to visit.
  std::string text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nbig: &big [";
  for (int i = 0; i < 2000; ++i)
    text += "{containerPort: 80},";
  text += "]\nc: &c {name: c, ports: *big}\nspec:\n  containers: [";
  for (int i = 0; i < 3000; ++i)
    text += "*c,";
  text += "]\n";
  ParseResult r = parse_manifest_text(text, "bad.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("aliases expand to more than"));  // libyaml pre-flight
  EXPECT_THAT(r.state.pods, IsEmpty());
}

TEST(ManifestErrors, GarbageBytes) {
  std::string junk = "\x01\x02\xff\xfe: [\n\t\"\\";
  ParseResult r = parse_manifest_text(junk, "bad.yaml");
  EXPECT_FALSE(r.errors.empty());
  EXPECT_THAT(r.state.services, IsEmpty());
}

}  // namespace
}  // namespace clusterdns::discovery
