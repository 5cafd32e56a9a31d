// etcd without a server: base64, key ranges, endpoint URLs, watch stream lines, key layout, value decoding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discovery/etcd/etcd_client.hpp"
#include "discovery/etcd/etcd_objects.hpp"
#include "discovery/etcd/etcd_source.hpp"

namespace clusterdns::discovery::etcd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EtcdCodec, Base64RoundTripsEveryPaddingLength) {
  const std::vector<std::string> inputs = {
      "", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3), "/registry/x"};
  for (const std::string& s : inputs) {
    std::optional<std::string> back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("/skydns/"), "L3NreWRucy8=");
  EXPECT_FALSE(base64_decode("not base64!"));
  EXPECT_FALSE(base64_decode("abc"));
}

TEST(EtcdCodec, PrefixEndCoversThePrefix) {
  EXPECT_EQ(prefix_end("/registry/"), "/registry0");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdCodec, EndpointsParse) {
  std::string error;
  auto ep = parse_endpoint("http://127.0.0.1:2379/", error);
  ASSERT_TRUE(ep);
  EXPECT_FALSE(ep->tls);
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 2379);
  EXPECT_EQ(ep->url, "http://127.0.0.1:2379");
  ep = parse_endpoint("https://[::1]:2379", error);
  ASSERT_TRUE(ep);
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->host, "::1");
  for (const char* bad : {"127.0.0.1:2379", "http://127.0.0.1", "http://h:99999", "ftp://h:1", "http://:1"}) {
    EXPECT_FALSE(parse_endpoint(bad, error)) << bad;
  }
  EXPECT_FALSE(parse_endpoint("ftp://h:1", error));
  EXPECT_THAT(error, HasSubstr("'ftp://h:1' must start with http:// or https://"));
}

TEST(EtcdCodec, WatchLinesAsThe34GatewaySendsThem) {
  // Captured from etcd 3.4.23: int64 as strings, watch_id 0 and PUT's type left out.
  WatchResponse created = parse_watch_line(R"({"result":{"header":{"revision":"1"},"created":true}})", "u");
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.watch_id, 0);
  EXPECT_EQ(created.revision, 1);
  WatchResponse put = parse_watch_line(
      R"({"result":{"header":{"revision":"3"},"watch_id":"1","events":[{"kv":{"key":"L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC9h","create_revision":"2","mod_revision":"3","version":"1","value":"eyJ4IjoxfQ=="}},{"type":"DELETE","kv":{"key":"L2I=","mod_revision":"3"}}]}})",
      "u");
  EXPECT_EQ(put.watch_id, 1);
  ASSERT_EQ(put.events.size(), 2u);
  EXPECT_FALSE(put.events[0].is_delete);
  EXPECT_EQ(put.events[0].kv.key, "/registry/pods/default/a");
  EXPECT_EQ(put.events[0].kv.value, R"({"x":1})");
  EXPECT_EQ(put.events[0].kv.mod_revision, 3);
  EXPECT_TRUE(put.events[1].is_delete);
  EXPECT_EQ(put.events[1].kv.key, "/b");
  WatchResponse compacted = parse_watch_line(
      R"({"result":{"header":{"revision":"9"},"canceled":true,"compact_revision":"4"}})", "u");
  EXPECT_TRUE(compacted.canceled);
  EXPECT_EQ(compacted.compact_revision, 4);
  try {
    parse_watch_line(R"({"error":{"grpc_code":14,"http_code":503,"message":"no leader"}})", "http://x:1");
    FAIL() << "an error line must throw";
  } catch (const EtcdError& e) {
    EXPECT_EQ(e.kind(), EtcdError::Kind::Unavailable);
    EXPECT_THAT(e.what(), HasSubstr("http://x:1: no leader"));
  }
  EXPECT_THROW(parse_watch_line("{not json", "u"), EtcdError);
  EXPECT_THROW(parse_watch_line(R"({"result":{"events":[{"kv":{"key":"!!"}}]}})", "u"), EtcdError);
}

TEST(EtcdLayout, KeysAsKubeApiserverWritesThem) {
  Layout layout("/registry");
  EXPECT_EQ(layout.prefix(), "/registry/");
  EXPECT_EQ(layout.key(Resource::Service, "default", "web"), "/registry/services/specs/default/web");
  EXPECT_EQ(layout.key(Resource::EndpointSlice, "ns", "web-abc"), "/registry/endpointslices/ns/web-abc");
  EXPECT_EQ(layout.key(Resource::Pod, "ns", "p"), "/registry/pods/ns/p");
  EXPECT_EQ(layout.key(Resource::Namespace, "", "ns"), "/registry/namespaces/ns");
  auto k = layout.parse_key("/registry/services/specs/kube-system/kube-dns");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->resource, Resource::Service);
  EXPECT_EQ(k->ns, "kube-system");
  EXPECT_EQ(k->name, "kube-dns");
  EXPECT_FALSE(layout.parse_key("/registry/services/endpoints/default/web"));  // legacy Endpoints: not read
  EXPECT_FALSE(layout.parse_key("/registry/pods/default"));
  EXPECT_FALSE(layout.parse_key("/registry/pods/default/a/b"));
  EXPECT_FALSE(layout.parse_key("/other/pods/default/a"));
}

const char* kStoredService =
    R"({"kind":"Service","apiVersion":"v1","metadata":{"name":"web","namespace":"default",
  "uid":"0b5c","resourceVersion":"7","creationTimestamp":"2024-01-01T00:00:00Z"},"spec":{"ports":[{"name":"http",
  "protocol":"TCP","port":80,"targetPort":8080}],"selector":{"app":"web"},"clusterIP":"10.96.0.10",
  "clusterIPs":["10.96.0.10"],"type":"ClusterIP","sessionAffinity":"None","ipFamilies":["IPv4"]},
  "status":{"loadBalancer":{}}})";

TEST(EtcdDecode, AStoredServiceBecomesTheSlimModel) {
  DecodeResult r = decode_object({Resource::Service, "default", "web"}, kStoredService);
  ASSERT_TRUE(r.object) << r.error;
  const auto* svc = std::get_if<Service>(&r.object->value);
  ASSERT_TRUE(svc);
  EXPECT_EQ(svc->name, "web");
  EXPECT_THAT(svc->cluster_ips, ElementsAre("10.96.0.10"));
  ASSERT_EQ(svc->ports.size(), 1u);
  EXPECT_EQ(svc->ports[0].target_port, "8080");
  EXPECT_EQ(svc->selector.at("app"), "web");
}

TEST(EtcdDecode, MissingIdentityIsTakenFromTheKey) {
  DecodeResult r = decode_object({Resource::Pod, "team", "p"}, R"({"status":{"podIP":"10.1.2.3"}})");
  ASSERT_TRUE(r.object) << r.error;
  const auto* pod = std::get_if<Pod>(&r.object->value);
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->ns, "team");
  EXPECT_EQ(pod->name, "p");
  EXPECT_EQ(pod->ip, "10.1.2.3");
  r = decode_object({Resource::Namespace, "", "team"}, "{}");
  ASSERT_TRUE(r.object) << r.error;
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.object->value));
}

TEST(EtcdDecode, MalformedValuesSayWhy) {
  auto error_of = [](Resource r, const std::string& value) {
    DecodeResult d = decode_object({r, "default", "web"}, value);
    EXPECT_FALSE(d.object) << value;
    return d.error;
  };
  EXPECT_THAT(error_of(Resource::Service, "{"), HasSubstr("not JSON"));
  EXPECT_THAT(error_of(Resource::Service, "[1]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(error_of(Resource::Service, std::string("k8s\0\x0a\x0d", 6)), HasSubstr("protobuf"));
  EXPECT_THAT(error_of(Resource::Pod, kStoredService), HasSubstr("kind 'Service' does not match"));
  EXPECT_THAT(error_of(Resource::Service, R"({"metadata":{"name":"other"}})"),
              HasSubstr("metadata.name 'other'"));
  EXPECT_THAT(error_of(Resource::Service, R"({"metadata":{"namespace":"x"}})"),
              HasSubstr("metadata.namespace"));
  EXPECT_THAT(error_of(Resource::Service, R"({"spec":{"clusterIP":"10.0.0.999"}})"), HasSubstr("10.0.0.999"));
  EXPECT_THAT(error_of(Resource::EndpointSlice, R"({"addressType":"IPv4"})"), HasSubstr("service-name"));
}

TEST(EtcdDecode, RepeatedKeysDeepNestingAndNamesNotTheKeysAreRefused) {
  auto error_of = [](const std::string& value) {
    DecodeResult d = decode_object({Resource::Service, "default", "web"}, value);
    EXPECT_FALSE(d.object) << value;
    return d.error;
  };
  // Which of two "name"s counts depends on the reader: such a value is refused, whichever order.
  EXPECT_THAT(error_of(R"({"metadata":{"name":"evil","namespace":"default","name":"web"}})"),
              HasSubstr("repeated key 'name'"));
  EXPECT_THAT(error_of(R"({"metadata":{"name":"web"},"metadata":{"name":"evil"}})"),
              HasSubstr("repeated key 'metadata'"));
  EXPECT_THAT(error_of(R"({"metadata":{"name":"web","namespace":"other"}})"),
              HasSubstr("metadata.namespace 'other' does not match"));
  EXPECT_THAT(error_of(R"({"spec":{"x":)" + std::string(500, '[') + std::string(500, ']') + "}}"),
              HasSubstr("deeper than"));
  EXPECT_THAT(error_of("{\"a\":\"" + std::string(17u << 20, 'x') + "\"}"), HasSubstr("larger than"));
  // Repeated keys in different objects are fine.
  EXPECT_TRUE(
      decode_object({Resource::Service, "default", "web"},
                    R"({"metadata":{"name":"web","labels":{"name":"x"}},"spec":{"selector":{"name":"y"}}})")
          .object);
}

TEST(EtcdDecode, BuildStateJoinsNamespacesAndComputesSelectorEndpoints) {
  std::map<std::string, SlimObject> objects;
  auto add = [&](const ObjectKey& key, const std::string& value) {
    DecodeResult d = decode_object(key, value);
    ASSERT_TRUE(d.object) << d.error;
    objects[Layout().key(key.resource, key.ns, key.name)] = *d.object;
  };
  add({Resource::Service, "default", "web"}, kStoredService);
  add({Resource::Pod, "default", "web-1"},
      R"({"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c"}]},
          "status":{"phase":"Running","podIP":"10.244.0.5","conditions":[{"type":"Ready","status":"True"}]}})");
  add({Resource::Namespace, "", "empty"}, "{}");
  RegistryState st = build_state(objects);
  EXPECT_THAT(st.namespaces, ElementsAre("default", "empty"));
  ASSERT_EQ(st.endpoint_sets.size(), 1u);
  EXPECT_EQ(st.endpoint_sets[0].service_name, "web");
  ASSERT_EQ(st.endpoint_sets[0].endpoints.size(), 1u);
  EXPECT_THAT(st.endpoint_sets[0].endpoints[0].addresses, ElementsAre("10.244.0.5"));
  ASSERT_EQ(st.endpoint_sets[0].ports.size(), 1u);
  EXPECT_EQ(st.endpoint_sets[0].ports[0].port, 8080);
}

TEST(EtcdSpec, SourceSpecParses) {
  EtcdSourceOptions o;
  std::string error;
  ASSERT_TRUE(
      parse_etcd_spec("http://127.0.0.1:1,https://[::1]:2?prefix=/k8s/&cacert=/ca&cert=/c&key=/k"
                      "&read_timeout=1500ms&connect_timeout=2",
                      o, error))
      << error;
  EXPECT_THAT(o.client.endpoints, ElementsAre("http://127.0.0.1:1", "https://[::1]:2"));
  EXPECT_EQ(o.prefix, "/k8s/");
  EXPECT_EQ(o.client.tls.ca_file, "/ca");
  EXPECT_EQ(o.client.tls.cert_file, "/c");
  EXPECT_EQ(o.client.tls.key_file, "/k");
  EXPECT_EQ(o.read_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o.client.connect_timeout, std::chrono::seconds(2));
  EXPECT_FALSE(parse_etcd_spec("", o, error));
  EXPECT_FALSE(parse_etcd_spec("127.0.0.1:2379", o, error));
  EXPECT_FALSE(parse_etcd_spec("http://h:1?colour=red", o, error));
  EXPECT_THAT(error, HasSubstr("unknown setting 'colour'"));
  EtcdSourceOptions fresh;
  EXPECT_FALSE(parse_etcd_spec("http://h:1?cert=/c", fresh, error));
  EXPECT_THAT(error, HasSubstr("cert and key go together"));
  EXPECT_FALSE(parse_etcd_spec("http://h:1?read_timeout=soon", o, error));
  std::unique_ptr<RegistrySource> src = make_source("etcd:http://127.0.0.1:1", error);
  ASSERT_TRUE(src) << error;
  EXPECT_EQ(src->name(), "etcd:http://127.0.0.1:1");
  EXPECT_FALSE(src->has_synced());
  EXPECT_EQ(src->state(), nullptr);
}

}  // namespace
}  // namespace clusterdns::discovery::etcd
