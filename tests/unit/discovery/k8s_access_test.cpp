// Kubeconfig and in-cluster loading: what is read, what is refused (and why), make_source's new schemes.
#include "discovery/k8s/cluster_access.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "discovery/source.hpp"
#include "tests/k8s_api/harness.hpp"

namespace clusterdns::discovery {
namespace {

using k8s_api::testing::base64;
using k8s_api::testing::kubeconfig_text;
using k8s_api::testing::ScratchDir;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(K8sKubeconfig, TokenFileAndCaFileResolveAgainstTheKubeconfigDirectory) {
  ScratchDir dir;
  dir.write("token", "abc\n");
  dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n");
  std::string path =
      dir.write("config", kubeconfig_text("https://10.0.0.1:6443/", {{"certificate-authority", "ca.pem"}},
                                          {{"tokenFile", "token"}}));
  std::string error;
  auto a = load_kubeconfig(path, "", error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->server, "https://10.0.0.1:6443");
  EXPECT_EQ(a->ca_file, dir.file("ca.pem"));
  EXPECT_EQ(a->token_file, dir.file("token"));
  EXPECT_EQ(a->origin, "kubeconfig:" + path + "#test");
}

TEST(K8sKubeconfig, DataFieldsAreDecoded) {
  ScratchDir dir;
  std::string path = dir.write(
      "config", kubeconfig_text("https://k8s.example:443", {{"certificate-authority-data", base64("CA PEM")}},
                                {{"client-certificate-data", base64("CERT")},
                                 {"client-key-data", base64("KEY")},
                                 {"token", "t0k"}}));
  std::string error;
  auto a = load_kubeconfig(path, "test", error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->ca_pem, "CA PEM");
  EXPECT_EQ(a->client_cert_pem, "CERT");
  EXPECT_EQ(a->client_key_pem, "KEY");
  EXPECT_EQ(a->token, "t0k");
}

TEST(K8sKubeconfig, RefusesWhatWouldWeakenOrNotWork) {
  ScratchDir dir;
  auto reason = [&](const json& cluster, const json& user, const std::string& context = "") {
    std::string path = dir.write("config", kubeconfig_text("https://10.0.0.1", cluster, user));
    std::string error;
    EXPECT_FALSE(load_kubeconfig(path, context, error));
    return error;
  };
  EXPECT_THAT(reason({{"insecure-skip-tls-verify", true}}, json::object()),
              HasSubstr("insecure-skip-tls-verify is refused"));
  EXPECT_THAT(reason(json::object(), {{"exec", {{"command", "aws"}}}}), HasSubstr("exec credential plugins"));
  EXPECT_THAT(reason(json::object(), {{"username", "u"}, {"password", "p"}}),
              HasSubstr("basic authentication"));
  EXPECT_THAT(reason(json::object(), {{"client-certificate-data", base64("C")}}), HasSubstr("both"));
  EXPECT_THAT(reason({{"certificate-authority-data", "%%%"}}, json::object()), HasSubstr("not valid base64"));
  EXPECT_THAT(reason(json::object(), {{"tokenFile", "missing"}}), HasSubstr("cannot read tokenFile"));
  EXPECT_THAT(reason(json::object(), json::object(), "other"), HasSubstr("no context named 'other'"));

  std::string error;
  EXPECT_FALSE(load_kubeconfig(dir.file("nope"), "", error));
  EXPECT_THAT(error, HasSubstr("cannot read"));
  std::string ftp = dir.write("ftp", kubeconfig_text("ftp://x", json::object(), json::object()));
  EXPECT_FALSE(load_kubeconfig(ftp, "", error));
  EXPECT_THAT(error, HasSubstr("must start with https://"));
}

TEST(K8sInCluster, ReadsTheServiceAccountMount) {
  ScratchDir dir;
  dir.write("token", "jwt");
  dir.write("ca.crt", "pem");
  ::setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  std::string error;
  auto a = load_in_cluster(error, dir.path());
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->server, "https://[fd00::1]:443");
  EXPECT_EQ(a->token_file, dir.file("token"));
  EXPECT_EQ(a->ca_file, dir.file("ca.crt"));

  EXPECT_FALSE(load_in_cluster(error, dir.file("missing")));
  EXPECT_THAT(error, HasSubstr("service-account token"));
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_FALSE(load_in_cluster(error, dir.path()));
  EXPECT_THAT(error, HasSubstr("KUBERNETES_SERVICE_HOST"));
  ::unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST(K8sMakeSource, KubeconfigWithContextAndKubernetes) {
  ScratchDir dir;
  std::string path =
      dir.write("config", kubeconfig_text("http://127.0.0.1:1", json::object(), {{"token", "x"}}));
  std::string error;
  auto src = make_source("kubeconfig:" + path + "#test", error);
  ASSERT_TRUE(src) << error;
  EXPECT_EQ(src->name(), "kubernetes:kubeconfig:" + path + "#test");
  EXPECT_FALSE(src->has_synced());
  EXPECT_EQ(src->state(), nullptr);

  EXPECT_FALSE(make_source("kubeconfig:" + path + "#nope", error));
  EXPECT_THAT(error, HasSubstr("no context named 'nope'"));
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_FALSE(make_source("kubernetes", error));
  EXPECT_THAT(error, HasSubstr("--source kubeconfig:PATH"));
}

}  // namespace
}  // namespace clusterdns::discovery
