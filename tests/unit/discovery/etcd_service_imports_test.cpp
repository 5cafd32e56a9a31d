// ServiceImports in etcd (multicluster.x-k8s.io/serviceimports/<ns>/<name>, the API server's custom resource
// layout): the key layout, decoding, and EtcdSource against a real etcd following put/update/delete.
#include "discovery/etcd/etcd_source.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "discovery/etcd/testing/fixtures.hpp"
#include "discovery/etcd/testing/local_etcd.hpp"

namespace clusterdns::discovery::etcd {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // the etcd test support
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A ServiceImport as kube-apiserver stores it for a v1alpha1 CustomResourceDefinition (ips empty: Headless).
std::string import_json(const std::string& ns, const std::string& name, const std::vector<std::string>& ips,
                        int port = 80, const std::string& api_version = "multicluster.x-k8s.io/v1alpha1") {
  nlohmann::json spec = {{"type", ips.empty() ? "Headless" : "ClusterSetIP"},
                         {"ports", {{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}}}};
  if (!ips.empty()) spec["ips"] = ips;
  return nlohmann::json{{"apiVersion", api_version},
                        {"kind", "ServiceImport"},
                        {"metadata",
                         {{"name", name},
                          {"namespace", ns},
                          {"uid", "u-" + name},
                          {"generation", 1},
                          {"creationTimestamp", "2024-05-01T10:00:00Z"}}},
                        {"spec", spec},
                        {"status", {{"clusters", {{{"cluster", "cluster-a"}}}}}}}
      .dump();
}

const ServiceImport* find_import(const RegistryState& st, const std::string& ns, const std::string& name) {
  for (const auto& i : st.service_imports) {
    if (i.ns == ns && i.name == name) return &i;
  }
  return nullptr;
}

TEST(EtcdServiceImportLayout, CustomResourceKeys) {
  Layout layout;
  EXPECT_EQ(layout.key(Resource::ServiceImport, "shop", "web"),
            "/registry/multicluster.x-k8s.io/serviceimports/shop/web");
  auto key = layout.parse_key("/registry/multicluster.x-k8s.io/serviceimports/shop/web");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->resource, Resource::ServiceImport);
  EXPECT_EQ(key->ns, "shop");
  EXPECT_EQ(key->name, "web");
  EXPECT_FALSE(layout.parse_key("/registry/multicluster.x-k8s.io/serviceexports/shop/web"));
  EXPECT_FALSE(layout.parse_key("/registry/multicluster.x-k8s.io/serviceimports/shop"));
}

TEST(EtcdServiceImportDecode, StoredObjectsDecodeWithTheManifestRules) {
  ObjectKey key{Resource::ServiceImport, "shop", "web"};
  DecodeResult r = decode_object(key, import_json("shop", "web", {"10.42.0.7"}));
  ASSERT_TRUE(r.object) << r.error;
  const auto* i = std::get_if<ServiceImport>(&r.object->value);
  ASSERT_NE(i, nullptr);
  EXPECT_EQ(i->type, ImportType::ClusterSetIp);
  EXPECT_THAT(i->ips, ElementsAre("10.42.0.7"));

  // Another object's name under this key, another storage version, a broken spec: each refused with why.
  r = decode_object(key, import_json("shop", "other", {"10.42.0.7"}));
  EXPECT_THAT(r.error, HasSubstr("does not match the key"));
  r = decode_object(key, import_json("shop", "web", {"10.42.0.7"}, 80, "multicluster.x-k8s.io/v1beta1"));
  EXPECT_FALSE(r.object);
  EXPECT_THAT(r.error, HasSubstr("clusterdns reads multicluster.x-k8s.io/v1alpha1"));
  nlohmann::json bad = nlohmann::json::parse(import_json("shop", "web", {"10.42.0.7"}));
  bad["spec"]["type"] = "NodePort";
  r = decode_object(key, bad.dump());
  EXPECT_THAT(r.error, HasSubstr("spec.type 'NodePort'"));
}

class EtcdServiceImports : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (etcd_installed()) etcd_ = new LocalEtcd();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (!etcd_) GTEST_SKIP() << "etcd is not installed (Debian etcd-server)";
    static int counter = 0;
    layout_ = Layout("/si" + std::to_string(++counter) + "/registry/");
    ClientOptions o;
    o.endpoints = {etcd_->url()};
    client_ = std::make_unique<Client>(o);
  }
  EtcdSourceOptions options() const {
    EtcdSourceOptions o;
    o.client.endpoints = {etcd_->url()};
    o.client.connect_timeout = 1s;
    o.client.request_timeout = 2s;
    o.prefix = layout_.prefix();
    o.read_timeout = 3s;
    o.backoff_initial = 50ms;
    o.backoff_max = 500ms;
    return o;
  }
  void put(const std::string& ns, const std::string& name, const std::string& value) {
    client_->put(layout_.key(Resource::ServiceImport, ns, name), value);
  }

  static LocalEtcd* etcd_;
  Layout layout_;
  std::unique_ptr<Client> client_;
};

LocalEtcd* EtcdServiceImports::etcd_ = nullptr;

TEST_F(EtcdServiceImports, RangedThenWatched) {
  put("shop", "web", import_json("shop", "web", {"10.42.0.7"}));
  client_->put(layout_.key(Resource::EndpointSlice, "shop", "web-a"), [] {
    nlohmann::json s = nlohmann::json::parse(slice_json("shop", "web-a", "unused", {"10.1.0.7"}));
    s["metadata"]["labels"] = {{"multicluster.kubernetes.io/service-name", "web"},
                               {"multicluster.kubernetes.io/source-cluster", "cluster-a"}};
    return s.dump();
  }());
  EtcdSource src(options());
  src.start([] {});
  ASSERT_TRUE(
      wait_for_state(src, [](const RegistryState& st) { return find_import(st, "shop", "web") != nullptr; }));
  auto st = src.state();
  EXPECT_THAT(find_import(*st, "shop", "web")->ips, ElementsAre("10.42.0.7"));
  EXPECT_THAT(st->namespaces, ElementsAre("shop"));
  ASSERT_EQ(st->endpoint_sets.size(), 1u);
  EXPECT_EQ(st->endpoint_sets[0].source_cluster, "cluster-a");

  put("shop", "web", import_json("shop", "web", {"10.42.0.8"}, 8080));
  put("shop", "db", import_json("shop", "db", {}));
  ASSERT_TRUE(wait_for_state(src, [](const RegistryState& s) {
    const auto* web = find_import(s, "shop", "web");
    const auto* db = find_import(s, "shop", "db");
    return web && web->ips == std::vector<std::string>{"10.42.0.8"} && web->ports[0].port == 8080 && db &&
           db->type == ImportType::Headless;
  }));

  // A value that does not decode keeps the last good version; a delete removes it.
  put("shop", "web", import_json("shop", "web", {"10.42.0.9"}, 80, "multicluster.x-k8s.io/v1beta1"));
  put("shop", "late", import_json("shop", "late", {"10.42.0.10"}));
  ASSERT_TRUE(
      wait_for_state(src, [](const RegistryState& s) { return find_import(s, "shop", "late") != nullptr; }));
  EXPECT_THAT(find_import(*src.state(), "shop", "web")->ips, ElementsAre("10.42.0.8"));
  EXPECT_GE(src.stats().malformed, 1u);
  client_->delete_range(layout_.key(Resource::ServiceImport, "shop", "web"), "");
  ASSERT_TRUE(
      wait_for_state(src, [](const RegistryState& s) { return find_import(s, "shop", "web") == nullptr; }));
  EXPECT_NE(find_import(*src.state(), "shop", "db"), nullptr);
  src.stop();
}

}  // namespace
}  // namespace clusterdns::discovery::etcd
