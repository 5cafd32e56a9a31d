// The test API server's wire format, checked with a plain HTTP client: *List objects and paging, watch
// lines, BOOKMARK and ERROR events, Status objects — what a real client (and kubectl) expects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <httplib.h>

#include <thread>

#include "tests/k8s_api/harness.hpp"

namespace clusterdns::k8s_api::testing {
namespace {

using ::testing::HasSubstr;

json get_json(httplib::Client& cli, const std::string& path, int* status = nullptr) {
  auto res = cli.Get(path.c_str());
  if (!res) return json();
  if (status != nullptr) *status = res->status;
  return json::parse(res->body, nullptr, false);
}

// The first `count` lines of a watch (bounded by the client's 5 s read timeout). `meanwhile` runs on
// another thread once the request is under way.
std::vector<json> watch_lines(httplib::Client& cli, const std::string& path, std::size_t count,
                              const std::function<void()>& meanwhile = {}) {
  std::vector<json> lines;
  std::string buf;
  std::thread side([&] {
    if (!meanwhile) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    meanwhile();
  });
  cli.Get(
      path.c_str(),
      [&](const httplib::Response& res) {
        EXPECT_EQ(res.status, 200);
        return true;
      },
      [&](const char* d, std::size_t n) {
        buf.append(d, n);
        for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
          lines.push_back(json::parse(buf.substr(0, nl), nullptr, false));
          buf.erase(0, nl + 1);
        }
        return lines.size() < count;
      });
  side.join();
  return lines;
}

TEST(K8sApiServer, ListsArePagedWithContinueAndCarryNoItemTypeMeta) {
  ApiServerProcess server({});
  for (const char* n : {"a", "b", "c"})
    server.apply(service_object("x", n, ""));
  httplib::Client cli(server.url());
  cli.set_read_timeout(std::chrono::seconds(5));
  json page1 = get_json(cli, "/api/v1/namespaces/x/services?limit=2");
  EXPECT_EQ(page1["kind"], "ServiceList");
  EXPECT_EQ(page1["apiVersion"], "v1");
  ASSERT_EQ(page1["items"].size(), 2u);
  EXPECT_FALSE(page1["items"][0].contains("kind"));
  EXPECT_TRUE(page1["items"][0]["metadata"]["resourceVersion"].is_string());
  EXPECT_TRUE(page1["items"][0]["spec"]["clusterIP"].is_string());  // allocated, as the API server does
  EXPECT_EQ(page1["metadata"]["remainingItemCount"], 1);
  std::string cont = page1["metadata"]["continue"];
  json page2 = get_json(cli, "/api/v1/namespaces/x/services?limit=2&continue=" + cont);
  ASSERT_EQ(page2["items"].size(), 1u);
  EXPECT_EQ(page2["items"][0]["metadata"]["name"], "c");
  EXPECT_FALSE(page2["metadata"].contains("continue"));
  EXPECT_EQ(page2["metadata"]["resourceVersion"], page1["metadata"]["resourceVersion"]);

  server.apply(service_object("x", "d", ""));  // the snapshot the token reads is now history…
  server.control("compact");                   // …and compacted away
  int status = 0;
  json gone = get_json(cli, "/api/v1/namespaces/x/services?limit=2&continue=" + cont, &status);
  EXPECT_EQ(status, 410);
  EXPECT_EQ(gone["kind"], "Status");
  EXPECT_EQ(gone["reason"], "Expired");
  EXPECT_EQ(gone["code"], 410);

  cli.set_url_encode(false);  // the query below is encoded already
  json selected = get_json(cli, "/api/v1/services?labelSelector=app%20in%20%28a%2Cc%29");
  EXPECT_EQ(selected["items"].size(), 2u);  // a and c (d is app=d)
  json ns = get_json(cli, "/api/v1/namespaces");
  EXPECT_EQ(ns["kind"], "NamespaceList");
  json slices = get_json(cli, "/apis/discovery.k8s.io/v1/endpointslices");
  EXPECT_EQ(slices["kind"], "EndpointSliceList");
  EXPECT_EQ(slices["apiVersion"], "discovery.k8s.io/v1");
}

TEST(K8sApiServer, WatchStreamsEventsBookmarksAndExpiry) {
  ApiServerProcess server({});
  server.apply(service_object("x", "a", ""));
  httplib::Client cli(server.url());
  cli.set_read_timeout(std::chrono::seconds(5));
  std::string rv = get_json(cli, "/api/v1/services")["metadata"]["resourceVersion"];
  auto lines =
      watch_lines(cli, "/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=" + rv, 3, [&] {
        server.apply(service_object("x", "b", ""));
        server.remove("Service", "x", "a");
        server.control("bookmark");
      });
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[0]["object"]["kind"], "Service");
  EXPECT_EQ(lines[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(lines[1]["type"], "DELETED");
  EXPECT_EQ(lines[2]["type"], "BOOKMARK");
  EXPECT_EQ(lines[2]["object"]["metadata"].size(), 1u);  // only resourceVersion
  EXPECT_EQ(lines[2]["object"]["metadata"]["resourceVersion"],
            lines[1]["object"]["metadata"]["resourceVersion"]);

  server.control("compact");
  auto expired = watch_lines(cli, "/api/v1/services?watch=1&resourceVersion=" + rv, 1);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0]["type"], "ERROR");
  EXPECT_EQ(expired[0]["object"]["kind"], "Status");
  EXPECT_EQ(expired[0]["object"]["code"], 410);
  EXPECT_THAT(expired[0]["object"]["message"].get<std::string>(), HasSubstr("too old resource version"));

  server.control("config", {{"goneMode", "http"}});
  int status = 0;
  json body = get_json(cli, "/api/v1/services?watch=1&resourceVersion=" + rv, &status);
  EXPECT_EQ(status, 410);
  EXPECT_EQ(body["code"], 410);
}

TEST(K8sApiServer, TokenIsRequiredAndCanExpire) {
  ApiServerProcess server(ServerOptions{"one"});
  httplib::Client cli(server.url());
  int status = 0;
  json denied = get_json(cli, "/api/v1/services", &status);
  EXPECT_EQ(status, 401);
  EXPECT_EQ(denied["reason"], "Unauthorized");
  cli.set_bearer_token_auth("one");
  get_json(cli, "/version", &status);
  EXPECT_EQ(status, 200);
  server.control("expire-token", {{"newToken", "two"}});
  get_json(cli, "/api/v1/services", &status);
  EXPECT_EQ(status, 401);
  cli.set_bearer_token_auth("two");
  get_json(cli, "/api/v1/services", &status);
  EXPECT_EQ(status, 200);
  EXPECT_GE(server.stats()["unauthorized"].get<int>(), 2);
}

}  // namespace
}  // namespace clusterdns::k8s_api::testing
