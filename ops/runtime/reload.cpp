// Applying a reloaded configuration.
#include "ops/runtime/reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/log.hpp"
#include "ops/runtime/logging.hpp"

namespace clusterdns::ops {

SettingsApplier::SettingsApplier(Settings initial, SnapshotPipeline& pipeline, QueryMetrics& metrics)
    : current_(std::move(initial)), pipeline_(pipeline), metrics_(metrics) {
  metrics_.set_query_log_rate(current_.lock()->query_log_rate);
}

void SettingsApplier::apply(Settings next) {
  auto locked = current_.lock();
  Settings& current = *locked;
  const auto reloadable = [&](const std::string& name) {
    return std::find(current.reloadable.begin(), current.reloadable.end(), name) != current.reloadable.end();
  };
  const auto changed = changed_flags(current.args, next.args);
  std::vector<FlagArg> running;
  for (const auto& a : current.args) {
    if (!reloadable(a.name)) running.push_back(a);
  }
  for (const auto& name : changed) {
    if (reloadable(name)) {
      base::logger("main")->info("config: {} {} -> {}", name, flag_values(current.args, name),
                                 flag_values(next.args, name));
    } else {
      base::logger("main")->warn(
          "config: {} changed ({} -> {}) but takes effect only after a restart; still using {}", name,
          flag_values(current.args, name), flag_values(next.args, name), flag_values(current.args, name));
    }
  }
  for (const auto& a : next.args) {
    if (reloadable(a.name)) running.push_back(a);
  }
  reconfigure_logging(next.log_level, next.log_format);
  metrics_.set_query_log_rate(next.query_log_rate);
  pipeline_.reconfigure(next.build);  // builds and publishes before returning
  next.args = std::move(running);
  current = std::move(next);
}

std::chrono::milliseconds SettingsApplier::lameduck() const {
  return current_.lock()->lameduck;
}

}  // namespace clusterdns::ops
