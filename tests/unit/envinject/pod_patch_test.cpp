// Tests for build_pod_patch: the patched Pod and an RFC 6902 patch that produces exactly it.
#include "envinject/pod_patch.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace clusterdns::envinject {
namespace {

using nlohmann::json;

std::vector<discovery::Service> services() {
  auto make = [](std::string ns, std::string name, std::string ip, std::string port_name, int32_t port) {
    discovery::Service s;
    s.ns = std::move(ns);
    s.name = std::move(name);
    s.cluster_ips = {std::move(ip)};
    discovery::ServicePort p;
    p.name = std::move(port_name);
    p.port = port;
    s.ports = {p};
    return s;
  };
  return {make("default", "kubernetes", "10.0.0.1", "https", 443),
          make("default", "my-nginx", "10.0.162.149", "http", 80),
          make("shop", "cart", "10.0.9.9", "", 8080)};
}

json pod_json() {
  return json::parse(R"json({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default"},
    "spec": {
      "initContainers": [{"name": "init", "image": "busybox"}],
      "containers": [
        {"name": "app", "image": "nginx",
         "env": [{"name": "MY_NGINX_SERVICE_HOST", "value": "override"},
                 {"name": "URL", "value": "http://$(MY_NGINX_SERVICE_HOST)"},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
        {"name": "side", "image": "busybox", "env": []}
      ]
    }
  })json");
}

std::vector<std::string> names(const json& env) {
  std::vector<std::string> out;
  for (const auto& e : env)
    out.push_back(e["name"]);
  return out;
}

TEST(PodPatch, AddsToEveryContainerAndPatchReproducesPod) {
  const json pod = pod_json();
  const PodPatch r = build_pod_patch(pod, services());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(pod.patch(r.patch), r.pod);  // RFC 6902 application gives exactly the returned Pod
  const json& app = r.pod["spec"]["containers"][0]["env"];
  // 16 service variables, one of which the container defines itself; its own three entries follow, unchanged.
  ASSERT_EQ(app.size(), 15u + 3u);
  EXPECT_EQ(app[15], pod["spec"]["containers"][0]["env"][0]);
  EXPECT_EQ(app[17], pod["spec"]["containers"][0]["env"][2]);
  for (const auto& e : app) {
    if (e["name"] == "MY_NGINX_SERVICE_HOST") {
      EXPECT_EQ(e["value"], "override");
    }
  }
  EXPECT_EQ(r.pod["spec"]["containers"][1]["env"].size(), 16u);
  EXPECT_EQ(r.pod["spec"]["initContainers"][0]["env"].size(), 16u);
  auto n = names(r.pod["spec"]["initContainers"][0]["env"]);
  EXPECT_TRUE(std::is_sorted(n.begin(), n.end()));
  EXPECT_EQ(r.added, 15u + 16u + 16u);
  // A container with no env gets one "add" of the whole list.
  bool whole = false;
  for (const auto& op : r.patch)
    whole |= op["path"] == "/spec/initContainers/0/env" && op["value"].is_array();
  EXPECT_TRUE(whole);
  EXPECT_EQ(r.patch[0]["op"], "add");
  EXPECT_EQ(r.patch[0]["path"], "/spec/containers/0/env/0");
}

TEST(PodPatch, RespectsEnableServiceLinksAndNamespace) {
  json pod = pod_json();
  pod["spec"]["enableServiceLinks"] = false;
  PodPatch r = build_pod_patch(pod, services());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.pod["spec"]["containers"][1]["env"].size(), 8u);  // KUBERNETES_* only
  EXPECT_EQ(pod.patch(r.patch), r.pod);

  pod = pod_json();
  pod["metadata"].erase("namespace");
  r = build_pod_patch(pod, services(), "shop");  // the AdmissionReview's namespace
  const auto n = names(r.pod["spec"]["containers"][1]["env"]);
  EXPECT_NE(std::find(n.begin(), n.end(), "CART_SERVICE_HOST"), n.end());
  r = build_pod_patch(pod, services());  // no namespace anywhere: default
  EXPECT_EQ(r.pod["spec"]["containers"][1]["env"].size(), 16u);
}

TEST(PodPatch, NothingToAddIsAnEmptyPatch) {
  json pod = pod_json();
  const PodPatch r = build_pod_patch(pod, {});
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.patch, json::array());
  EXPECT_EQ(r.pod, pod);
}

TEST(PodPatch, MalformedPodIsAnErrorNeverAThrow) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "not a JSON object"},
      {R"({"kind":"Service","spec":{"containers":[]}})", "kind"},
      {R"({"metadata":{"namespace":5},"spec":{"containers":[]}})", "metadata.namespace"},
      {R"({"spec":{}})", "spec.containers"},
      {R"({"spec":{"containers":{}}})", "spec.containers"},
      {R"({"spec":{"containers":[],"enableServiceLinks":"yes"}})", "enableServiceLinks"},
      {R"({"spec":{"containers":[5]}})", "spec.containers[0]"},
      {R"({"spec":{"containers":[{"env":{}}]}})", "env is not an array"},
      {R"({"spec":{"containers":[{"env":[{"value":"x"}]}]}})", "without a string name"},
      {R"({"spec":{"containers":[],"initContainers":7}})", "initContainers"},
  };
  for (const auto& [text, reason] : cases) {
    const json pod = json::parse(text);
    const PodPatch r = build_pod_patch(pod, services());
    EXPECT_NE(r.error.find(reason), std::string::npos) << text << " -> " << r.error;
    EXPECT_EQ(r.patch, json::array());
    EXPECT_EQ(r.pod, pod);
  }
}

TEST(PodPatch, NullEnvIsReplaced) {
  json pod = json::parse(R"({"spec":{"containers":[{"name":"a","env":null}]}})");
  const PodPatch r = build_pod_patch(pod, services());
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.pod["spec"]["containers"][0]["env"].size(), 16u);
  EXPECT_EQ(pod.patch(r.patch), r.pod);
}

// Issue 11 #3: the patch is bounded before it is built; under the bound the webhook's patch-only mode gives
// the same patch as the full one.
TEST(PodPatch, BoundedPatchIsNotBuilt) {
  const json pod = pod_json();
  const PodPatch full = build_pod_patch(pod, services());
  const size_t bytes = full.patch.dump().size();
  PatchOptions only_patch;
  only_patch.build_pod = false;
  only_patch.max_patch_bytes = bytes * 2;
  const PodPatch r = build_pod_patch(pod, services(), "", only_patch);
  EXPECT_EQ(r.oversize, 0u);
  EXPECT_EQ(r.patch, full.patch);
  EXPECT_EQ(r.pod, json::object());  // not built
  EXPECT_EQ(r.added, full.added);

  only_patch.max_patch_bytes = bytes / 2;
  const PodPatch over = build_pod_patch(pod, services(), "", only_patch);
  EXPECT_EQ(over.error, "");
  EXPECT_GT(over.oversize, bytes / 2);
  EXPECT_TRUE(over.patch.empty());
  EXPECT_EQ(over.added, 0u);

  json many = pod;
  json containers = json::array();
  for (int i = 0; i < 10'000; ++i)
    containers.push_back({{"name", "c" + std::to_string(i)}});
  many["spec"]["containers"] = containers;
  only_patch.max_patch_bytes = 1 << 20;
  const PodPatch big = build_pod_patch(many, services(), "", only_patch);
  EXPECT_GT(big.oversize, 1u << 20);
  EXPECT_LT(big.oversize, (1u << 20) + 1000);  // the estimate stops at the bound
  EXPECT_TRUE(big.patch.empty());
}

}  // namespace
}  // namespace clusterdns::envinject
