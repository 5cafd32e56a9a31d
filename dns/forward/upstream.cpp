// Upstream address parsing and a resolv.conf reader that keeps what glibc keeps (and says what it skips).
#include "dns/forward/upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/ip_address.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns::dns::forward {
namespace {

constexpr unsigned kMaxNameservers = 3;  // glibc's MAXNS: later nameserver lines are ignored

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const unsigned long v = std::stoul(std::string(s));
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::optional<Upstream> parse_upstream(std::string_view text, std::string& error) {
  text = trim(text);
  std::string host;
  uint16_t port = 53;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' in '" + std::string(text) + "'";
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      auto p = rest.front() == ':' ? parse_port(rest.substr(1)) : std::nullopt;
      if (!p) {
        error = "bad port in '" + std::string(text) + "'";
        return std::nullopt;
      }
      port = *p;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    const auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    auto p = parse_port(text.substr(colon + 1));
    if (!p) {
      error = "bad port in '" + std::string(text) + "'";
      return std::nullopt;
    }
    port = *p;
  } else {
    host = std::string(text);  // bare IPv4, or bare IPv6 without a port
  }
  const std::optional<base::IpAddress> ip = base::IpAddress::parse(host);
  if (!ip) {
    error = std::string(1, '\'').append(text).append("' is not an IP address (with an optional :port)");
    return std::nullopt;
  }
  Upstream u;
  u.addr_len = ip->to_sockaddr(port, u.addr);
  u.text =
      ip->is_v6() ? "[" + ip->text() + "]:" + std::to_string(port) : ip->text() + ":" + std::to_string(port);
  return u;
}

bool is_loopback(const Upstream& u) {
  if (u.addr.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&u.addr);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (u.addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6*>(&u.addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf rc;
  std::istringstream in{std::string(text)};
  std::string line;
  unsigned servers = 0;
  while (std::getline(in, line)) {
    const auto hash = line.find_first_of("#;");
    if (hash != std::string::npos) line.resize(hash);
    const auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "nameserver" && w.size() >= 2) {
      std::string error;
      // A port is not resolv.conf syntax: glibc reads the address only, and so do we.
      const bool bare_v6 = w[1].find(':') != std::string_view::npos && w[1].front() != '[';
      auto u =
          parse_upstream(bare_v6 ? std::string(1, '[').append(w[1]).append("]") : std::string(w[1]), error);
      if (!u || ++servers > kMaxNameservers) continue;
      if (is_loopback(*u)) {
        rc.loopback.push_back(u->text);
      } else {
        rc.nameservers.push_back(*u);
      }
    } else if ((w[0] == "search" || w[0] == "domain") && w.size() >= 2) {
      rc.search.clear();
      for (size_t i = 1; i < w.size(); ++i) {
        std::string d(w[i]);
        while (!d.empty() && d.back() == '.')
          d.pop_back();
        if (!d.empty() && wire::name_from_text(d)) rc.search.push_back(wire::lowercase(d));
      }
    } else if (w[0] == "options") {
      for (size_t i = 1; i < w.size(); ++i) {
        for (const char* key : {"timeout:", "attempts:"}) {
          const size_t klen = std::strlen(key);
          if (w[i].substr(0, klen) != key) continue;
          const std::string v(w[i].substr(klen));
          if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos) continue;
          const unsigned n = static_cast<unsigned>(std::stoul(v));
          (key[0] == 't' ? rc.timeout_s : rc.attempts) = n;
        }
      }
    }
  }
  return rc;
}

std::optional<ResolvConf> read_resolv_conf(const std::string& path, std::string& error) {
  std::ifstream f(path);
  if (!f) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_resolv_conf(ss.str());
}

}  // namespace clusterdns::dns::forward
