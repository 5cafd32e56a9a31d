// Endpoints derived from selectors, as the Kubernetes endpoints controller computes them.
#include "discovery/selector_endpoints.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "discovery/files/manifest_parser.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

Service service(const std::string& name, std::map<std::string, std::string> selector,
                std::vector<ServicePort> ports = {{"http", 80, Protocol::Tcp, ""}}) {
  Service s;
  s.ns = "default";
  s.name = name;
  s.cluster_ips = {"10.0.0.1"};
  s.selector = std::move(selector);
  s.ports = std::move(ports);
  return s;
}

Pod pod(const std::string& name, const std::string& ip, std::map<std::string, std::string> labels) {
  Pod p;
  p.ns = "default";
  p.name = name;
  p.ip = ip;
  p.ips = {ip};
  p.labels = std::move(labels);
  p.ready = true;
  p.phase = "Running";
  p.container_ports = {{"http", 8080, Protocol::Tcp}, {"dns", 5353, Protocol::Udp}};
  return p;
}

// The registry as vectors a test edits in place; compute() runs compute_selector_endpoints over it and
// leaves the endpoint sets it ends with (in key order) in endpoint_sets.
struct Registry {
  std::vector<Service> services;
  std::vector<Pod> pods;
  std::vector<EndpointSet> endpoint_sets;
  void compute() {
    RegistryState st;
    st.namespaces = {"default", "other"};
    st.services.assign(services.begin(), services.end());
    st.pods.assign(pods.begin(), pods.end());
    st.endpoint_sets.assign(endpoint_sets.begin(), endpoint_sets.end());
    compute_selector_endpoints(st);
    endpoint_sets.assign(st.endpoint_sets.begin(), st.endpoint_sets.end());
  }
};

std::vector<std::string> addresses(const EndpointSet& set) {
  std::vector<std::string> out;
  for (const Endpoint& e : set.endpoints)
    out.push_back(e.addresses.empty() ? "" : e.addresses[0]);
  return out;
}

TEST(SelectorEndpoints, SelectsMatchingPodsInTheServiceNamespace) {
  Registry st;
  st.services = {service("api", {{"app", "api"}, {"tier", "be"}})};
  st.pods = {pod("a", "10.244.0.1", {{"app", "api"}, {"tier", "be"}, {"extra", "x"}}),
             pod("b", "10.244.0.2", {{"app", "api"}}),                  // lacks tier
             pod("c", "10.244.0.3", {{"app", "api"}, {"tier", "fe"}}),  // wrong value
             pod("d", "", {{"app", "api"}, {"tier", "be"}}),            // no IP yet
             pod("e", "10.244.0.5", {{"app", "api"}, {"tier", "be"}})};
  st.pods.push_back(pod("f", "10.244.0.6", {{"app", "api"}, {"tier", "be"}}));
  st.pods.back().ns = "other";
  st.pods[3].ips.clear();
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 1u);
  const EndpointSet& set = st.endpoint_sets[0];
  EXPECT_EQ(set.ns, "default");
  EXPECT_EQ(set.name, "api/selector/0");  // no API object can have that name
  EXPECT_EQ(set.service_name, "api");
  EXPECT_THAT(addresses(set), ElementsAre("10.244.0.1", "10.244.0.5"));
  ASSERT_EQ(set.ports.size(), 1u);
  EXPECT_EQ(set.ports[0].name, "http");
  EXPECT_EQ(set.ports[0].port, 80);  // empty targetPort = the service port
}

TEST(SelectorEndpoints, Readiness) {
  Registry st;
  st.services = {service("api", {{"app", "api"}})};
  st.pods = {pod("ready", "10.244.0.1", {{"app", "api"}}),   pod("unready", "10.244.0.2", {{"app", "api"}}),
             pod("leaving", "10.244.0.3", {{"app", "api"}}), pod("done", "10.244.0.4", {{"app", "api"}}),
             pod("failed", "10.244.0.5", {{"app", "api"}}),  pod("pending", "10.244.0.6", {{"app", "api"}})};
  st.pods[1].ready = false;
  st.pods[2].terminating = true;
  st.pods[3].phase = "Succeeded";
  st.pods[4].phase = "Failed";
  st.pods[5].phase = "Pending";
  st.pods[5].ready = false;
  Registry tolerant = st;
  tolerant.services[0].publish_not_ready = true;

  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 1u);
  const EndpointSet& set = st.endpoint_sets[0];
  // In the pods' key order: leaving, pending, ready, unready.
  EXPECT_THAT(addresses(set), ElementsAre("10.244.0.3", "10.244.0.6", "10.244.0.1", "10.244.0.2"));
  EXPECT_FALSE(set.endpoints[0].ready);  // terminating, though its Ready condition is true
  EXPECT_FALSE(set.endpoints[1].ready);
  EXPECT_TRUE(set.endpoints[2].ready);
  EXPECT_FALSE(set.endpoints[3].ready);

  tolerant.compute();
  ASSERT_EQ(tolerant.endpoint_sets.size(), 1u);
  for (const Endpoint& e : tolerant.endpoint_sets[0].endpoints)
    EXPECT_TRUE(e.ready) << e.addresses[0];
}

TEST(SelectorEndpoints, HostnameOnlyWhenSubdomainNamesTheService) {
  Registry st;
  st.services = {service("web", {{"app", "web"}}), service("other", {{"app", "web"}})};
  st.pods = {pod("web-0", "10.244.1.10", {{"app", "web"}}), pod("solo", "10.244.1.11", {{"app", "web"}})};
  st.pods[0].hostname = "web-0";
  st.pods[0].subdomain = "web";
  st.pods[1].subdomain = "web";  // subdomain without hostname: no per-pod name
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 2u);
  EXPECT_EQ(st.endpoint_sets[1].service_name, "web");  // key order: other, web; pods: solo, web-0
  EXPECT_EQ(st.endpoint_sets[1].endpoints[1].hostname, "web-0");
  EXPECT_EQ(st.endpoint_sets[1].endpoints[0].hostname, "");
  EXPECT_EQ(st.endpoint_sets[0].service_name, "other");
  EXPECT_EQ(st.endpoint_sets[0].endpoints[0].hostname, "");
}

TEST(SelectorEndpoints, TargetPortResolution) {
  Registry st;
  st.services = {service("api", {{"app", "api"}},
                         {{"http", 80, Protocol::Tcp, "http"},
                          {"num", 81, Protocol::Tcp, "9000"},
                          {"same", 82, Protocol::Tcp, ""},
                          {"dns", 53, Protocol::Udp, "dns"},
                          {"wrongproto", 54, Protocol::Tcp, "dns"}})};  // "dns" is a UDP container port
  st.pods = {pod("a", "10.244.0.1", {{"app", "api"}})};
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 1u);
  const auto& ports = st.endpoint_sets[0].ports;
  ASSERT_EQ(ports.size(), 4u);
  EXPECT_EQ(ports[0].name, "http");
  EXPECT_EQ(ports[0].port, 8080);
  EXPECT_EQ(ports[1].port, 9000);
  EXPECT_EQ(ports[2].port, 82);
  EXPECT_EQ(ports[3].name, "dns");
  EXPECT_EQ(ports[3].port, 5353);
  EXPECT_EQ(ports[3].protocol, Protocol::Udp);
}

TEST(SelectorEndpoints, NamedPortResolvedPerPod) {
  Registry st;
  st.services = {service("api", {{"app", "api"}}, {{"http", 80, Protocol::Tcp, "http"}})};
  st.pods = {pod("old", "10.244.0.1", {{"app", "api"}}), pod("new", "10.244.0.2", {{"app", "api"}}),
             pod("bare", "10.244.0.3", {{"app", "api"}}), pod("old2", "10.244.0.4", {{"app", "api"}})};
  st.pods[1].container_ports = {{"http", 9090, Protocol::Tcp}};
  st.pods[2].container_ports.clear();  // resolves no port: left out
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 2u);  // one set per distinct port list, like Endpoints subsets
  // Groups in the order the pods' keys first reach them: bare (no port), new (9090), old and old2 (8080).
  EXPECT_THAT(addresses(st.endpoint_sets[1]), ElementsAre("10.244.0.1", "10.244.0.4"));
  EXPECT_EQ(st.endpoint_sets[1].ports[0].port, 8080);
  EXPECT_THAT(addresses(st.endpoint_sets[0]), ElementsAre("10.244.0.2"));
  EXPECT_EQ(st.endpoint_sets[0].ports[0].port, 9090);
  EXPECT_EQ(st.endpoint_sets[0].service_name, "api");
}

TEST(SelectorEndpoints, HeadlessWithoutPortsStillListsPods) {
  Registry st;
  st.services = {service("db", {{"app", "db"}}, {})};
  st.services[0].kind = ServiceKind::Headless;
  st.services[0].cluster_ips.clear();
  st.pods = {pod("db-0", "10.244.0.1", {{"app", "db"}})};
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 1u);
  EXPECT_THAT(st.endpoint_sets[0].ports, IsEmpty());
  EXPECT_THAT(addresses(st.endpoint_sets[0]), ElementsAre("10.244.0.1"));
}

TEST(SelectorEndpoints, LeavesAloneServicesWithEndpointsOrWithoutSelector) {
  Registry st;
  st.services = {service("sliced", {{"app", "x"}}), service("manual", {}), service("ext", {{"app", "x"}}),
                 service("elsewhere", {{"app", "x"}})};
  st.services[2].kind = ServiceKind::ExternalName;
  st.services[2].cluster_ips.clear();
  st.endpoint_sets = {EndpointSet{"default", "sliced-abc", "sliced", {{{"10.9.9.9"}, true, ""}}, {}},
                      EndpointSet{"other", "elsewhere", "elsewhere", {}, {}}};  // another namespace
  st.pods = {pod("p", "10.244.0.1", {{"app", "x"}})};
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 3u);
  // Key order: default/elsewhere/selector/0, default/sliced-abc, other/elsewhere.
  EXPECT_THAT(addresses(st.endpoint_sets[1]), ElementsAre("10.9.9.9"));  // untouched
  EXPECT_EQ(st.endpoint_sets[0].service_name, "elsewhere");
  EXPECT_EQ(st.endpoint_sets[0].ns, "default");
}

TEST(SelectorEndpoints, AddressFamilies) {
  Registry st;
  st.services = {service("v4", {{"app", "x"}}), service("dual", {{"app", "x"}}),
                 service("hl", {{"app", "x"}})};
  st.services[1].cluster_ips = {"fd00::1", "10.0.0.2"};
  st.services[2].kind = ServiceKind::Headless;
  st.services[2].cluster_ips.clear();
  st.pods = {pod("p", "10.244.0.1", {{"app", "x"}})};
  st.pods[0].ips = {"10.244.0.1", "fd00:244::1"};
  st.compute();
  ASSERT_EQ(st.endpoint_sets.size(), 3u);
  // Key order: dual, hl, v4.
  EXPECT_THAT(st.endpoint_sets[2].endpoints[0].addresses, ElementsAre("10.244.0.1"));
  EXPECT_THAT(st.endpoint_sets[0].endpoints[0].addresses, ElementsAre("10.244.0.1", "fd00:244::1"));
  EXPECT_THAT(st.endpoint_sets[1].endpoints[0].addresses, ElementsAre("10.244.0.1", "fd00:244::1"));
}

// The hand-written slices in examples/ are what the controller would write: deriving them agrees.
TEST(SelectorEndpoints, AgreesWithTheExampleSlices) {
  ParseResult r = parse_manifests(CLUSTERDNS_SOURCE_DIR "/examples");
  ASSERT_THAT(r.errors, IsEmpty());
  for (const std::string name : {"my-nginx", "web"}) {
    const EndpointSet* written = nullptr;
    RegistryState derived = r.state;
    derived.endpoint_sets.clear();
    for (const EndpointSet& set : r.state.endpoint_sets) {
      if (set.service_name == name) written = &set;
    }
    ASSERT_NE(written, nullptr) << name;
    compute_selector_endpoints(derived);
    const EndpointSet* computed = nullptr;
    for (const EndpointSet& set : derived.endpoint_sets) {
      if (set.service_name == name) computed = &set;
    }
    ASSERT_NE(computed, nullptr) << name;
    ASSERT_EQ(computed->endpoints.size(), written->endpoints.size()) << name;
    std::vector<std::string> a, b;
    for (const Endpoint& e : written->endpoints) {
      a.push_back(e.addresses[0] + " " + e.hostname + (e.ready ? " ready" : " unready"));
    }
    for (const Endpoint& e : computed->endpoints) {
      b.push_back(e.addresses[0] + " " + e.hostname + (e.ready ? " ready" : " unready"));
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << name;
    ASSERT_EQ(computed->ports.size(), written->ports.size()) << name;
    EXPECT_EQ(computed->ports[0].port, written->ports[0].port) << name;
    EXPECT_EQ(computed->ports[0].name, written->ports[0].name) << name;
  }
}

}  // namespace
// After a change, only the namespaces it touched are recomputed, and the result is what a computation
// from nothing gives.
TEST(SelectorEndpoints, UpdateAfterAChangeMatchesAComputationFromNothing) {
  RegistryState before;
  before.namespaces = {"default", "other"};
  before.services = {service("api", {{"app", "api"}}), service("web", {{"app", "web"}})};
  Service far = service("far", {{"app", "api"}});
  far.ns = "other";
  before.services.upsert(far);
  before.pods = {pod("a", "10.244.0.1", {{"app", "api"}}), pod("w", "10.244.0.2", {{"app", "web"}})};
  Pod b = pod("b", "10.244.9.1", {{"app", "api"}});
  b.ns = "other";
  before.pods.upsert(b);
  compute_selector_endpoints(before);
  ASSERT_EQ(before.endpoint_sets.size(), 3u);

  RegistryState after = before;
  after.pods.upsert(pod("a2", "10.244.0.3", {{"app", "api"}}));  // default only
  after.pods.erase({"default", "w"});
  update_selector_endpoints(before, after);
  const EndpointSet* api = after.endpoint_sets.find({"default", "api/selector/0"});
  ASSERT_NE(api, nullptr);
  EXPECT_THAT(addresses(*api), ElementsAre("10.244.0.1", "10.244.0.3"));
  EXPECT_EQ(after.endpoint_sets.find({"default", "web/selector/0"}), nullptr);  // no pod left
  // "other" was not touched: its derived set is the very same object.
  EXPECT_EQ(after.endpoint_sets.find_ptr({"other", "far/selector/0"}),
            before.endpoint_sets.find_ptr({"other", "far/selector/0"}));

  RegistryState fresh = after;
  compute_selector_endpoints(fresh);
  ASSERT_EQ(fresh.endpoint_sets.size(), after.endpoint_sets.size());
  for (size_t i = 0; i < fresh.endpoint_sets.size(); ++i)
    EXPECT_THAT(addresses(fresh.endpoint_sets[i]), ElementsAreArray(addresses(after.endpoint_sets[i])));

  // A real slice for `api` appears: its derived set goes.
  RegistryState sliced = after;
  sliced.endpoint_sets.upsert(EndpointSet{"default", "api-x", "api", {{{"10.9.9.9"}, true, ""}}, {}});
  update_selector_endpoints(after, sliced);
  EXPECT_EQ(sliced.endpoint_sets.find({"default", "api/selector/0"}), nullptr);
}

}  // namespace clusterdns::discovery
