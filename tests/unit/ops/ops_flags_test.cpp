// Operational flag values: durations, rates, addresses, consistency.
#include "ops/runtime/ops_flags.hpp"

#include <gtest/gtest.h>

using namespace clusterdns::ops;
using std::chrono::milliseconds;

TEST(Options, Durations) {
  std::string e;
  EXPECT_EQ(parse_duration("5s", e), milliseconds(5000));
  EXPECT_EQ(parse_duration("300ms", e), milliseconds(300));
  EXPECT_EQ(parse_duration("1m30s", e), milliseconds(90000));
  EXPECT_EQ(parse_duration("1.5s", e), milliseconds(1500));
  EXPECT_EQ(parse_duration("0", e), milliseconds(0));
  for (const char* bad : {"", "5", "s", "5x", "-1s", "1..2s", "2h"}) {
    EXPECT_FALSE(parse_duration(bad, e)) << bad;
    EXPECT_FALSE(e.empty());
  }
  EXPECT_EQ(format_duration(milliseconds(3000)), "3s");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
}

TEST(Options, Rates) {
  std::string e;
  EXPECT_DOUBLE_EQ(*parse_rate("0.01", e), 0.01);
  EXPECT_DOUBLE_EQ(*parse_rate("1%", e), 0.01);
  EXPECT_DOUBLE_EQ(*parse_rate("1/100", e), 0.01);
  EXPECT_DOUBLE_EQ(*parse_rate("1", e), 1.0);
  EXPECT_DOUBLE_EQ(*parse_rate("0", e), 0.0);
  for (const char* bad : {"", "2", "1/0", "-0.5", "x", "150%"})
    EXPECT_FALSE(parse_rate(bad, e)) << bad;
}

TEST(Options, SetAndCheck) {
  OpsFlags f;
  std::string e;
  EXPECT_TRUE(set_ops_flag(f, "--http", "none", e));
  EXPECT_FALSE(f.http);
  EXPECT_TRUE(set_ops_flag(f, "--http", "[::1]:9153", e));
  ASSERT_TRUE(f.http);
  EXPECT_EQ(f.http->host, "::1");
  EXPECT_FALSE(set_ops_flag(f, "--http", "localhost:9153", e));
  EXPECT_FALSE(set_ops_flag(f, "--log-format", "xml", e));
  EXPECT_EQ(e, "expected text or json");
  EXPECT_TRUE(set_ops_flag(f, "--node-local", "169.254.20.10", e));
  EXPECT_EQ(f.node_local, "169.254.20.10");
  EXPECT_FALSE(set_ops_flag(f, "--node-local", "169.254.20", e));
  EXPECT_TRUE(set_ops_flag(f, "--tls-cert", "/c.pem", e));
  EXPECT_EQ(check_ops_flags(f), "--tls-cert needs --tls-key");
  EXPECT_TRUE(set_ops_flag(f, "--tls-key", "/k.pem", e));
  EXPECT_EQ(check_ops_flags(f), "");
}
