// The kubelet's container environment merge and $(VAR) expansion, byte for byte.
#include "envinject/container_env.hpp"

#include <algorithm>
#include <unordered_map>

namespace clusterdns::envinject {
namespace {

constexpr char kOperator = '$';
constexpr char kOpener = '(';
constexpr char kCloser = ')';

bool in(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// Length of the UTF-8 sequence at the start of s as Go's utf8.DecodeRuneInString accepts it, or 0 when Go
// would return (RuneError, 1): bad lead byte, bad or missing continuation, overlong form, surrogate, >
// U+10FFFF.
size_t valid_utf8_length(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (in(c, 0xC2, 0xDF)) {
    n = 2;
  } else if (in(c, 0xE0, 0xEF)) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (in(c, 0xF0, 0xF4)) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < n || !in(b(1), lo, hi)) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (!in(b(i), 0x80, 0xBF)) return 0;
  }
  return n;
}

struct Read {
  std::string text;
  bool is_var;
  size_t advance;
};

// tryReadVariableName: input is the text after a '$' and is never empty.
Read try_read_variable_name(std::string_view input) {
  if (input[0] == kOperator) return {std::string(1, kOperator), false, 1};  // escaped operator
  if (input[0] == kOpener) {
    for (size_t i = 1; i < input.size(); ++i) {
      if (input[i] == kCloser) return {std::string(input.substr(1, i - 1)), true, i + 1};
    }
    return {std::string{kOperator, kOpener}, false, 1};  // incomplete reference
  }
  // Not an expression: the operator and the first rune.
  const size_t n = valid_utf8_length(input);
  // Built by appends: GCC 12 -O2 reports a false -Wrestrict on std::string operator+ here (PR 105651).
  Read r{std::string(1, kOperator), false, n == 0 ? 1 : n};
  if (n == 0) {
    r.text.append("\xEF\xBF\xBD");  // utf8.RuneError
  } else {
    r.text.append(input.data(), n);
  }
  return r;
}

}  // namespace

std::string expand(std::string_view input, const EnvLookup& lookup) {
  std::string out;
  out.reserve(input.size());
  size_t checkpoint = 0;
  for (size_t cursor = 0; cursor < input.size(); ++cursor) {
    if (input[cursor] != kOperator || cursor + 1 >= input.size()) continue;
    out.append(input.substr(checkpoint, cursor - checkpoint));
    Read r = try_read_variable_name(input.substr(cursor + 1));
    if (r.is_var) {
      if (const std::string* v = lookup(r.text)) {
        out += *v;
      } else {
        out.push_back(kOperator);  // syntaxWrap
        out.push_back(kOpener);
        out += r.text;
        out.push_back(kCloser);
      }
    } else {
      out += r.text;
    }
    cursor += r.advance;
    checkpoint = cursor + 1;
  }
  if (checkpoint < input.size()) out.append(input.substr(checkpoint));
  return out;
}

std::vector<EnvVar> container_env(const std::vector<EnvVar>& own, const std::vector<EnvVar>& service_vars) {
  std::unordered_map<std::string, std::string> service;
  service.reserve(service_vars.size());
  for (const auto& v : service_vars)
    service.insert_or_assign(v.name, v.value);
  std::unordered_map<std::string, std::string> declared;  // tmpEnv
  const EnvLookup lookup = [&](const std::string& name) -> const std::string* {
    if (auto it = declared.find(name); it != declared.end()) return &it->second;
    if (auto it = service.find(name); it != service.end()) return &it->second;
    return nullptr;
  };
  for (const auto& v : own) {
    std::string value = v.value.empty() ? std::string() : expand(v.value, lookup);
    service.erase(v.name);  // a variable the container defines itself wins
    declared.insert_or_assign(v.name, std::move(value));
  }
  std::vector<EnvVar> out;
  out.reserve(declared.size() + service.size());
  for (auto& [name, value] : declared)
    out.push_back({name, std::move(value)});
  for (auto& [name, value] : service)
    out.push_back({name, std::move(value)});
  std::sort(out.begin(), out.end(), [](const EnvVar& a, const EnvVar& b) { return a.name < b.name; });
  return out;
}

}  // namespace clusterdns::envinject
