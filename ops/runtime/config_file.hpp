// The --config file: a YAML mapping whose keys are flag names without "--" (a list for a repeatable flag),
// turned into the same (flag, value) pairs as the command line, each remembering its file and line.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace clusterdns::ops {

struct FlagArg {
  std::string name;   // "--ttl"
  std::string value;  // "30"
  std::string file;   // "" when given on the command line
  int line = 0;       // 1-based line in `file`
  // The prefix of an error about this value: "" for the command line, "config.yaml:12: ttl: " for the file.
  std::string where() const;
  bool operator==(const FlagArg& o) const { return name == o.name && value == o.value; }
};

// A config file that cannot be used; what() is one line: "FILE:LINE: field: problem".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads and parses FILE (throws ConfigError, also when it cannot be read).
std::vector<FlagArg> read_config_file(const std::string& path);

// Parses YAML text named `path` in messages. Scalars become one value; a list becomes one value per item
// (in order); an empty value (`key:`) is skipped. Rejected with ConfigError: YAML syntax errors, a top level
// that is not a mapping, nested mappings, a key given twice, and the keys config/help/version.
std::vector<FlagArg> parse_config_text(const std::string& text, const std::string& path);

// The effective flags: the file's values first, except for names the command line also gives (the command
// line replaces them entirely, lists included), then the command line's, in order.
std::vector<FlagArg> merge_flag_args(const std::vector<FlagArg>& file, const std::vector<FlagArg>& cli);

// "unknown flag --tll" (command line) or "config.yaml:4: tll: unknown field" — with " (did you mean
// 'ttl'?)" when a known name is within two edits. `known` holds names with their leading "--".
std::string unknown_flag_message(const FlagArg& arg, const std::vector<std::string>& known);

// Flag names (with "--") whose values differ between two effective lists, in first-seen order.
std::vector<std::string> changed_flags(const std::vector<FlagArg>& before, const std::vector<FlagArg>& after);

// The values given for `name` in an effective list, joined with ","; "(default)" when none.
std::string flag_values(const std::vector<FlagArg>& args, const std::string& name);

}  // namespace clusterdns::ops
