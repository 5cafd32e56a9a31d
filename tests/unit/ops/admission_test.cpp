// /v1/env and the admission webhook's answers: every malformed-review path (allowed), undecodable bodies
// (400).
#include "ops/http/admission.hpp"

#include <openssl/evp.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

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
       {std::string("[]"), json{{"kind", "AdmissionReview"}}.dump(),
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

// Issue 11 #2: a review nesting an array 500,000 deep used to overflow the stack (nlohmann copies and dumps
// recursively) and take the whole server down; it is now refused before any tree is built.
TEST(Admission, DeeplyNestedReviewIsRefusedBeforeParsing) {
  const auto state = registry();
  const size_t depth = 500'000;
  std::string deep = review(pod()).dump();
  const std::string needle = R"("image":"busybox")";
  const size_t at = deep.find(needle);
  ASSERT_NE(at, std::string::npos);
  deep.replace(at, needle.size(),
               R"("image":"busybox","x":)" + std::string(depth, '[') + std::string(depth, ']'));
  const HttpReply r = admission_reply(deep, &state);
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(json::parse(r.body)["error"].get<std::string>(), HasSubstr("nests deeper than 64 levels"));
  ASSERT_FALSE(r.log.empty());
}

TEST(Admission, UndecodableBodiesAre400WithAReason) {
  const auto state = registry();
  AdmissionLimits small;
  small.max_body_bytes = 100;
  for (const auto& [body, limits, reason] :
       std::vector<std::tuple<std::string, AdmissionLimits, std::string>>{
           {"not json", {}, "not JSON: parse error"},
           {"{\"kind\":\"\xff\"}", {}, "not JSON"},  // not UTF-8
           {std::string(200, ' '), small, "more than the limit of 100"}}) {
    const HttpReply r = admission_reply(body, &state, limits);
    EXPECT_EQ(r.status, 400) << body;
    const json out = json::parse(r.body);  // valid JSON (and UTF-8) even when quoting bad bytes
    EXPECT_THAT(out["error"].get<std::string>(), HasSubstr(reason)) << body;
  }
}

// Issue 11 #9: fields of the wrong type answered 500 (nlohmann's value() throws type_error).
TEST(Admission, WronglyTypedFieldsAreAllowedWithAWarningNever500) {
  const auto state = registry();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"apiVersion":"admission.k8s.io/v1","kind":5,"request":{}})", "expected an admission.k8s.io/v1"},
      {R"({"apiVersion":["x"],"kind":"AdmissionReview","request":{}})", "expected an admission.k8s.io/v1"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}})", "no uid"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
          "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":{"a":1},
          "object":{"spec":{"containers":[]}}}})",
       "namespace is not a string"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
          "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default",
          "object":{"metadata":{"namespace":3},"spec":{"containers":[]}}}})",
       "metadata.namespace is not a string"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
          "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default",
          "object":{"spec":{"enableServiceLinks":"yes","containers":[]}}}})",
       "enableServiceLinks is not a boolean"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
          "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default",
          "object":{"spec":{"containers":[{"env":[{"name":1}]}]}}}})",
       "without a string name"},
  };
  for (const auto& [body, warning] : cases) {
    HttpReply r;
    ASSERT_NO_THROW(r = admission_reply(body, &state)) << body;
    EXPECT_EQ(r.status, 200) << body;
    const json out = json::parse(r.body);
    EXPECT_EQ(out["response"]["allowed"], true) << body;
    EXPECT_FALSE(out["response"].contains("patch")) << body;
    ASSERT_TRUE(out["response"].contains("warnings")) << body;
    EXPECT_THAT(out["response"]["warnings"][0].get<std::string>(), HasSubstr(warning)) << body;
  }
  // Wrong types in fields that only select (kind, operation): not a Pod CREATE, allowed silently.
  json odd = review(pod());
  odd["request"]["operation"] = 1;
  odd["request"]["kind"] = "Pod";
  const json out = json::parse(admission_reply(odd.dump(), &state).body);
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_FALSE(out["response"].contains("warnings"));
}

// Issue 11 #3: a Pod of 10,000 containers gave a 23 MB patch (449 MB RSS); above the bound the review is
// allowed with a warning and no patch, and nothing of the patch's size is built.
TEST(Admission, PatchOverTheBoundIsAllowedWithAWarning) {
  auto state = registry();
  for (int i = 0; i < 50; ++i) {
    discovery::Service s;
    s.ns = "default";
    s.name = "svc-" + std::to_string(i);
    s.cluster_ips = {"10.0.1." + std::to_string(i)};
    s.ports = {{"http", 80, discovery::Protocol::Tcp, ""}};
    state.services.push_back(s);
  }
  json p = pod();
  json containers = json::array();
  for (int i = 0; i < 10'000; ++i)
    containers.push_back({{"name", "c" + std::to_string(i)}, {"image", "busybox"}});
  p["spec"]["containers"] = containers;
  const HttpReply r = admission_reply(review(p).dump(), &state);
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.body.size(), 1000u);
  const json out = json::parse(r.body);
  EXPECT_EQ(out["response"]["allowed"], true);
  EXPECT_EQ(out["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_FALSE(out["response"].contains("patch"));
  EXPECT_THAT(out["response"]["warnings"][0].get<std::string>(),
              HasSubstr("the patch would be larger than the limit of 1048576 bytes"));
  // A few containers stay under the bound and are patched.
  p["spec"]["containers"] = json::array({containers[0], containers[1]});
  const json small = json::parse(admission_reply(review(p).dump(), &state).body);
  EXPECT_TRUE(small["response"].contains("patch"));
  EXPECT_FALSE(small["response"].contains("warnings"));
}

// Issue 11 #9: /v1/env answered 500 when a parameter held bytes that are not UTF-8 (the error message
// quoting it could not be dumped).
TEST(Admission, EnvReplyRejectsBadParametersWithoutThrowing) {
  const auto state = registry();
  for (const auto& [ns, links] : std::vector<std::pair<std::string, std::string>>{{"default", "\xff\xfe"},
                                                                                  {"\xff", ""},
                                                                                  {"Default", ""},
                                                                                  {"a/b", ""},
                                                                                  {std::string(64, 'a'), ""},
                                                                                  {"-x", ""}}) {
    HttpReply r;
    ASSERT_NO_THROW(r = env_reply(ns, links, &state));
    EXPECT_EQ(r.status, 400) << ns << " " << links;
    json parsed;
    EXPECT_NO_THROW(parsed = json::parse(r.body));
  }
  EXPECT_EQ(env_reply(std::string(63, 'a'), "", &state).status, 200);
}
