// /v1/env and the admission webhook's answers, including every malformed-review path (always allowed).
#include "ops/admission.hpp"

#include <openssl/evp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace clusterdns;
using namespace clusterdns::ops;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

discovery::RegistryState registry() {
  discovery::RegistryState s;
  discovery::Service k;
  k.ns = "default";
  k.name = "kubernetes";
  k.cluster_ips = {"10.0.0.1"};
  k.ports = {{"https", 443, discovery::Protocol::Tcp, "6443"}};
  discovery::Service n;
  n.ns = "default";
  n.name = "my-nginx";
  n.cluster_ips = {"10.0.162.149"};
  n.ports = {{"", 80, discovery::Protocol::Tcp, ""}};
  s.services = {k, n};
  s.namespaces = {"default"};
  return s;
}

std::string decode64(const std::string& in) {
  std::string out(in.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!in.empty() && in.back() == '=' && !out.empty() && out.back() == '\0')
    out.pop_back();  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

json review(json object, const std::string& op = "CREATE") {
  return json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"request",
               {{"uid", "705ab4f5-6393-11e8-b7cc-42010a800002"},
                {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                {"resource", {{"group", ""}, {"version", "v1"}, {"resource", "pods"}}},
                {"namespace", "default"},
                {"operation", op},
                {"object", object}}}};
}

json pod() {
  return json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"containers":[{"name":"c","image":"busybox","env":[{"name":"MY_NGINX_SERVICE_HOST","value":"mine"}]}]}})");
}

}  // namespace

TEST(Admission, PodCreateGetsAJsonPatch) {
  const auto state = registry();
  const HttpReply r = admission_reply(review(pod()).dump(), &state);
  EXPECT_EQ(r.status, 200);
  const json out = json::parse(r.body);
  EXPECT_EQ(out["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(out["kind"], "AdmissionReview");
  EXPECT_EQ(out["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_EQ(out["response"]["patchType"], "JSONPatch");
  const json patch = json::parse(decode64(out["response"]["patch"]));
  const json patched = pod().patch(patch);
  std::map<std::string, std::string> env;
  for (const auto& e : patched["spec"]["containers"][0]["env"])
    env[e["name"]] = e["value"];
  EXPECT_EQ(env["KUBERNETES_SERVICE_HOST"], "10.0.0.1");
  EXPECT_EQ(env["KUBERNETES_SERVICE_PORT_HTTPS"], "443");
  EXPECT_EQ(env["MY_NGINX_PORT"], "tcp://10.0.162.149:80");
  EXPECT_EQ(env["MY_NGINX_SERVICE_HOST"], "mine");  // the container's own value wins
  EXPECT_GT(r.added, 5u);
}

TEST(Admission, MalformedReviewsAreAllowedWithAWarning) {
  const auto state = registry();
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), json{{"kind", "AdmissionReview"}}.dump(),
        json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}}.dump(),
        review(json::parse(R"({"spec":{"containers":"no"}})")).dump(), review("a string").dump()}) {
    const HttpReply r = admission_reply(body, &state);
    EXPECT_EQ(r.status, 200) << body;
    const json out = json::parse(r.body);
    EXPECT_EQ(out["response"]["allowed"], true) << body;
    EXPECT_FALSE(out["response"].contains("patch")) << body;
    ASSERT_TRUE(out["response"].contains("warnings")) << body;
    EXPECT_THAT(out["response"]["warnings"][0].get<std::string>(), HasSubstr("clusterdns envinject: "));
    EXPECT_FALSE(r.log.empty());
  }
}

TEST(Admission, OtherOperationsAndUnsyncedRegistry) {
  const auto state = registry();
  json out = json::parse(admission_reply(review(pod(), "UPDATE").dump(), &state).body);
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_FALSE(out["response"].contains("patch"));
  EXPECT_FALSE(out["response"].contains("warnings"));
  out = json::parse(admission_reply(review(pod()).dump(), nullptr).body);
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_THAT(out["response"]["warnings"][0].get<std::string>(), HasSubstr("not synced"));
}

TEST(Admission, EnvReply) {
  const auto state = registry();
  HttpReply r = env_reply("default", "", &state);
  EXPECT_EQ(r.status, 200);
  const json vars = json::parse(r.body);
  ASSERT_TRUE(vars.is_array());
  EXPECT_EQ(vars[0]["name"], "KUBERNETES_PORT");
  r = env_reply("other", "false", &state);
  EXPECT_EQ(json::parse(r.body).size(), 8u);  // default/kubernetes only
  EXPECT_EQ(env_reply("", "", &state).status, 400);
  EXPECT_EQ(env_reply("default", "maybe", &state).status, 400);
  EXPECT_EQ(env_reply("default", "", nullptr).status, 503);
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
}
