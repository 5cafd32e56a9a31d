// Logging set-up: named spdlog loggers per folder, --log-level, --log-format text|json; changeable at reload.
// Every message is made safe to show where it is written: names, paths and values quoted from the registry,
// a request or a file cannot forge a log line (a newline), drive a terminal (ESC, C1 controls) or break the
// JSON format (invalid UTF-8).
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class formatter;
}

namespace clusterdns::ops {

// Creates the loggers (dns, zones, discovery, ops, query, main) on stderr and applies level and format.
// Called once at start, before any thread starts.
void setup_logging(const std::string& level, const std::string& format);

// Applies a new level and format to every registered logger and to loggers created later. Any thread.
void reconfigure_logging(const std::string& level, const std::string& format);

// The pattern of each format: text "2024-05-01T12:00:00.123 info [dns] message" (message as
// escape_log_text), json one object per line {"time":…,"level":…,"logger":…,"msg":…} (message as
// json_escape).
std::string log_pattern(const std::string& format);

// An spdlog formatter for `pattern`, which may use %q (the message, escape_log_text) and %j (the message,
// json_escape) in place of %v. For programs with their own patterns (build/envinject).
std::unique_ptr<spdlog::formatter> make_log_formatter(const std::string& pattern);

// The message for a text line: printable UTF-8 as is; \n \r \t as those two characters; every other C0
// control, DEL and every byte that is not part of valid UTF-8 as \xNN; C1 controls (U+0080–U+009F) as
// \u0080–\u009f. The result is valid UTF-8 without control characters.
std::string escape_log_text(std::string_view s);

// JSON string escaping of `s` (without the quotes), for the json format's message field: RFC 8259 §7
// escapes for " \ and the C0 controls, \u007f–\u009f for DEL and C1, and U+FFFD for each byte that is not
// part of valid UTF-8, so that the line is always valid JSON in UTF-8.
std::string json_escape(std::string_view s);

}  // namespace clusterdns::ops
