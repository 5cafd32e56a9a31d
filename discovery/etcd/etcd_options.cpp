// --source etcd:URL[,URL…][?name=value&…] → EtcdSourceOptions.
#include <charconv>

#include "discovery/etcd/etcd_source.hpp"

namespace clusterdns::discovery {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// "500ms", "10s", "20m", or plain seconds.
bool parse_duration(const std::string& text, std::chrono::milliseconds& out) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data() || n <= 0) return false;
  std::string unit(ptr, text.data() + text.size());
  if (unit == "ms") {
    out = std::chrono::milliseconds(n);
  } else if (unit.empty() || unit == "s") {
    out = std::chrono::seconds(n);
  } else if (unit == "m") {
    out = std::chrono::minutes(n);
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool parse_etcd_spec(const std::string& spec, EtcdSourceOptions& out, std::string& error) {
  const std::string usage = " (expected etcd:http(s)://HOST:PORT[,…][?prefix=…&cacert=…&cert=…&key=…])";
  std::size_t q = spec.find('?');
  const std::string urls = spec.substr(0, q);
  out.client.endpoints.clear();
  for (const std::string& url : split(urls, ',')) {
    if (url.empty()) continue;
    if (!etcd::parse_endpoint(url, error)) {
      error += usage;
      return false;
    }
    out.client.endpoints.push_back(url);
  }
  if (out.client.endpoints.empty()) {
    error = "etcd source: no endpoint" + usage;
    return false;
  }
  if (q == std::string::npos) return true;
  for (const std::string& pair : split(spec.substr(q + 1), '&')) {
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    std::string name = pair.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    bool ok = !value.empty();
    if (name == "prefix") {
      out.prefix = value;
      ok = ok && value[0] == '/';
    } else if (name == "cacert") {
      out.client.tls.ca_file = value;
    } else if (name == "cert") {
      out.client.tls.cert_file = value;
    } else if (name == "key") {
      out.client.tls.key_file = value;
    } else if (name == "read_timeout") {
      ok = ok && parse_duration(value, out.read_timeout);
    } else if (name == "connect_timeout") {
      ok = ok && parse_duration(value, out.client.connect_timeout);
    } else {
      error = "etcd source: unknown setting '" + name + "'" + usage;
      return false;
    }
    if (!ok) {
      error = "etcd source: bad value for " + name + ": '" + value + "'";
      return false;
    }
  }
  if (out.client.tls.cert_file.empty() != out.client.tls.key_file.empty()) {
    error = "etcd source: cert and key go together";
    return false;
  }
  return true;
}

}  // namespace clusterdns::discovery
