// Logging set-up: named spdlog loggers per folder, --log-level, --log-format text|json; changeable at reload.
#pragma once

#include <string>

namespace clusterdns::ops {

// Creates the loggers (dns, zones, discovery, ops, query, main) on stderr and applies level and format.
// Called once at start, before any thread starts.
void setup_logging(const std::string& level, const std::string& format);

// Applies a new level and format to every registered logger. Any thread.
void reconfigure_logging(const std::string& level, const std::string& format);

// The pattern of each format: text "2024-05-01T12:00:00.123 info [dns] message", json one object per line
// {"time":…,"level":…,"logger":…,"msg":…} with the message escaped.
std::string log_pattern(const std::string& format);

// JSON string escaping of `s` (without the quotes), for the json format's message field.
std::string json_escape(const std::string& s);

}  // namespace clusterdns::ops
