// spdlog configuration, with custom %q (text) and %j (JSON) flags that escape the message.
#include "ops/runtime/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "base/log.hpp"

namespace clusterdns::ops {

namespace {

// The length of the valid UTF-8 sequence (RFC 3629 §4) at s[i], 0 when the byte there does not start one.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    const auto ck = static_cast<unsigned char>(s[i + k]);
    if (ck < 0x80 || ck > 0xBF) return 0;
  }
  return len;
}

// U+0080–U+009F: C1 controls (0x9B is a CSI on many terminals), encoded C2 80 … C2 9F.
bool is_c1(std::string_view s, size_t i, size_t len) {
  return len == 2 && static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) <= 0x9F;
}

void append_hex(std::string& out, const char* format, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), format, value);
  out += buf;
}

template <std::string (*Escape)(std::string_view)>
class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string escaped = Escape(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

}  // namespace

std::string escape_log_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = utf8_sequence(s, i);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (len == 0 || c < 0x20 || c == 0x7F) {
      append_hex(out, "\\x%02x", c);
      i += 1;
      continue;
    } else if (is_c1(s, i, len)) {
      append_hex(out, "\\u%04x", static_cast<unsigned char>(s[i + 1]));
    } else {
      out.append(s.substr(i, len));
    }
    i += len == 0 ? 1 : len;
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = utf8_sequence(s, i);
    if (len == 0) {
      out += "\\ufffd";
      i += 1;
      continue;
    }
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
        if (c < 0x20 || c == 0x7F) {
          append_hex(out, "\\u%04x", c);
        } else if (is_c1(s, i, len)) {
          append_hex(out, "\\u%04x", static_cast<unsigned char>(s[i + 1]));
        } else {
          out.append(s.substr(i, len));
        }
    }
    i += len;
  }
  return out;
}

std::string log_pattern(const std::string& format) {
  if (format == "json") return R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"%n","msg":"%j"})";
  return "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %q";
}

std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<EscapedMessageFlag<json_escape>>('j');
  f->add_flag<EscapedMessageFlag<escape_log_text>>('q');
  f->set_pattern(pattern);
  return f;
}

void setup_logging(const std::string& level, const std::string& format) {
  for (const char* name : {"main", "dns", "zones", "discovery", "ops", "query"}) {
    base::logger(name);
  }
  spdlog::set_default_logger(spdlog::get("main"));
  reconfigure_logging(level, format);
}

void reconfigure_logging(const std::string& level, const std::string& format) {
  spdlog::set_formatter(make_log_formatter(log_pattern(format)));
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace clusterdns::ops
