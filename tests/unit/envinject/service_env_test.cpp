// Golden and rule tests for service_env: the kubelet's envvars.FromServices + getServiceEnvVarMap.
#include "envinject/service_env.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace clusterdns::envinject {
namespace {

using discovery::Protocol;
using discovery::Service;
using discovery::ServiceKind;

discovery::ServicePort P(std::string name, int32_t port, Protocol protocol = Protocol::Tcp) {
  discovery::ServicePort p;
  p.name = std::move(name);
  p.port = port;
  p.protocol = protocol;
  return p;
}

Service svc(std::string ns, std::string name, std::string ip, std::vector<discovery::ServicePort> ports) {
  Service s;
  s.ns = std::move(ns);
  s.name = std::move(name);
  if (!ip.empty()) s.cluster_ips = {std::move(ip)};
  s.ports = std::move(ports);
  return s;
}

std::string render(const std::vector<EnvVar>& vars) {
  std::string out;
  for (const auto& v : vars)
    out += v.name + "=" + v.value + "\n";
  return out;
}

// Compares with tests/unit/envinject/golden/<name>; UPDATE_GOLDEN=1 rewrites the file instead.
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(CLUSTERDNS_SOURCE_DIR) + "/tests/unit/envinject/golden/" + name;
  if (std::getenv("UPDATE_GOLDEN")) {
    std::ofstream(path) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden " << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(want.str(), actual) << "golden " << path;
}

Service kubernetes(std::string ip = "10.0.0.1") {
  return svc("default", "kubernetes", std::move(ip), {P("https", 443, Protocol::Tcp)});
}

TEST(ServiceEnv, SeedExample) {
  const std::vector<Service> services = {
      kubernetes(), svc("default", "my-nginx", "10.0.162.149", {P("http", 80, Protocol::Tcp)}),
      svc("kube-system", "kube-dns", "10.0.0.10", {P("dns", 53, Protocol::Udp)}),  // other namespace
  };
  const auto vars = service_env("default", true, services);
  expect_golden("seed.env", render(vars));
  auto has = [&](const std::string& n, const std::string& v) {
    return std::find(vars.begin(), vars.end(), EnvVar{n, v}) != vars.end();
  };
  EXPECT_TRUE(has("MY_NGINX_SERVICE_HOST", "10.0.162.149"));
  EXPECT_TRUE(has("MY_NGINX_SERVICE_PORT", "80"));
  EXPECT_TRUE(has("KUBERNETES_SERVICE_HOST", "10.0.0.1"));
  EXPECT_TRUE(has("KUBERNETES_SERVICE_PORT", "443"));
  EXPECT_TRUE(has("KUBERNETES_SERVICE_PORT_HTTPS", "443"));
  EXPECT_TRUE(has("MY_NGINX_PORT", "tcp://10.0.162.149:80"));
  EXPECT_TRUE(has("KUBERNETES_PORT_443_TCP_ADDR", "10.0.0.1"));
}

TEST(ServiceEnv, UnnamedPort) {
  const auto vars =
      service_env("web", true, {kubernetes(), svc("web", "backend", "10.0.5.5", {P("", 8080)})});
  expect_golden("unnamed_port.env", render(vars));
}

TEST(ServiceEnv, NamedPortsFirstPortWins) {
  const std::vector<Service> services = {
      kubernetes(),
      svc("kube-system", "dns-cache", "10.0.0.10",
          {P("dns", 53, Protocol::Udp), P("dns-tcp", 53, Protocol::Tcp), P("metrics", 9153, Protocol::Tcp)}),
  };
  const auto vars = service_env("kube-system", true, services);
  expect_golden("named_ports.env", render(vars));
  EXPECT_NE(std::find(vars.begin(), vars.end(), EnvVar{"DNS_CACHE_PORT", "udp://10.0.0.10:53"}), vars.end());
  EXPECT_NE(std::find(vars.begin(), vars.end(), EnvVar{"DNS_CACHE_SERVICE_PORT", "53"}), vars.end());
}

TEST(ServiceEnv, Sctp) {
  const auto vars =
      service_env("default", true, {svc("default", "sctp-echo", "10.0.7.7", {P("", 9999, Protocol::Sctp)})});
  expect_golden("sctp.env", render(vars));
}

TEST(ServiceEnv, Ipv6BracketsOnlyInUrls) {
  const auto vars =
      service_env("app", true, {kubernetes("fd00::1"), svc("app", "web", "fd00::10", {P("", 80)})});
  expect_golden("ipv6_links.env", render(vars));
}

TEST(ServiceEnv, SameNamespaceKubernetesShadowsDefault) {
  const Service own = svc("team", "kubernetes", "10.1.0.1", {P("web", 8443, Protocol::Tcp)});
  // The kubelet's result must not depend on list order.
  const auto a = service_env("team", true, {kubernetes(), own});
  const auto b = service_env("team", true, {own, kubernetes()});
  EXPECT_EQ(a, b);
  expect_golden("shadowed_kubernetes.env", render(a));
  // Without service links the pod's namespace contributes nothing: the master's service is back.
  EXPECT_EQ(service_env("team", false, {own, kubernetes()}), service_env("x", true, {kubernetes()}));
  // In "default" the master's service is the pod namespace's service.
  EXPECT_EQ(service_env("default", false, {kubernetes()}), service_env("default", true, {kubernetes()}));
}

TEST(ServiceEnv, ServiceLinksOffKeepsOnlyMasterService) {
  const auto vars = service_env("default", false,
                                {kubernetes(), svc("default", "my-nginx", "10.0.162.149", {P("http", 80)})});
  for (const auto& v : vars)
    EXPECT_EQ(v.name.rfind("KUBERNETES_", 0), 0u) << v.name;
  EXPECT_EQ(vars.size(), 8u);
  // Only default/kubernetes is the master service: kube-system/kubernetes is an ordinary service.
  EXPECT_TRUE(service_env("web", true, {svc("kube-system", "kubernetes", "10.0.9.9", {P("", 1)})}).empty());
}

TEST(ServiceEnv, EmptyNamespaceMeansDefault) {
  Service s = svc("", "my-nginx", "10.0.162.149", {P("http", 80)});
  EXPECT_EQ(service_env("", true, {s}).size(), 8u);
  EXPECT_EQ(service_env("default", true, {s}).size(), 8u);
  EXPECT_TRUE(service_env("other", true, {s}).empty());
}

TEST(ServiceEnv, SkipsWithoutClusterIpSilently) {
  Service headless = svc("default", "headless", "", {P("", 80)});
  headless.kind = ServiceKind::Headless;
  Service none = svc("default", "none", "None", {P("", 80)});
  Service external = svc("default", "ext", "", {P("", 80)});
  external.kind = ServiceKind::ExternalName;
  external.external_name = "example.com";
  std::vector<SkipNote> notes;
  EXPECT_TRUE(service_env("default", true, {headless, none, external}, &notes).empty());
  EXPECT_TRUE(notes.empty());
}

TEST(ServiceEnv, OnlyPrimaryClusterIp) {
  Service dual = svc("default", "dual", "10.0.3.3", {P("", 80)});
  dual.cluster_ips.push_back("fd00::3");
  for (const auto& v : service_env("default", true, {dual}))
    EXPECT_EQ(v.value.find("fd00"), std::string::npos);
}

TEST(ServiceEnv, InvalidInputSkippedWithReasonNeverMangled) {
  std::vector<SkipNote> notes;
  const auto vars = service_env(
      "default", true,
      {svc("default", "Upper", "10.0.0.2", {P("", 80)}),
       svc("default", "under_score", "10.0.0.3", {P("", 80)}),
       svc("default", "1digit", "10.0.0.4", {P("", 80)}), svc("default", "dot.ted", "10.0.0.5", {P("", 80)}),
       svc("default", "bad-ip", "10.0.0.300", {P("", 80)}),
       svc("default", "zero-port", "10.0.0.6", {P("", 0)}),
       svc("default", "big-port", "10.0.0.7", {P("", 70000)}), svc("default", "no-ports", "10.0.0.8", {}),
       svc("default", "odd-port-name", "10.0.0.9", {P("http_x", 80), P("ok", 81)})},
      &notes);
  EXPECT_EQ(notes.size(), 9u);
  for (const auto& n : notes)
    EXPECT_FALSE(n.reason.empty()) << n.service;
  // Only odd-port-name survives, without the variable its bad port name would have needed.
  for (const auto& v : vars)
    EXPECT_EQ(v.name.rfind("ODD_PORT_NAME_", 0), 0u) << v.name;
  EXPECT_EQ(std::count_if(vars.begin(), vars.end(),
                          [](const EnvVar& v) { return v.name.find("HTTP") != std::string::npos; }),
            0);
  EXPECT_NE(std::find(vars.begin(), vars.end(), EnvVar{"ODD_PORT_NAME_SERVICE_PORT_OK", "81"}), vars.end());
}

TEST(ServiceEnv, CrossServiceCollisionFirstNameWins) {
  // "foo" defines FOO_SERVICE_PORT=80; "foo-service" defines the Docker link FOO_SERVICE_PORT=tcp://…
  std::vector<SkipNote> notes;
  const auto vars = service_env("default", true,
                                {svc("default", "foo-service", "10.0.0.21", {P("", 81)}),
                                 svc("default", "foo", "10.0.0.20", {P("", 80)})},
                                &notes);
  EXPECT_NE(std::find(vars.begin(), vars.end(), EnvVar{"FOO_SERVICE_PORT", "80"}), vars.end());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].service, "foo-service");
  for (size_t i = 1; i < vars.size(); ++i)
    EXPECT_LT(vars[i - 1].name, vars[i].name);
}

// The kubelet's own TestFromServices vector, in its order (envvars_test.go).
TEST(ServiceEnv, KubeletFromServicesOrder) {
  const auto a = variables_for_service(
      svc("", "abc-123", "5.6.7.8", {P("u-d-p", 8081, Protocol::Udp), P("t-c-p", 8081, Protocol::Tcp)}));
  const std::vector<EnvVar> want = {
      {"ABC_123_SERVICE_HOST", "5.6.7.8"},       {"ABC_123_SERVICE_PORT", "8081"},
      {"ABC_123_SERVICE_PORT_U_D_P", "8081"},    {"ABC_123_SERVICE_PORT_T_C_P", "8081"},
      {"ABC_123_PORT", "udp://5.6.7.8:8081"},    {"ABC_123_PORT_8081_UDP", "udp://5.6.7.8:8081"},
      {"ABC_123_PORT_8081_UDP_PROTO", "udp"},    {"ABC_123_PORT_8081_UDP_PORT", "8081"},
      {"ABC_123_PORT_8081_UDP_ADDR", "5.6.7.8"}, {"ABC_123_PORT_8081_TCP", "tcp://5.6.7.8:8081"},
      {"ABC_123_PORT_8081_TCP_PROTO", "tcp"},    {"ABC_123_PORT_8081_TCP_PORT", "8081"},
      {"ABC_123_PORT_8081_TCP_ADDR", "5.6.7.8"},
  };
  EXPECT_EQ(a, want);
  const auto q = variables_for_service(svc("", "q-u-u-x", "9.8.7.6", {P("", 8082), P("8083", 8083)}));
  ASSERT_EQ(q.size(), 12u);
  EXPECT_EQ(q[2], (EnvVar{"Q_U_U_X_SERVICE_PORT_8083", "8083"}));
  EXPECT_EQ(q[3], (EnvVar{"Q_U_U_X_PORT", "tcp://9.8.7.6:8082"}));
}

TEST(ServiceEnv, ThousandServices) {
  std::vector<Service> services = {kubernetes()};
  for (int i = 0; i < 1000; ++i) {
    services.push_back(svc("big", "svc-" + std::to_string(i),
                           "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1),
                           {P("http", 80 + i % 7)}));
  }
  for (int i = 0; i < 9000; ++i) {  // other namespaces: selected out
    services.push_back(
        svc("ns-" + std::to_string(i % 90), "o-" + std::to_string(i), "10.2.0.1", {P("", 80)}));
  }
  constexpr int kRuns = 20;
  std::vector<EnvVar> vars;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRuns; ++r)
    vars = service_env("big", true, services);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(vars.size(), 1001u * 8);
  for (size_t i = 1; i < vars.size(); ++i)
    ASSERT_LT(vars[i - 1].name, vars[i].name);
  std::printf(
      "[ timing   ] service_env: 1,000-service namespace (10,001 services listed) -> %zu variables in %.3f "
      "ms (mean of %d)\n",
      vars.size(), static_cast<double>(us) / 1000.0 / kRuns, kRuns);
  RecordProperty("service_env_1000_us", static_cast<int>(us / kRuns));
}

}  // namespace
}  // namespace clusterdns::envinject
