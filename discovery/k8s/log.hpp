// The "discovery" spdlog logger, shared with the file source (created on first use).
#pragma once

#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace clusterdns::discovery::k8s {

inline std::shared_ptr<spdlog::logger> logger() {
  if (auto l = spdlog::get("discovery")) return l;
  try {
    return spdlog::stderr_color_mt("discovery");
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get("discovery");  // registered by another thread meanwhile
  }
}

}  // namespace clusterdns::discovery::k8s
