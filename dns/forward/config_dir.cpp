// The kube-dns ConfigMap directory: a mounted ConfigMap is a directory whose keys are files (symlinks
// into ..data/, swapped atomically by the kubelet), so polling the content is the reliable signal.
#include "dns/forward/config_dir.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "base/log.hpp"

namespace clusterdns::dns::forward {
namespace {

std::optional<std::string> read_key(const std::string& dir, const char* key) {
  std::ifstream f(dir + "/" + key);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string describe(const std::vector<Upstream>& servers) {
  std::string s;
  for (const auto& u : servers)
    s += (s.empty() ? "" : ",") + u.text;
  return s.empty() ? "none" : s;
}

}  // namespace

RouteConfig::RouteConfig(RoutesHolder& holder, HealthRegistry& registry, std::vector<Upstream> upstreams,
                         std::vector<StubDomain> stubs, bool forwarding_off)
    : holder_(holder),
      registry_(registry),
      upstreams_(std::move(upstreams)),
      stubs_(std::move(stubs)),
      forwarding_off_(forwarding_off) {}

RouteConfig::~RouteConfig() {
  stop();
}

void RouteConfig::publish(const KubeDnsConfig& extra) {
  std::vector<Upstream> upstreams = upstreams_;
  if (extra.upstreams) {
    if (forwarding_off_) {
      base::logger("dns")->warn(
          "kube-dns config: upstreamNameservers ignored: --upstream none turns forwarding off");
    } else {
      upstreams = *extra.upstreams;  // replaces resolv.conf / --upstream, as in kube-dns
    }
  }
  std::vector<StubDomain> stubs = stubs_;
  if (extra.stubs) stubs.insert(stubs.end(), extra.stubs->begin(), extra.stubs->end());
  holder_.publish(build_routes(upstreams, stubs, registry_));
  std::string stub_text;
  for (const auto& s : stubs)
    stub_text += (stub_text.empty() ? "" : "; ") + s.domain + "=" + describe(s.servers);
  base::logger("dns")->info("forwarding: upstreams {}; stub domains: {}", describe(upstreams),
                            stub_text.empty() ? "none" : stub_text);
  ++publications_;
}

void RouteConfig::start(std::optional<std::string> kube_dns_dir, std::chrono::milliseconds poll) {
  {
    std::lock_guard lock(mutex_);
    dir_ = std::move(kube_dns_dir);
  }
  if (!reload()) {
    std::lock_guard lock(mutex_);
    publish(KubeDnsConfig{});  // no directory, or an invalid one: the base configuration alone
  }
  if (!dir_) return;
  thread_ = std::thread([this, poll] {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, poll, [this] { return stopping_; })) {
      lock.unlock();
      reload();
      lock.lock();
    }
  });
}

void RouteConfig::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RouteConfig::reload() {
  std::lock_guard lock(mutex_);
  if (!dir_) return false;
  auto stub = read_key(*dir_, "stubDomains");
  auto upstream = read_key(*dir_, "upstreamNameservers");
  if (seen_ && stub == last_stub_ && upstream == last_upstream_) return false;
  seen_ = true;
  last_stub_ = stub;
  last_upstream_ = upstream;
  std::string error;
  auto config = parse_kube_dns_config(stub, upstream, error);
  if (!config) {
    base::logger("dns")->error("kube-dns config {}: {}; keeping the previous configuration", *dir_, error);
    return false;
  }
  publish(*config);
  return true;
}

uint64_t RouteConfig::publications() const {
  std::lock_guard lock(mutex_);
  return publications_;
}

}  // namespace clusterdns::dns::forward
