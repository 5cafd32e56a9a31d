// Applying a reloaded configuration.
#include "ops/reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ops/logging.hpp"

namespace clusterdns::ops {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("main");
  return l ? l : spdlog::default_logger();
}
}  // namespace

bool reloadable_flag(const std::string& name) {
  static const char* const kReloadable[] = {"--domain",
                                            "--ttl",
                                            "--pods",
                                            "--zone-file",
                                            "--log-level",
                                            "--log-format",
                                            "--query-log",
                                            "--lameduck",
                                            "--external-zone",
                                            "--external-ttl",
                                            "--external-ptr",
                                            "--external-headless",
                                            "--external-ns-address",
                                            "--clusterset-zone"};
  return std::any_of(std::begin(kReloadable), std::end(kReloadable),
                     [&](const char* n) { return name == n; });
}

SettingsApplier::SettingsApplier(Settings initial, SnapshotPipeline& pipeline, QueryMetrics& metrics)
    : current_(std::move(initial)), pipeline_(pipeline), metrics_(metrics) {
  metrics_.set_query_log_rate(current_.query_log_rate);
}

void SettingsApplier::apply(Settings next) {
  std::lock_guard lock(mutex_);
  const auto changed = changed_flags(current_.args, next.args);
  std::vector<FlagArg> running;
  for (const auto& a : current_.args) {
    if (!reloadable_flag(a.name)) running.push_back(a);
  }
  for (const auto& name : changed) {
    if (reloadable_flag(name)) {
      logger()->info("config: {} {} -> {}", name, flag_values(current_.args, name),
                     flag_values(next.args, name));
    } else {
      logger()->warn("config: {} changed ({} -> {}) but takes effect only after a restart; still using {}",
                     name, flag_values(current_.args, name), flag_values(next.args, name),
                     flag_values(current_.args, name));
    }
  }
  for (const auto& a : next.args) {
    if (reloadable_flag(a.name)) running.push_back(a);
  }
  reconfigure_logging(next.log_level, next.log_format);
  metrics_.set_query_log_rate(next.query_log_rate);
  pipeline_.reconfigure(next.build);  // builds and publishes before returning
  next.args = std::move(running);
  current_ = std::move(next);
}

std::chrono::milliseconds SettingsApplier::lameduck() const {
  std::lock_guard lock(mutex_);
  return current_.lameduck;
}

}  // namespace clusterdns::ops
