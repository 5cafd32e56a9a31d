// Flags as tables: each module lists its flags once (name, value kind and range, help, repeatable,
// reloadable); --help, the config-file keys, "did you mean" and the reloadable set are read from the tables.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clusterdns::base {

enum class FlagKind : uint8_t {
  Text,    // any string; the module's setter checks it
  Number,  // a decimal number within [min, max]
  Bool,    // no value on the command line (--autopath); true/false, 1/0, yes/no in a config file
};

struct FlagSpec {
  std::string_view name{};   // "--ttl"
  std::string_view value{};  // what --help shows after the name ("SECONDS"); "" for Bool flags
  std::string_view help{};   // --help's text; '\n' starts a continuation line
  FlagKind kind = FlagKind::Text;
  uint64_t min = 0, max = 0;  // Number only
  bool repeatable = false;    // given more than once (a list in the config file), each value counts
  bool reloadable = false;    // a reload (SIGHUP, --config change) applies it without a restart
};

using FlagTable = std::span<const FlagSpec>;

// The flag called `name` (with its "--"), or null.
const FlagSpec* find_flag(FlagTable table, std::string_view name);

// --help's lines for the table: "  --ttl SECONDS          TTL of …", the text from column 25 (or after two
// spaces when name and value are longer), continuation lines indented to column 25.
std::string flag_usage(FlagTable table);

// A Number flag's value: digits only, within the flag's range. On failure returns nullopt and sets `error`
// ("expected a number", "must be 0..3600").
std::optional<uint64_t> parse_flag_number(const FlagSpec& flag, std::string_view value, std::string& error);

// A Bool flag's value: true/1/yes or false/0/no. On failure returns nullopt and sets `error`.
std::optional<bool> parse_flag_bool(std::string_view value, std::string& error);

}  // namespace clusterdns::base
