// spdlog configuration, with a custom %j flag that JSON-escapes the message.
#include "ops/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace clusterdns::ops {

namespace {

class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string escaped = json_escape(std::string(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& format) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<JsonMessageFlag>('j').set_pattern(log_pattern(format));
  return f;
}

}  // namespace

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string log_pattern(const std::string& format) {
  if (format == "json") return R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%j"})";
  return "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v";
}

void setup_logging(const std::string& level, const std::string& format) {
  for (const char* name : {"main", "dns", "zones", "discovery", "ops", "query"}) {
    if (!spdlog::get(name)) spdlog::stderr_color_mt(name);
  }
  spdlog::set_default_logger(spdlog::get("main"));
  reconfigure_logging(level, format);
}

void reconfigure_logging(const std::string& level, const std::string& format) {
  spdlog::set_formatter(make_formatter(format));
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace clusterdns::ops
