// Typed, error-recording access to the fields of one YAML manifest document.
#include "discovery/files/yaml_fields.hpp"

#include <charconv>

namespace clusterdns::discovery::files {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

}  // namespace

bool is_dns1123_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool is_dns1035_label(const std::string& s) {
  return is_dns1123_label(s) && s.front() >= 'a' && s.front() <= 'z';
}

bool is_dns1123_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string label = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_dns1123_label(label)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

bool is_iana_svc_name(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  bool letter = false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
    letter = letter || (c >= 'a' && c <= 'z');
  }
  return letter && s.front() != '-' && s.back() != '-' && s.find("--") == std::string::npos;
}

bool present(const YAML::Node& n) {
  return n.IsDefined() && !n.IsNull();
}

YAML::Node child(const YAML::Node& map, const std::string& key) {
  if (!map.IsDefined() || !map.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  const YAML::Node& m = map;  // const operator[] never inserts
  YAML::Node v = m[key];
  if (!v.IsDefined()) return YAML::Node(YAML::NodeType::Undefined);
  return v;
}

int Fields::line_of(const YAML::Node& n) const {
  if (!n.IsDefined()) return fallback_line_;
  int line = n.Mark().line;
  return line < 0 ? fallback_line_ : line + 1 + line_offset_;
}

void Fields::error(const YAML::Node& at, const std::string& reason) {
  errors_.push_back(ManifestError{file_, line_of(at), prefix_ + reason});
}

void Fields::warning(const YAML::Node& at, const std::string& reason) {
  warnings_.push_back(ManifestError{file_, line_of(at), prefix_ + reason});
}

bool Fields::spend(const YAML::Node& at, std::size_t n) {
  if (n <= budget_) {
    budget_ -= n;
    return true;
  }
  if (!budget_reported_) {
    budget_reported_ = true;
    error(at, "document too large: aliases expand to more list entries than the file holds");
  }
  return false;
}

std::optional<std::string> Fields::str(const YAML::Node& parent, const std::string& key,
                                       const std::string& path) {
  YAML::Node v = child(parent, key);
  if (!present(v)) return std::nullopt;
  if (!v.IsScalar()) {
    error(v, path + ": expected a string, got " + node_kind(v));
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<std::string> Fields::need_str(const YAML::Node& parent, const std::string& key,
                                            const std::string& path) {
  YAML::Node v = child(parent, key);
  if (present(v) && v.IsScalar() && !v.Scalar().empty()) return v.Scalar();
  if (present(v) && !v.IsScalar()) {
    error(v, path + ": expected a string, got " + node_kind(v));
  } else {
    error(present(v) ? v : parent, path + " is required");
  }
  return std::nullopt;
}

std::optional<int64_t> Fields::integer(const YAML::Node& parent, const std::string& key,
                                       const std::string& path) {
  YAML::Node v = child(parent, key);
  if (!present(v)) return std::nullopt;
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    int64_t out = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto [ptr, ec] = std::from_chars(begin, s.data() + s.size(), out);
    if (ec == std::errc() && ptr == s.data() + s.size() && begin != ptr) return out;
    error(v, path + ": '" + s + "' is not an integer");
    return std::nullopt;
  }
  error(v, path + ": expected an integer, got " + node_kind(v));
  return std::nullopt;
}

std::optional<bool> Fields::boolean(const YAML::Node& parent, const std::string& key,
                                    const std::string& path) {
  YAML::Node v = child(parent, key);
  if (!present(v)) return std::nullopt;
  bool out = false;
  if (v.IsScalar() && YAML::convert<bool>::decode(v, out)) return out;
  error(v, path + ": expected true or false, got " + (v.IsScalar() ? "'" + v.Scalar() + "'" : node_kind(v)));
  return std::nullopt;
}

std::optional<int32_t> Fields::port(const YAML::Node& parent, const std::string& key, const std::string& path,
                                    bool required) {
  YAML::Node v = child(parent, key);
  if (!present(v)) {
    if (required) error(parent, path + " is required");
    return std::nullopt;
  }
  std::size_t before = error_count();
  std::optional<int64_t> n = integer(parent, key, path);
  if (!n) {
    if (error_count() == before) error(v, path + " is required");
    return std::nullopt;
  }
  if (*n < 1 || *n > 65535) {
    error(v, path + ": " + std::to_string(*n) + " is out of range 1..65535");
    return std::nullopt;
  }
  return static_cast<int32_t>(*n);
}

YAML::Node Fields::map(const YAML::Node& parent, const std::string& key, const std::string& path) {
  YAML::Node v = child(parent, key);
  if (!present(v)) return YAML::Node(YAML::NodeType::Undefined);
  if (!v.IsMap()) {
    error(v, path + ": expected a mapping, got " + node_kind(v));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return v;
}

YAML::Node Fields::seq(const YAML::Node& parent, const std::string& key, const std::string& path) {
  YAML::Node v = child(parent, key);
  if (!present(v)) return YAML::Node(YAML::NodeType::Undefined);
  if (!v.IsSequence()) {
    error(v, path + ": expected a list, got " + node_kind(v));
    return YAML::Node(YAML::NodeType::Undefined);
  }
  if (!spend(v, v.size())) return YAML::Node(YAML::NodeType::Undefined);
  return v;
}

std::map<std::string, std::string> Fields::string_map(const YAML::Node& parent, const std::string& key,
                                                      const std::string& path) {
  std::map<std::string, std::string> out;
  YAML::Node m = map(parent, key, path);
  if (!m.IsDefined() || !spend(m, m.size())) return out;
  for (const auto& kv : m) {
    if (!kv.first.IsScalar()) {
      error(kv.first, path + ": keys must be strings");
      continue;
    }
    const std::string& k = kv.first.Scalar();
    if (kv.second.IsNull()) {
      out[k] = "";
    } else if (kv.second.IsScalar()) {
      out[k] = kv.second.Scalar();
    } else {
      error(kv.second, path + "." + k + ": expected a string, got " + node_kind(kv.second));
    }
  }
  return out;
}

std::optional<Protocol> Fields::protocol(const YAML::Node& parent, const std::string& key,
                                         const std::string& path) {
  std::optional<std::string> s = str(parent, key, path);
  if (!s) return Protocol::Tcp;
  std::optional<Protocol> p = parse_protocol(*s);
  if (!p) error(child(parent, key), path + ": '" + *s + "' is not one of TCP, UDP, SCTP");
  return p;
}

std::optional<std::string> Fields::ip(const YAML::Node& node, const std::string& path) {
  if (!present(node) || !node.IsScalar()) {
    error(present(node) ? node : YAML::Node(YAML::NodeType::Undefined), path + ": expected an IP address");
    return std::nullopt;
  }
  std::optional<std::string> canon = canonical_ip(node.Scalar());
  if (!canon) error(node, path + ": '" + node.Scalar() + "' is not a valid IP address");
  return canon;
}

}  // namespace clusterdns::discovery::files
