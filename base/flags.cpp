#include "base/flags.hpp"

#include <algorithm>

namespace clusterdns::base {

namespace {

// Columns a UTF-8 string takes in a terminal (every code point one column: "…" in "NS,…").
size_t columns(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

constexpr size_t kHelpColumn = 25;

}  // namespace

const FlagSpec* find_flag(FlagTable table, std::string_view name) {
  for (const FlagSpec& f : table) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string flag_usage(FlagTable table) {
  std::string out;
  for (const FlagSpec& f : table) {
    std::string head = "  " + std::string(f.name);
    if (!f.value.empty()) head += " " + std::string(f.value);
    out += head;
    const size_t width = columns(head);
    out.append(width + 2 <= kHelpColumn ? kHelpColumn - width : 2, ' ');
    std::string_view help = f.help;
    for (bool first = true; !help.empty() || first; first = false) {
      const size_t nl = help.find('\n');
      if (!first) out.append(kHelpColumn, ' ');
      out += help.substr(0, nl);
      out += '\n';
      help = nl == std::string_view::npos ? std::string_view() : help.substr(nl + 1);
    }
  }
  return out;
}

std::optional<uint64_t> parse_flag_number(const FlagSpec& flag, std::string_view v, std::string& error) {
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    error = "expected a number";
    return std::nullopt;
  }
  const uint64_t n = std::stoull(std::string(v));
  if (n < flag.min || n > flag.max) {
    error = "must be " + std::to_string(flag.min) + ".." + std::to_string(flag.max);
    return std::nullopt;
  }
  return n;
}

std::optional<bool> parse_flag_bool(std::string_view v, std::string& error) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  error = "expected true or false";
  return std::nullopt;
}

}  // namespace clusterdns::base
