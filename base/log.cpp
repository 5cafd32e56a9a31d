#include "base/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace clusterdns::base {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  if (auto l = spdlog::get(name)) return l;
  try {
    return spdlog::stderr_color_mt(name);  // spdlog applies the global formatter and level
  } catch (const spdlog::spdlog_ex&) {
    if (auto l = spdlog::get(name)) return l;  // registered by another thread meanwhile
    return spdlog::default_logger();
  }
}

}  // namespace clusterdns::base
