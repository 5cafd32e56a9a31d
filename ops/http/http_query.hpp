// Query-string decoding for the operations endpoints (no I/O; fuzzed in tests/fuzz/env_query_fuzz.cpp).
#pragma once

#include <string>
#include <string_view>

namespace clusterdns::ops {

// The value of `name` in an application/x-www-form-urlencoded query ("a=1&b=x%20y"): percent-decoded, '+'
// as a space; "" when absent (the first occurrence wins). Malformed escapes are kept literally. Pure.
std::string query_param(std::string_view query, std::string_view name);

}  // namespace clusterdns::ops
