// Log lines cannot be forged or carry terminal escapes, and JSON lines are valid UTF-8 (issue 11 #10).
#include "ops/runtime/logging.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

using namespace clusterdns::ops;
using ::testing::HasSubstr;

namespace {

// What a registry name, a path or a request may put into a message.
const std::string kForged =
    "svc\"\n2026-12-07T01:00:00.000 info [discovery] all good\r\x1b[2J\x1b]0;pwned\x07 \xc2\x9b"
    "31m \xff\xfe tab\there caf\xc3\xa9 \xe2\x82\xac";

std::string log_through(const std::string& format, const std::string& message) {
  std::ostringstream out;
  auto logger =
      std::make_shared<spdlog::logger>("escape-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_formatter(make_log_formatter(log_pattern(format)));
  logger->info("name {}", message);
  return out.str();
}

}  // namespace

TEST(Logging, TextEscapesControlsAndInvalidUtf8) {
  EXPECT_EQ(escape_log_text("plain caf\xc3\xa9"), "plain caf\xc3\xa9");
  EXPECT_EQ(escape_log_text("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(escape_log_text("\x1b[31m\x07\x7f"), "\\x1b[31m\\x07\\x7f");
  EXPECT_EQ(escape_log_text("\xc2\x9b"
                            "1m"),
            "\\u009b1m");  // C1 CSI
  EXPECT_EQ(escape_log_text("\xff\xc3(\xe2\x82"), "\\xff\\xc3(\\xe2\\x82");
  EXPECT_EQ(escape_log_text(std::string("nul\0x", 5)), "nul\\x00x");

  const std::string line = log_through("text", kForged);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;  // one line, its own end only
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.find('\x07'), std::string::npos);
  EXPECT_THAT(line,
              HasSubstr("[escape-test] name svc\"\\n2026-12-07T01:00:00.000 info [discovery] all good\\r"));
  EXPECT_THAT(line, HasSubstr("caf\xc3\xa9 \xe2\x82\xac"));  // valid UTF-8 is kept as is
}

TEST(Logging, JsonIsValidUtf8AndOneObjectPerLine) {
  EXPECT_EQ(json_escape("\xff"
                        "a\xc3"),
            "\\ufffda\\ufffd");
  EXPECT_EQ(json_escape("\x1b\x7f\xc2\x85"), "\\u001b\\u007f\\u0085");
  const std::string line = log_through("json", kForged);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line.substr(0, line.size() - 1)));  // throws on bad UTF-8
  const std::string msg = parsed["msg"];
  EXPECT_THAT(msg, HasSubstr("svc\"\n2026-12-07T01:00:00.000 info [discovery] all good"));
  EXPECT_THAT(msg, HasSubstr("\xef\xbf\xbd\xef\xbf\xbd tab\there"));  // U+FFFD for each bad byte
}

// Loggers created after the set-up (as discovery's sources create theirs) get the escaping formatter too.
TEST(Logging, LoggersCreatedLaterEscapeToo) {
  reconfigure_logging("info", "text");
  std::ostringstream out;
  auto logger = spdlog::create<spdlog::sinks::ostream_sink_mt>("escape-later", std::ref(out));
  logger->info("x\ny");
  EXPECT_THAT(out.str(), HasSubstr("[escape-later] x\\ny"));
  spdlog::drop("escape-later");
}
