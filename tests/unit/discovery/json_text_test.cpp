// JsonReader (simdjson into Documents) and what the API and etcd sources read with it: list pages with a
// broken item, watch-style documents, etcd range answers.
#include "discovery/objects/json_text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/etcd/etcd_json.hpp"
#include "discovery/k8s/list_page.hpp"
#include "discovery/k8s/objects.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::optional<Document> read(const std::string& text, JsonWalk& walk) {
  return thread_json_reader().document(PaddedJson(std::string_view(text)), walk);
}

std::string error_of(const std::string& text) {
  JsonWalk walk;
  EXPECT_FALSE(read(text, walk)) << text;
  return walk.error;
}

TEST(JsonText, MalformedTextIsRefusedWithAReason) {
  for (const char* bad :
       {"", "{", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1}}", "{\"a\":1} x", "{\"a\":tru}",
        "{\"a\":nul}", "{\"a\":-}", "{\"a\":01}", "{\"a\":1.}", "[1,{\"b\":2]}", "{\"a\":\"\\ud800\"}",
        "{\"a\":\"x\ty\"}", "{\"a\":\"\xff\"}", "{'a':1}"}) {
    EXPECT_THAT(error_of(bad), StartsWith("not JSON")) << bad;
  }
  EXPECT_THAT(error_of("{\"a\":\"\xc3\x28\"}"), HasSubstr("UTF-8"));
}

TEST(JsonText, ValuesKeepTheirTypeAndText) {
  JsonWalk walk;
  auto doc =
      read(R"({"s":"true","b":true,"n":-12,"f":1.50,"e":1E2,"z":null,"l":[1,"x"],"u":"\u00e9\n"})", walk);
  ASSERT_TRUE(doc) << walk.error;
  DocNode r = doc->root();
  EXPECT_FALSE(r.get("s").plain());  // a string, even one that reads as a boolean
  EXPECT_EQ(r.get("s").scalar(), "true");
  EXPECT_TRUE(r.get("b").plain());
  EXPECT_EQ(r.get("b").scalar(), "true");
  EXPECT_EQ(r.get("n").scalar(), "-12");
  EXPECT_EQ(r.get("f").scalar(), "1.50");  // as written: the field rules see what the user wrote
  EXPECT_EQ(r.get("e").scalar(), "1E2");
  EXPECT_TRUE(r.get("z").is_null());
  ASSERT_EQ(r.get("l").size(), 2u);
  EXPECT_TRUE(r.get("l")[0].plain());
  EXPECT_EQ(r.get("u").scalar(), "\xc3\xa9\n");
  // Whitespace around numbers is not part of them.
  doc = read("{ \"a\" : 42 , \"b\" : [ 7 ] }", walk);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->root().get("a").scalar(), "42");
  EXPECT_EQ(doc->root().get("b")[0].scalar(), "7");
}

TEST(JsonText, HugeNumbersAreKeptAsWrittenOrRefused) {
  JsonWalk walk;
  auto doc =
      read(R"({"big":99999999999999999999,"neg":-9223372036854775809,"max":18446744073709551615})", walk);
  ASSERT_TRUE(doc) << walk.error;
  EXPECT_EQ(doc->root().get("big").scalar(), "99999999999999999999");
  EXPECT_EQ(doc->root().get("neg").scalar(), "-9223372036854775809");
  EXPECT_EQ(doc->root().get("max").scalar(), "18446744073709551615");
  // Beyond a double (nlohmann refused it too).
  EXPECT_THAT(error_of(R"({"a":1e400})"), StartsWith("not JSON"));
  // The field rules then say which value is no port.
  auto svc = read(
      R"({"metadata":{"name":"web"},"spec":{"clusterIP":"10.0.0.1","ports":[{"port":99999999999999999999}]}})",
      walk);
  ASSERT_TRUE(svc);
  k8s::SlimResult s = k8s::slim_object(k8s::Kind::Service, svc->root());
  EXPECT_FALSE(s.object);
  EXPECT_THAT(s.error, HasSubstr("99999999999999999999"));
}

TEST(JsonText, RepeatedKeysAreFoundAtTheirDepth) {
  JsonWalk walk;
  auto doc = read(R"({"a":{"b":1},"c":[{"b":2},{"b":3}],"d":{"x":{"y":1,"y":2}}})", walk);
  ASSERT_TRUE(doc) << walk.error;  // the document is whole; the caller decides
  EXPECT_EQ(walk.duplicate, "y");
  EXPECT_EQ(walk.duplicate_depth, 3);
  EXPECT_EQ(walk.duplicate_reason(), "repeated key 'y' in one object");
  walk = JsonWalk();
  ASSERT_TRUE(read(R"({"type":"ADDED","type":"DELETED"})", walk));
  EXPECT_EQ(walk.duplicate_depth, 1);
  // More than 16 keys (the sorted check).
  std::string many = "{";
  for (int i = 0; i < 40; ++i)
    many += "\"k" + std::to_string(i) + "\":1,";
  walk = JsonWalk();
  ASSERT_TRUE(read(many + "\"k7\":2}", walk));
  EXPECT_EQ(walk.duplicate, "k7");
  std::string error;
  EXPECT_FALSE(
      parse_json_text(PaddedJson(std::string_view(R"({"metadata":{"name":"a","name":"b"}})")), error));
  EXPECT_EQ(error, "repeated key 'name' in one object");
  EXPECT_TRUE(parse_json_text(PaddedJson(std::string_view(R"({"a":{"name":1},"b":{"name":2}})")), error));
}

TEST(JsonText, NestingIsBounded) {
  JsonWalk walk;
  EXPECT_TRUE(read(std::string(100, '[') + std::string(100, ']'), walk)) << walk.error;
  EXPECT_EQ(error_of(std::string(101, '[') + std::string(101, ']')), "nested deeper than 100 levels");
  EXPECT_EQ(error_of(std::string(100000, '[') + std::string(100000, ']')), "nested deeper than 100 levels");
  EXPECT_TRUE(read(R"({"s":"[[[[{{{{\"[["})", walk));  // brackets in strings do not count
}

TEST(JsonText, PaddingInTheCallersBufferSparesTheCopy) {
  std::string text = R"({"a":1})";
  text.shrink_to_fit();
  EXPECT_TRUE(PaddedJson(text).copied());
  reserve_json_padding(text);
  EXPECT_FALSE(PaddedJson(text).copied());
  std::string error;
  EXPECT_TRUE(parse_json_text(PaddedJson(text), error)) << error;
  // A text without room is copied into the caller's reused buffer.
  std::string small = R"({"b":2})", scratch;
  small.shrink_to_fit();
  auto doc = parse_json_text(PaddedJson(small, scratch), error);
  ASSERT_TRUE(doc) << error;
  EXPECT_EQ(doc->root().get("b").scalar(), "2");
  EXPECT_EQ(scratch, small);
  const char* kept = scratch.data();
  small = R"({"c":3})";
  EXPECT_TRUE(parse_json_text(PaddedJson(small, scratch), error));
  EXPECT_EQ(scratch.data(), kept);  // reused, not reallocated
}

std::string item(const std::string& name, const std::string& ip) {
  return R"({"metadata":{"name":")" + name + R"(","namespace":"default","resourceVersion":"5"},)" +
         R"("spec":{"clusterIP":")" + ip + R"(","ports":[{"port":80}]}})";
}

TEST(JsonText, ListPageReadsEveryItemAndNamesTheBrokenOnes) {
  const std::string page =
      R"({"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"77",)"
      R"("continue":"next"},"items":[)" +
      item("a", "10.0.0.1") +
      R"(,{"metadata":{"name":"dup","namespace":"default","name":"evil"},"spec":{}},)" +
      item("badip", "10.0.0.999") + "," +
      R"({"metadata":{"name":"typed","namespace":"default"},"spec":{"clusterIP":"10.0.0.3","ports":[{"port":"x"}]}},)" +
      R"("not an object",)" + item("b", "10.0.0.2") + "]}";
  std::map<std::string, std::string> errors;
  std::vector<std::string> kept;
  k8s::ListPageResult r = k8s::read_list_page(page, k8s::Kind::Service, [&](k8s::SlimResult& s) {
    if (s.object) kept.push_back(s.key);
    if (!s.error.empty()) errors[s.key] = s.error;
  });
  EXPECT_EQ(r.problem, "");
  EXPECT_EQ(r.resource_version, "77");
  EXPECT_EQ(r.continue_token, "next");
  EXPECT_THAT(kept, ::testing::ElementsAre("default/a", "default/b"));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors["default/dup"], "repeated key 'name' in one object");
  EXPECT_THAT(errors["default/badip"], HasSubstr("10.0.0.999"));
  EXPECT_THAT(errors["default/typed"], HasSubstr("'x'"));
}

TEST(JsonText, ListPageProblemsRefuseThePage) {
  auto problem = [](const std::string& page) {
    return k8s::read_list_page(page, k8s::Kind::Service, [](k8s::SlimResult&) {}).problem;
  };
  EXPECT_EQ(problem(R"({"metadata":{},"items":[]})"), "");
  EXPECT_EQ(problem(R"({"metadata":{},"items":[)" + item("a", "10.0.0.1")),
            "list response is not a JSON list object");
  EXPECT_EQ(problem(R"([])"), "list response is not a JSON list object");
  EXPECT_EQ(problem(R"({"items":[]})"), "list response is not a JSON list object");  // no metadata
  EXPECT_EQ(problem(R"({"metadata":{},"items":[],"items":[]})"), "list response repeats the key 'items'");
  EXPECT_EQ(problem(R"({"metadata":{"resourceVersion":"1","resourceVersion":"2"},"items":[]})"),
            "list response repeats the key 'resourceVersion'");
  EXPECT_EQ(
      problem(R"({"metadata":{},"items":[{"a":)" + std::string(200, '[') + std::string(200, ']') + "}]}"),
      "list page nested deeper than 100 levels");
  // Items read before the break are handed out; the page is still refused.
  int seen = 0;
  auto r = k8s::read_list_page(R"({"metadata":{},"items":[)" + item("a", "10.0.0.1") + ",{]}",
                               k8s::Kind::Service, [&](k8s::SlimResult&) { ++seen; });
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(r.problem, "list response is not a JSON list object");
}

TEST(JsonText, SlimmingAgreesWithTheNlohmannPath) {
  const std::string text =
      R"({"metadata":{"name":"web","namespace":"shop","annotations":{"service.alpha.kubernetes.io/tolerate-unready-endpoints":"true","x":"y"},"managedFields":[{"a":1}]},)"
      R"("spec":{"clusterIP":"10.96.7.8","clusterIPs":["10.96.7.8","fd00::7:8"],"selector":{"b":"2","a":"1"},)"
      R"("ports":[{"name":"http","port":80,"targetPort":"web"},{"name":"dns","port":53,"protocol":"UDP"}]},)"
      R"("status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1","ports":[]}]}}})";
  JsonWalk walk;
  auto doc = read(text, walk);
  ASSERT_TRUE(doc);
  k8s::SlimResult a = k8s::slim_object(k8s::Kind::Service, doc->root());
  k8s::SlimResult b = k8s::slim_object(k8s::Kind::Service, nlohmann::json::parse(text));
  ASSERT_TRUE(a.object) << a.error;
  ASSERT_TRUE(b.object) << b.error;
  EXPECT_EQ(std::get<Service>(*a.object), std::get<Service>(*b.object));
  EXPECT_TRUE(std::get<Service>(*a.object).publish_not_ready);
  EXPECT_EQ(std::get<Service>(*a.object).load_balancer.size(), 1u);
  EXPECT_EQ(k8s::resource_version(doc->root()), "");
}

TEST(JsonText, EtcdRangeAnswersAreDecoded) {
  using etcd::EtcdError;
  const std::string body =
      R"({"header":{"cluster_id":"1","revision":"42"},"kvs":[{"key":"L2E=","create_revision":"3",)"
      R"("mod_revision":"7","version":"1","value":"eyJhIjoxfQ=="},{"key":"L2I=","mod_revision":8}],)"
      R"("more":true,"count":"2"})";
  etcd::RangePage page = etcd::detail::parse_range(body, "http://e:1");
  EXPECT_EQ(page.revision, 42);
  EXPECT_TRUE(page.more);
  ASSERT_EQ(page.kvs.size(), 2u);
  EXPECT_EQ(page.kvs[0].key, "/a");
  EXPECT_EQ(page.kvs[0].value, "{\"a\":1}");
  EXPECT_EQ(page.kvs[0].mod_revision, 7);
  EXPECT_EQ(page.kvs[1].value, "");
  EXPECT_EQ(page.kvs[1].mod_revision, 8);
  EXPECT_EQ(etcd::detail::parse_range(R"({"header":{"revision":"5"}})", "u").kvs.size(), 0u);

  auto protocol_error = [](const std::string& text) {
    try {
      etcd::detail::parse_range(text, "u");
    } catch (const EtcdError& e) {
      EXPECT_EQ(e.kind(), EtcdError::Kind::Protocol) << text;
      return std::string(e.what());
    }
    ADD_FAILURE() << "no error for " << text;
    return std::string();
  };
  EXPECT_THAT(protocol_error("not json"), HasSubstr("not a JSON object"));
  EXPECT_THAT(protocol_error("[]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(protocol_error(R"({"kvs":[{"key":"!!"}]})"), HasSubstr("kv.key is not base64"));
  EXPECT_THAT(protocol_error(R"({"kvs":[{"key":"L2E=","value":5}]})"), HasSubstr("kv.value is not base64"));
  EXPECT_THAT(protocol_error(R"({"kvs":[{"key":"L2E=","mod_revision":"x"}]})"),
              HasSubstr("mod_revision is not an integer"));
  EXPECT_THAT(protocol_error(R"({"header":{"revision":1.5}})"), HasSubstr("revision is not an integer"));
  EXPECT_THAT(protocol_error(R"({"kvs":[7]})"), HasSubstr("a kv is not an object"));
  EXPECT_THAT(protocol_error(R"({"header":{"revision":"1"}} x)"), HasSubstr("not a JSON object"));
  EXPECT_THAT(protocol_error(R"({"header":{"revision":"1"}}})"), HasSubstr("not JSON"));
  EXPECT_THAT(protocol_error(R"({"count":tru,"header":{"revision":"1"}})"), HasSubstr("not JSON"));
}

}  // namespace
}  // namespace clusterdns::discovery
