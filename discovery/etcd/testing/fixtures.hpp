// Test support (header-only, not in the server): stored-object JSON builders, bounded waits, log capture.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "discovery/model.hpp"
#include "discovery/source.hpp"

namespace clusterdns::discovery::etcd::testing {

// A Service as kube-apiserver stores it (ClusterIP "None" = headless).
inline std::string service_json(const std::string& ns, const std::string& name, const std::string& ip,
                                std::map<std::string, std::string> selector = {}) {
  nlohmann::json spec = {{"clusterIP", ip},
                         {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}};
  if (ip != "None") spec["clusterIPs"] = {ip};
  if (!selector.empty()) spec["selector"] = selector;
  return nlohmann::json{{"kind", "Service"},
                        {"apiVersion", "v1"},
                        {"metadata", {{"name", name}, {"namespace", ns}, {"uid", "u-" + name}}},
                        {"spec", spec},
                        {"status", {{"loadBalancer", nlohmann::json::object()}}}}
      .dump();
}

inline std::string slice_json(const std::string& ns, const std::string& name, const std::string& service,
                              const std::vector<std::string>& addresses) {
  nlohmann::json endpoints = nlohmann::json::array();
  for (const std::string& a : addresses)
    endpoints.push_back({{"addresses", {a}}, {"conditions", {{"ready", true}}}});
  return nlohmann::json{
      {"kind", "EndpointSlice"},
      {"apiVersion", "discovery.k8s.io/v1"},
      {"metadata",
       {{"name", name}, {"namespace", ns}, {"labels", {{"kubernetes.io/service-name", service}}}}},
      {"addressType", "IPv4"},
      {"endpoints", endpoints},
      {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}
      .dump();
}

inline std::string pod_json(const std::string& ns, const std::string& name, const std::string& ip,
                            std::map<std::string, std::string> labels, bool ready) {
  return nlohmann::json{
      {"kind", "Pod"},
      {"apiVersion", "v1"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
      {"spec", {{"containers", {{{"name", "c"}, {"ports", {{{"name", "http"}, {"containerPort", 80}}}}}}}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", ip},
        {"podIPs", {{{"ip", ip}}}},
        {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}}
      .dump();
}

inline std::string namespace_json(const std::string& name) {
  return nlohmann::json{{"kind", "Namespace"}, {"apiVersion", "v1"}, {"metadata", {{"name", name}}}}.dump();
}

// Polls (every millisecond, at most `limit`) until pred(state) holds for the source's current state.
inline bool wait_for_state(const RegistrySource& src, const std::function<bool(const RegistryState&)>& pred,
                           std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    auto st = src.state();
    if (st && pred(*st)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

inline const Service* find_service(const RegistryState& st, const std::string& ns, const std::string& name) {
  for (const Service& s : st.services) {
    if (s.ns == ns && s.name == name) return &s;
  }
  return nullptr;
}

// The addresses every EndpointSet of a service holds, "ip" or "ip!" when not ready, sorted.
inline std::vector<std::string> endpoints_of(const RegistryState& st, const std::string& ns,
                                             const std::string& svc) {
  std::vector<std::string> out;
  for (const EndpointSet& set : st.endpoint_sets) {
    if (set.ns != ns || set.service_name != svc) continue;
    for (const discovery::Endpoint& ep : set.endpoints) {
      for (const std::string& a : ep.addresses)
        out.push_back(ep.ready ? a : a + "!");
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Replaces the "discovery" logger with one that keeps its lines in memory, for as long as it lives.
class LogCapture {
 public:
  LogCapture() {
    spdlog::drop("discovery");
    sink_ = std::make_shared<Sink>();
    spdlog::register_logger(std::make_shared<spdlog::logger>("discovery", sink_));
  }
  ~LogCapture() { spdlog::drop("discovery"); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  // Every line logged so far that contains needle.
  std::vector<std::string> lines(const std::string& needle) const { return sink_->lines(needle); }

 private:
  class Sink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::vector<std::string> lines(const std::string& needle) {
      std::lock_guard lock(mutex_);
      std::vector<std::string> out;
      for (const std::string& l : lines_) {
        if (l.find(needle) != std::string::npos) out.push_back(l);
      }
      return out;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      auto level = spdlog::level::to_string_view(msg.level);
      lines_.emplace_back(std::string(level.data(), level.size()) + " " +
                          std::string(msg.payload.data(), msg.payload.size()));
    }
    void flush_() override {}

   private:
    std::vector<std::string> lines_;
  };
  std::shared_ptr<Sink> sink_;
};

}  // namespace clusterdns::discovery::etcd::testing
