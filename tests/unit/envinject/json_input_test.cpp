// Untrusted JSON is checked for size, depth and UTF-8 before a tree is built or copied (issue 11 #2, #9).
#include "envinject/json_input.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace clusterdns::envinject;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(JsonInput, AcceptsOrdinaryDocuments) {
  const JsonInput in = parse_json_input(R"({"a":[1,{"b":"c"}],"s":"\"[{"})");
  EXPECT_EQ(in.error, "");
  EXPECT_EQ(in.value["a"][1]["b"], "c");
  EXPECT_EQ(json_nesting_depth(R"({"a":[1,{"b":"c"}],"s":"\"[{[{[{"})", 100), 3u);  // brackets in strings
}

TEST(JsonInput, RefusesDeepNestingWithoutBuildingIt) {
  const std::string deep = std::string(500'000, '[') + std::string(500'000, ']');
  const JsonInput in = parse_json_input(deep);
  EXPECT_TRUE(in.value.is_null());
  EXPECT_EQ(in.error, "the JSON text nests deeper than 64 levels (at byte 64)");
  const std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(parse_json_input(ok).error, "");
  EXPECT_THAT(parse_json_input(std::string(65, '{')).error, HasSubstr("deeper than 64"));
}

TEST(JsonInput, RefusesLargeTextAndSyntaxErrorsAndBadUtf8) {
  EXPECT_EQ(parse_json_input(std::string(11, ' '), {10, 64}).error,
            "the JSON text is 11 bytes, more than the limit of 10");
  EXPECT_THAT(parse_json_input("{\"a\":").error, HasSubstr("not JSON: parse error at line 1, column 6"));
  EXPECT_THAT(parse_json_input("{\"a\":\"\xff\"}").error, HasSubstr("not JSON"));
  EXPECT_THAT(parse_json_input("{} {}").error, HasSubstr("not JSON"));
  EXPECT_THAT(parse_json_input("").error, HasSubstr("not JSON"));
}

TEST(JsonInput, ChecksTreesBuiltElsewhere) {
  json deep = json::array();
  json* at = &deep;
  for (int i = 0; i < 100; ++i) {
    at->push_back(json::array());
    at = &(*at)[0];
  }
  EXPECT_EQ(check_json_tree(deep, 64), "the document nests deeper than 64 levels");
  EXPECT_EQ(check_json_tree(deep, 200), "");
  EXPECT_EQ(check_json_tree(json{{"k", "v\xc3"}}, 64), "a string value is not valid UTF-8");
  EXPECT_EQ(check_json_tree(json{{"k\xff", "v"}}, 64), "a key is not valid UTF-8");
  EXPECT_EQ(check_json_tree(json{{"k", "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}}, 64), "");
}

TEST(JsonInput, Utf8FollowsRfc3629) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain \xc2\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\x80"));
}
