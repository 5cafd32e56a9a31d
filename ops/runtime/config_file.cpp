// YAML config file → flag arguments with file and line; merge with the command line; typo suggestions.
#include "ops/runtime/config_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::ops {

namespace {

std::string short_key(const std::string& name) {
  return name.rfind("--", 0) == 0 ? name.substr(2) : name;
}

[[noreturn]] void reject(const std::string& path, const YAML::Mark& mark, const std::string& what) {
  throw ConfigError(path + ":" + std::to_string(mark.line + 1) + ": " + what);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string FlagArg::where() const {
  if (file.empty()) return "";
  return file + ":" + std::to_string(line) + ": " + short_key(name) + ": ";
}

std::vector<FlagArg> read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the config file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the config file");
  return parse_config_text(text.str(), path);
}

std::vector<FlagArg> parse_config_text(const std::string& text, const std::string& path) {
  YAML::Node root;
  discovery::YamlLimits limits;
  limits.max_bytes = 1u << 20;  // a flag file, not a cluster
  limits.max_depth = 16;
  if (auto problem = discovery::check_yaml(text, limits)) {
    std::string reason = problem->reason;
    if (reason.rfind("invalid YAML: ", 0) == 0) reason.erase(0, 14);
    throw ConfigError(path + ":" + std::to_string(problem->line) + ": not valid YAML: " + reason);
  }
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    reject(path, e.mark, "not valid YAML: " + e.msg);
  }
  std::vector<FlagArg> out;
  if (!root || root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap()) reject(path, root.Mark(), "expected a mapping of flag names to values (ttl: 30)");
  std::map<std::string, int> seen;
  for (const auto& kv : root) {
    const YAML::Node& key = kv.first;
    const YAML::Node& value = kv.second;
    if (!key.IsScalar()) reject(path, key.Mark(), "a key must be a flag name");
    const std::string k = key.Scalar();
    const int line = key.Mark().line + 1;
    if (auto [it, fresh] = seen.emplace(k, line); !fresh) {
      reject(path, key.Mark(), k + ": given twice (first on line " + std::to_string(it->second) + ")");
    }
    if (k == "config" || k == "help" || k == "version") {
      reject(path, key.Mark(), k + ": not allowed in a config file");
    }
    if (k.rfind("-", 0) == 0) reject(path, key.Mark(), k + ": write the flag name without leading dashes");
    const std::string name = "--" + k;
    if (value.IsNull()) continue;
    if (value.IsScalar()) {
      out.push_back({name, value.Scalar(), path, line});
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) reject(path, item.Mark(), k + ": a list item must be a single value");
        out.push_back({name, item.Scalar(), path, item.Mark().line + 1});
      }
    } else {
      reject(path, value.Mark(), k + ": expected a value or a list of values, not a mapping");
    }
  }
  return out;
}

std::vector<FlagArg> merge_flag_args(const std::vector<FlagArg>& file, const std::vector<FlagArg>& cli) {
  std::vector<FlagArg> out;
  for (const auto& a : file) {
    const bool overridden =
        std::any_of(cli.begin(), cli.end(), [&](const FlagArg& c) { return c.name == a.name; });
    if (!overridden) out.push_back(a);
  }
  out.insert(out.end(), cli.begin(), cli.end());
  return out;
}

std::string unknown_flag_message(const FlagArg& arg, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& name : known) {
    const size_t d = edit_distance(short_key(arg.name), short_key(name));
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  std::string msg = arg.file.empty() ? "unknown flag " + arg.name : arg.where() + "unknown field";
  if (!best.empty()) msg += " (did you mean '" + (arg.file.empty() ? best : short_key(best)) + "'?)";
  return msg;
}

std::vector<std::string> changed_flags(const std::vector<FlagArg>& before,
                                       const std::vector<FlagArg>& after) {
  std::vector<std::string> names, changed;
  for (const auto* list : {&before, &after}) {
    for (const auto& a : *list) {
      if (std::find(names.begin(), names.end(), a.name) == names.end()) names.push_back(a.name);
    }
  }
  for (const auto& n : names) {
    if (flag_values(before, n) != flag_values(after, n)) changed.push_back(n);
  }
  return changed;
}

std::string flag_values(const std::vector<FlagArg>& args, const std::string& name) {
  std::string out;
  for (const auto& a : args) {
    if (a.name != name) continue;
    if (!out.empty()) out += ",";
    out += a.value;
  }
  return out.empty() ? "(default)" : out;
}

}  // namespace clusterdns::ops
