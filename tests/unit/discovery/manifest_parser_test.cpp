// Manifest parsing: every object kind and field rule the Kubernetes DNS specification 1.1.0 §2.3-2.5 reads,
// as users write manifests.
#include "discovery/objects/parse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace clusterdns::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> messages(const std::vector<ManifestError>& errors) {
  std::vector<std::string> out;
  for (const ManifestError& e : errors)
    out.push_back(e.to_string());
  return out;
}

ParseResult parse_ok(const std::string& text) {
  ParseResult r = parse_manifest_text(text, "t.yaml");
  EXPECT_THAT(messages(r.errors), IsEmpty());
  return r;
}

TEST(ManifestParser, ClusterIpServiceWithAllFields) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata:
  name: my-nginx
  namespace: apps
spec:
  type: ClusterIP
  clusterIP: 10.0.162.149
  selector: {run: my-nginx, tier: web}
  publishNotReadyAddresses: true
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  - name: dns
    port: 53
    protocol: UDP
    targetPort: dns-port
  - name: plain
    port: 9000
)");
  ASSERT_EQ(r.state.services.size(), 1u);
  const Service& s = r.state.services[0];
  EXPECT_EQ(s.ns, "apps");
  EXPECT_EQ(s.name, "my-nginx");
  EXPECT_EQ(s.kind, ServiceKind::ClusterIp);
  EXPECT_THAT(s.cluster_ips, ElementsAre("10.0.162.149"));
  EXPECT_TRUE(s.publish_not_ready);
  EXPECT_EQ(s.selector, (std::map<std::string, std::string>{{"run", "my-nginx"}, {"tier", "web"}}));
  ASSERT_EQ(s.ports.size(), 3u);
  EXPECT_EQ(s.ports[0].name, "http");
  EXPECT_EQ(s.ports[0].port, 80);
  EXPECT_EQ(s.ports[0].protocol, Protocol::Tcp);
  EXPECT_EQ(s.ports[0].target_port, "8080");
  EXPECT_EQ(s.ports[1].protocol, Protocol::Udp);
  EXPECT_EQ(s.ports[1].target_port, "dns-port");
  EXPECT_EQ(s.ports[2].protocol, Protocol::Tcp);  // default
  EXPECT_EQ(s.ports[2].target_port, "");          // absent: same as port
  EXPECT_THAT(r.state.namespaces, ElementsAre("apps"));
}

TEST(ManifestParser, NodePortAndLoadBalancerAreClusterIp) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata: {name: np}
spec: {type: NodePort, clusterIP: 10.0.0.20, ports: [{port: 80, nodePort: 30080, targetPort: 0}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  clusterIP: 10.0.0.21
  externalIPs: [1.2.3.4]
  ports: [{port: 443}]
status: {loadBalancer: {ingress: [{ip: 5.6.7.8}]}}
)");
  ASSERT_EQ(r.state.services.size(), 2u);
  EXPECT_EQ(r.state.services[0].kind, ServiceKind::ClusterIp);
  EXPECT_THAT(r.state.services[1].cluster_ips, ElementsAre("10.0.0.20"));  // key order: lb, np
  EXPECT_EQ(r.state.services[1].ports[0].target_port, "");                 // 0 defaults to the port
  EXPECT_EQ(r.state.services[1].kind, ServiceKind::ClusterIp);
  EXPECT_THAT(r.state.services[0].cluster_ips, ElementsAre("10.0.0.21"));
  EXPECT_THAT(r.state.namespaces, ElementsAre("default"));  // missing namespace → default
  EXPECT_EQ(r.state.services[0].ns, "default");
}

TEST(ManifestParser, DualStackUsesClusterIPsInOrderAndCanonicalises) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata: {name: dual}
spec:
  clusterIP: "FD00:10:96:0:0:0:0:55"
  clusterIPs: ["fd00:10:96::55", 10.0.55.5]
  ipFamilies: [IPv6, IPv4]
  ports: [{name: http, port: 8080}]
)");
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_THAT(r.state.services[0].cluster_ips, ElementsAre("fd00:10:96::55", "10.0.55.5"));
}

TEST(ManifestParser, HeadlessServiceMayHaveNoPorts) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: None, selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: web2}
spec: {clusterIPs: [None]}
)");
  ASSERT_EQ(r.state.services.size(), 2u);
  EXPECT_EQ(r.state.services[0].kind, ServiceKind::Headless);
  EXPECT_THAT(r.state.services[0].cluster_ips, IsEmpty());
  EXPECT_THAT(r.state.services[0].ports, IsEmpty());
  EXPECT_EQ(r.state.services[1].kind, ServiceKind::Headless);
}

TEST(ManifestParser, ServiceWithoutClusterIpIsKeptWithAWarning) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata: {name: fresh}
spec: {ports: [{port: 80}]}
)");
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_THAT(r.state.services[0].cluster_ips, IsEmpty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 4);
}

TEST(ManifestParser, ExternalName) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata: {name: ext-search}
spec: {type: ExternalName, externalName: Search.Example.COM., ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext-ip}
spec:
  type: ExternalName
  externalName: 1.2.3.4
)");
  ASSERT_EQ(r.state.services.size(), 1u);  // the IP literal is left out of DNS
  const Service& s = r.state.services[0];
  EXPECT_EQ(s.kind, ServiceKind::ExternalName);
  EXPECT_EQ(s.external_name, "search.example.com");
  EXPECT_THAT(s.cluster_ips, IsEmpty());
  EXPECT_THAT(
      messages(r.warnings),
      ElementsAre("t.yaml:11: Service default/ext-ip: spec.externalName '1.2.3.4' is an IP address, not a "
                  "DNS name; service left out of DNS"));
}

TEST(ManifestParser, TolerateUnreadyAnnotationMeansPublishNotReady) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Service
metadata:
  name: old
  annotations: {service.alpha.kubernetes.io/tolerate-unready-endpoints: "true"}
spec: {clusterIP: 10.0.0.3}
)");
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_TRUE(r.state.services[0].publish_not_ready);
}

TEST(ManifestParser, EndpointSliceJoinedByLabel) {
  ParseResult r = parse_ok(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abcde
  namespace: prod
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- addresses: [10.244.1.10]
  hostname: web-0
  targetRef: {kind: Pod, name: web-0, namespace: prod}
- addresses: [10.244.1.11]
  conditions: {ready: false, serving: true}
- addresses: [10.244.1.12]
  conditions: {ready: null}
- addresses: [10.244.1.13]
  targetRef: {kind: Node, name: n1}
ports:
- {name: http, port: 8080, protocol: TCP}
- {name: "", port: 9090}
- {name: all}
)");
  ASSERT_EQ(r.state.endpoint_sets.size(), 1u);
  const EndpointSet& set = r.state.endpoint_sets[0];
  EXPECT_EQ(set.ns, "prod");
  EXPECT_EQ(set.name, "web-abcde");
  EXPECT_EQ(set.service_name, "web");
  ASSERT_EQ(set.endpoints.size(), 4u);
  EXPECT_THAT(set.endpoints[0].addresses, ElementsAre("10.244.1.10"));
  EXPECT_TRUE(set.endpoints[0].ready);  // conditions absent = ready
  EXPECT_EQ(set.endpoints[0].hostname, "web-0");
  EXPECT_FALSE(set.endpoints[1].ready);
  EXPECT_TRUE(set.endpoints[2].ready);  // ready: null = absent
  ASSERT_EQ(set.ports.size(), 2u);      // a port without number ("all ports") cannot be expressed in DNS
  EXPECT_EQ(set.ports[0].name, "http");
  EXPECT_EQ(set.ports[0].port, 8080);
  EXPECT_EQ(set.ports[1].name, "");
  EXPECT_EQ(set.ports[1].port, 9090);
  EXPECT_THAT(r.state.namespaces, ElementsAre("prod"));
}

TEST(ManifestParser, LastChangeTriggerTimeIsReadForTheProgrammingLatencyMetric) {
  const auto slice = [](const std::string& name, const std::string& annotation) {
    return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + name +
           "\n  namespace: prod\n  labels: {kubernetes.io/service-name: web}\n" + annotation +
           "addressType: IPv4\nendpoints: [{addresses: [10.244.1.10]}]\n---\n";
  };
  const auto trigger = [](const std::string& value) {
    return "  annotations: {endpoints.kubernetes.io/last-change-trigger-time: \"" + value + "\"}\n";
  };
  ParseResult r = parse_ok(slice("a", trigger("2026-12-01T18:00:00Z")) +
                           slice("b", trigger("2026-12-01T18:00:00.123456789Z")) +
                           slice("c", trigger("2026-12-01T19:00:00.5+01:00")) + slice("d", "") +
                           slice("e", trigger("yesterday")) + slice("f", trigger("2026-13-01T18:00:00Z")));
  ASSERT_EQ(r.state.endpoint_sets.size(), 6u);
  const int64_t at = 1796148000000;  // 2026-12-01T18:00:00Z in ms since the epoch
  EXPECT_EQ(r.state.endpoint_sets[0].trigger_time_ms, at);
  EXPECT_EQ(r.state.endpoint_sets[1].trigger_time_ms, at + 123);
  EXPECT_EQ(r.state.endpoint_sets[2].trigger_time_ms, at + 500);
  EXPECT_EQ(r.state.endpoint_sets[3].trigger_time_ms, 0);  // none: no observation
  EXPECT_EQ(r.state.endpoint_sets[4].trigger_time_ms, 0);  // unreadable: it only feeds a metric
  EXPECT_EQ(r.state.endpoint_sets[5].trigger_time_ms, 0);
}

TEST(ManifestParser, EndpointSliceIpv6AndFqdn) {
  ParseResult r = parse_ok(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dual-v6, labels: {kubernetes.io/service-name: dual}}
addressType: IPv6
endpoints: [{addresses: ["FD00:10:244::7"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: legacy-fqdn, labels: {kubernetes.io/service-name: legacy}}
addressType: FQDN
endpoints: [{addresses: [db.example.com]}]
)");
  ASSERT_EQ(r.state.endpoint_sets.size(), 1u);
  EXPECT_THAT(r.state.endpoint_sets[0].endpoints[0].addresses, ElementsAre("fd00:10:244::7"));
  EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(ManifestParser, LegacyEndpoints) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: data}
subsets:
- addresses:
  - {ip: 10.244.5.1, hostname: db-0, targetRef: {kind: Pod, name: db-0}}
  notReadyAddresses:
  - {ip: 10.244.5.2}
  ports: [{name: pg, port: 5432}]
- addresses: [{ip: 10.244.5.3}]
  ports: [{name: pg, port: 5433, protocol: TCP}]
)");
  ASSERT_EQ(r.state.endpoint_sets.size(), 2u);  // one per subset
  const EndpointSet& a = r.state.endpoint_sets[0];
  EXPECT_EQ(a.service_name, "db");
  EXPECT_EQ(a.ns, "data");
  ASSERT_EQ(a.endpoints.size(), 2u);
  EXPECT_TRUE(a.endpoints[0].ready);
  EXPECT_EQ(a.endpoints[0].hostname, "db-0");
  EXPECT_FALSE(a.endpoints[1].ready);
  ASSERT_EQ(a.ports.size(), 1u);
  EXPECT_EQ(a.ports[0].port, 5432);
  EXPECT_EQ(r.state.endpoint_sets[1].ports[0].port, 5433);
}

TEST(ManifestParser, LegacyEndpointsShadowedByEndpointSlices) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets: [{addresses: [{ip: 10.244.1.10}]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [10.244.1.10]}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: other}
subsets: [{addresses: [{ip: 10.244.1.20}]}]
)");
  ASSERT_EQ(r.state.endpoint_sets.size(), 2u);
  EXPECT_EQ(r.state.endpoint_sets[0].name, "other");  // key order
  EXPECT_EQ(r.state.endpoint_sets[1].name, "web-1");
}

TEST(ManifestParser, PodWithAllFields) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  labels: {app: web}
  deletionTimestamp: "2024-01-01T00:00:00Z"
spec:
  hostname: web-0
  subdomain: web
  enableServiceLinks: false
  containers:
  - name: a
    ports: [{name: http, containerPort: 80}, {containerPort: 53, protocol: UDP}]
  - name: b
    ports: [{name: metrics, containerPort: 9090}]
status:
  phase: Running
  podIP: 10.244.1.10
  podIPs: [{ip: 10.244.1.10}, {ip: "fd00::a"}]
  conditions:
  - {type: PodScheduled, status: "True"}
  - {type: Ready, status: "True"}
)");
  ASSERT_EQ(r.state.pods.size(), 1u);
  const Pod& p = r.state.pods[0];
  EXPECT_EQ(p.ns, "shop");
  EXPECT_EQ(p.name, "web-0");
  EXPECT_EQ(p.ip, "10.244.1.10");
  EXPECT_THAT(p.ips, ElementsAre("10.244.1.10", "fd00::a"));
  EXPECT_EQ(p.labels.at("app"), "web");
  EXPECT_EQ(p.hostname, "web-0");
  EXPECT_EQ(p.subdomain, "web");
  EXPECT_TRUE(p.ready);
  EXPECT_TRUE(p.terminating);
  EXPECT_EQ(p.phase, "Running");
  EXPECT_FALSE(p.enable_service_links);
  ASSERT_EQ(p.container_ports.size(), 3u);
  EXPECT_EQ(p.container_ports[0].name, "http");
  EXPECT_EQ(p.container_ports[1].protocol, Protocol::Udp);
  EXPECT_EQ(p.container_ports[2].port, 9090);
}

TEST(ManifestParser, PodDefaults) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: Pod
metadata: {name: bare}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: only-ips}
status:
  podIPs: [{ip: 10.1.2.3}]
  conditions: [{type: Ready, status: "False"}]
)");
  ASSERT_EQ(r.state.pods.size(), 2u);
  const Pod& bare = r.state.pods[0];
  EXPECT_EQ(bare.ns, "default");
  EXPECT_EQ(bare.ip, "");
  EXPECT_THAT(bare.ips, IsEmpty());
  EXPECT_FALSE(bare.ready);
  EXPECT_FALSE(bare.terminating);
  EXPECT_TRUE(bare.enable_service_links);
  EXPECT_EQ(r.state.pods[1].ip, "10.1.2.3");  // podIP filled from podIPs[0]
  EXPECT_FALSE(r.state.pods[1].ready);
}

TEST(ManifestParser, ListsAndTypedLists) {
  ParseResult r = parse_ok(R"(apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {clusterIP: 10.0.0.1}}
- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: x}}
- {apiVersion: apps/v1, kind: Deployment, metadata: {name: d, namespace: y}}
---
apiVersion: v1
kind: ServiceList
metadata: {resourceVersion: "1"}
items:
- {apiVersion: v1, kind: Service, metadata: {name: b}, spec: {clusterIP: 10.0.0.2}}
)");
  ASSERT_EQ(r.state.services.size(), 2u);
  EXPECT_EQ(r.state.services[1].name, "b");
  EXPECT_EQ(r.state.pods.size(), 1u);
  EXPECT_THAT(r.state.namespaces, ElementsAre("default", "x", "y"));  // y: from the Deployment
}

TEST(ManifestParser, OtherKindsAndGroupsAreIgnoredSilently) {
  ParseResult r = parse_ok(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: monitoring}
data: {a: b}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: knative-thing}
spec: {template: {}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: v1
kind: Namespace
metadata: {name: empty-ns}
)");
  EXPECT_THAT(r.state.services, IsEmpty());
  EXPECT_THAT(r.warnings, IsEmpty());
  EXPECT_THAT(r.state.namespaces, ElementsAre("empty-ns", "monitoring"));
}

TEST(ManifestParser, JsonInput) {
  ParseResult r = parse_ok(R"({
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "j", "namespace": "json"},
     "spec": {"clusterIP": "10.0.9.9", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
  ]
})");
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_EQ(r.state.services[0].ports[0].target_port, "8080");
  EXPECT_THAT(r.state.namespaces, ElementsAre("json"));
}

TEST(ManifestParser, EmptyDocumentsAndCommentsAreFine) {
  ParseResult r = parse_ok("# nothing here\n---\n---\n# still nothing\n...\n");
  EXPECT_THAT(r.state.services, IsEmpty());
  EXPECT_THAT(r.state.namespaces, IsEmpty());
}

TEST(ManifestParser, ErrorToString) {
  EXPECT_EQ((ManifestError{"a.yaml", 3, "bad"}).to_string(), "a.yaml:3: bad");
  EXPECT_EQ((ManifestError{"a.yaml", 0, "missing"}).to_string(), "a.yaml: missing");
}

}  // namespace
}  // namespace clusterdns::discovery
