// Route tables, stub-domain parsing (flag and kube-dns ConfigMap JSON) and the upstream health registry.
#include "dns/forward/routes.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "dns/wire/name.hpp"

namespace clusterdns::dns::forward {

std::shared_ptr<UpstreamHealth> HealthRegistry::get(const Upstream& u) {
  auto by_id = by_id_.lock();
  for (const auto& h : *by_id) {
    if (h->upstream == u) return h;
  }
  by_id->push_back(std::make_shared<UpstreamHealth>(static_cast<uint32_t>(by_id->size()), u));
  return by_id->back();
}

std::shared_ptr<UpstreamHealth> HealthRegistry::by_id(uint32_t id) const {
  auto by_id = by_id_.lock();
  return id < by_id->size() ? (*by_id)[id] : nullptr;
}

std::vector<std::shared_ptr<UpstreamHealth>> HealthRegistry::all() const {
  return *by_id_.lock();
}

const Group& Routes::match(std::string_view qname) const {
  for (const Group& g : stubs) {
    if (wire::is_subdomain(qname, g.domain)) return g;
  }
  return fallback;
}

std::vector<std::shared_ptr<UpstreamHealth>> Routes::all() const {
  std::vector<std::shared_ptr<UpstreamHealth>> out;
  auto add = [&](const Group& g) {
    for (const auto& s : g.servers) {
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
  };
  add(fallback);
  for (const Group& g : stubs)
    add(g);
  return out;
}

std::optional<StubDomain> make_stub_domain(std::string_view domain, const std::vector<std::string>& servers,
                                           std::string& error) {
  StubDomain s;
  s.domain = wire::lowercase(domain);
  while (!s.domain.empty() && s.domain.back() == '.')
    s.domain.pop_back();
  if (s.domain.empty() || !wire::name_from_text(s.domain)) {
    error = "'" + std::string(domain) + "' is not a domain name";
    return std::nullopt;
  }
  if (servers.empty()) {
    error = "stub domain " + s.domain + " has no servers";
    return std::nullopt;
  }
  for (const auto& text : servers) {
    auto u = parse_upstream(text, error);
    if (!u) {
      error = "stub domain " + s.domain + ": " + error;
      return std::nullopt;
    }
    s.servers.push_back(*u);
  }
  return s;
}

std::optional<StubDomain> parse_stub_domain(std::string_view text, std::string& error) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    error = "expected DOMAIN=ADDR[:PORT][,ADDR[:PORT]...]";
    return std::nullopt;
  }
  std::vector<std::string> servers;
  std::string_view rest = text.substr(eq + 1);
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    servers.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return make_stub_domain(text.substr(0, eq), servers, error);
}

std::optional<KubeDnsConfig> parse_kube_dns_config(const std::optional<std::string>& stub_domains,
                                                   const std::optional<std::string>& upstream_nameservers,
                                                   std::string& error) {
  KubeDnsConfig c;
  const char* key = "stubDomains";
  try {
    if (stub_domains && !stub_domains->empty()) {
      const auto j = nlohmann::json::parse(*stub_domains);
      if (!j.is_object()) {
        error = "stubDomains: expected a JSON object of domain -> [\"ip[:port]\", ...]";
        return std::nullopt;
      }
      c.stubs.emplace();
      for (const auto& [domain, list] : j.items()) {
        if (!list.is_array()) {
          error = "stubDomains: " + domain + ": expected a list of addresses";
          return std::nullopt;
        }
        std::vector<std::string> servers;
        for (const auto& v : list) {
          if (!v.is_string()) {
            error = "stubDomains: " + domain + ": addresses must be strings";
            return std::nullopt;
          }
          servers.push_back(v.get<std::string>());
        }
        auto s = make_stub_domain(domain, servers, error);
        if (!s) {
          error = "stubDomains: " + error;
          return std::nullopt;
        }
        c.stubs->push_back(std::move(*s));
      }
    }
    key = "upstreamNameservers";
    if (upstream_nameservers && !upstream_nameservers->empty()) {
      const auto j = nlohmann::json::parse(*upstream_nameservers);
      if (!j.is_array() || j.empty() || j.size() > 3) {
        error = "upstreamNameservers: expected a JSON list of 1 to 3 addresses";
        return std::nullopt;
      }
      c.upstreams.emplace();
      for (const auto& v : j) {
        std::string e;
        auto u = v.is_string() ? parse_upstream(v.get<std::string>(), e) : std::nullopt;
        if (!u) {
          error = "upstreamNameservers: " + (e.empty() ? std::string("addresses must be strings") : e);
          return std::nullopt;
        }
        c.upstreams->push_back(*u);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    error = std::string(key) + ": invalid JSON: " + e.what();
    return std::nullopt;
  }
  return c;
}

std::shared_ptr<const Routes> build_routes(const std::vector<Upstream>& upstreams,
                                           const std::vector<StubDomain>& stubs, HealthRegistry& registry) {
  auto r = std::make_shared<Routes>();
  r->fallback.domain = std::string(1, '\0');
  for (const auto& u : upstreams)
    r->fallback.servers.push_back(registry.get(u));
  for (const auto& s : stubs) {
    Group g;
    g.domain = *wire::name_from_text(s.domain);
    for (const auto& u : s.servers)
      g.servers.push_back(registry.get(u));
    // A later definition of the same domain replaces the earlier one (flags first, then the ConfigMap).
    auto same =
        std::find_if(r->stubs.begin(), r->stubs.end(), [&](const Group& o) { return o.domain == g.domain; });
    if (same != r->stubs.end()) {
      *same = std::move(g);
    } else {
      r->stubs.push_back(std::move(g));
    }
  }
  std::stable_sort(r->stubs.begin(), r->stubs.end(),
                   [](const Group& a, const Group& b) { return a.domain.size() > b.domain.size(); });
  return r;
}

}  // namespace clusterdns::dns::forward
