// Typed, error-recording access to the fields of one YAML manifest document.
#include "discovery/objects/yaml_fields.hpp"

#include <charconv>

namespace clusterdns::discovery::objects {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char* node_kind(DocNode n) {
  return n.kind_text();
}

// YAML 1.1 booleans, as yaml-cpp and the Kubernetes YAML decoder (go-yaml v2) accept them.
std::optional<bool> parse_bool(std::string_view s) {
  static const char* const kTrue[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                      "on",   "On",   "ON",   "y",   "Y"};
  static const char* const kFalse[] = {"false", "False", "FALSE", "no", "No", "NO",
                                       "off",   "Off",   "OFF",   "n",  "N"};
  for (const char* t : kTrue) {
    if (s == t) return true;
  }
  for (const char* f : kFalse) {
    if (s == f) return false;
  }
  return std::nullopt;
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

bool present(DocNode n) {
  return n.present();
}

DocNode child(DocNode map, const std::string& key) {
  return map.get(key);
}

int Fields::line_of(DocNode n) const {
  if (!n.defined()) return fallback_line_;
  return n.line() <= 0 ? fallback_line_ : n.line() + line_offset_;
}

void Fields::error(DocNode at, const std::string& reason) {
  errors_.push_back(ManifestError{file_, line_of(at), prefix_ + reason});
}

void Fields::warning(DocNode at, const std::string& reason) {
  warnings_.push_back(ManifestError{file_, line_of(at), prefix_ + reason});
}

bool Fields::spend(DocNode at, std::size_t n) {
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

std::optional<std::string> Fields::str(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (!v.present()) return std::nullopt;
  if (!v.is_scalar()) {
    error(v, path + ": expected a string, got " + node_kind(v));
    return std::nullopt;
  }
  return v.str();
}

std::optional<std::string> Fields::need_str(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (v.present() && v.is_scalar() && !v.str().empty()) return v.str();
  if (v.present() && !v.is_scalar()) {
    error(v, path + ": expected a string, got " + node_kind(v));
  } else {
    error(v.present() ? v : parent, path + " is required");
  }
  return std::nullopt;
}

std::optional<int64_t> Fields::integer(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (!v.present()) return std::nullopt;
  if (v.is_scalar()) {
    const std::string s = v.str();
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

std::optional<bool> Fields::boolean(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (!v.present()) return std::nullopt;
  if (v.is_scalar()) {
    if (std::optional<bool> b = parse_bool(v.scalar())) return b;
  }
  error(v, path + ": expected true or false, got " + (v.is_scalar() ? "'" + v.str() + "'" : node_kind(v)));
  return std::nullopt;
}

std::optional<int32_t> Fields::port(DocNode parent, const std::string& key, const std::string& path,
                                    bool required) {
  DocNode v = child(parent, key);
  if (!v.present()) {
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

DocNode Fields::map(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (!v.present()) return DocNode();
  if (!v.is_map()) {
    error(v, path + ": expected a mapping, got " + node_kind(v));
    return DocNode();
  }
  return v;
}

DocNode Fields::seq(DocNode parent, const std::string& key, const std::string& path) {
  DocNode v = child(parent, key);
  if (!v.present()) return DocNode();
  if (!v.is_list()) {
    error(v, path + ": expected a list, got " + node_kind(v));
    return DocNode();
  }
  if (!spend(v, v.size())) return DocNode();
  return v;
}

std::map<std::string, std::string> Fields::string_map(DocNode parent, const std::string& key,
                                                      const std::string& path) {
  std::map<std::string, std::string> out;
  DocNode m = map(parent, key, path);
  if (!m.defined() || !spend(m, m.size())) return out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    DocNode k = m.key_at(i), v = m.value_at(i);
    if (!k.is_scalar()) {
      error(k, path + ": keys must be strings");
      continue;
    }
    if (v.is_null()) {
      out[k.str()] = "";
    } else if (v.is_scalar()) {
      out[k.str()] = v.str();
    } else {
      error(v, path + "." + k.str() + ": expected a string, got " + node_kind(v));
    }
  }
  return out;
}

std::optional<Protocol> Fields::protocol(DocNode parent, const std::string& key, const std::string& path) {
  std::optional<std::string> s = str(parent, key, path);
  if (!s) return Protocol::Tcp;
  std::optional<Protocol> p = parse_protocol(*s);
  if (!p) error(child(parent, key), path + ": '" + *s + "' is not one of TCP, UDP, SCTP");
  return p;
}

std::optional<std::string> Fields::ip(DocNode node, const std::string& path) {
  if (!node.present() || !node.is_scalar()) {
    error(node.present() ? node : DocNode(), path + ": expected an IP address");
    return std::nullopt;
  }
  std::optional<std::string> canon = canonical_ip(node.str());
  if (!canon) error(node, path + ": '" + node.str() + "' is not a valid IP address");
  return canon;
}

}  // namespace clusterdns::discovery::objects
