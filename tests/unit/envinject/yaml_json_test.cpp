// envinject/yaml_json: a Pod written in YAML reads as the same JSON tree its JSON form gives.
#include "envinject/yaml_json.hpp"

#include <gtest/gtest.h>

namespace clusterdns::envinject {
namespace {

using nlohmann::json;

TEST(YamlJson, PlainScalarsFollowTheCoreSchema) {
  EXPECT_EQ(plain_scalar(""), json(nullptr));
  EXPECT_EQ(plain_scalar("~"), json(nullptr));
  EXPECT_EQ(plain_scalar("NULL"), json(nullptr));
  EXPECT_EQ(plain_scalar("True"), json(true));
  EXPECT_EQ(plain_scalar("false"), json(false));
  EXPECT_EQ(plain_scalar("8080"), json(8080));
  EXPECT_EQ(plain_scalar("+5"), json(5));
  EXPECT_EQ(plain_scalar("-3"), json(-3));
  EXPECT_EQ(plain_scalar("1.5"), json(1.5));
  EXPECT_EQ(plain_scalar("1e3"), json(1000.0));
  EXPECT_EQ(plain_scalar("yes"), json("yes"));  // YAML 1.1's booleans are strings in 1.2
  EXPECT_EQ(plain_scalar("0x1F"), json("0x1F"));
  EXPECT_EQ(plain_scalar("10.0.0.1"), json("10.0.0.1"));
  EXPECT_EQ(plain_scalar("1-2"), json("1-2"));
}

TEST(YamlJson, APodConvertsToItsJsonForm) {
  const YAML::Node pod = YAML::Load(R"(
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: "true", tier: 3}
spec:
  enableServiceLinks: false
  containers:
  - name: app
    env:
    - {name: PORT, value: "8080"}
    - name: DEBUG
      value: !!str true
    ports: [{containerPort: 80}]
  nodeName: ~
)");
  const json expected = json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "true", "tier": 3}},
    "spec": {"enableServiceLinks": false,
             "containers": [{"name": "app",
                             "env": [{"name": "PORT", "value": "8080"}, {"name": "DEBUG", "value": "true"}],
                             "ports": [{"containerPort": 80}]}],
             "nodeName": null}})");
  EXPECT_EQ(yaml_to_json(pod), expected);
}

TEST(YamlJson, EmptyDocumentIsNull) {
  EXPECT_EQ(yaml_to_json(YAML::Load("")), json(nullptr));
}

}  // namespace
}  // namespace clusterdns::envinject
