// c-ares (the library many programs resolve with) against a running clusterdns, over UDP and TCP.
//
//   cares_client HOST PORT [BIG_NAME BIG_COUNT]
//
// The channel's only server is HOST:PORT (ares_set_servers_ports_csv, checked with ares_get_servers_ports
// before the first query: the machine's resolver must never be asked). ARES_FLAG_NOCHECKRESP
// lets REFUSED through (ares_init_options(3)). Each suite runs twice: UDP, then ARES_FLAG_USEVC (TCP); a
// socket-creation callback proves which transport was used. With BIG_NAME (a headless service with BIG_COUNT
// ready endpoints, > 512 bytes of answers) it also checks the TC -> TCP retry, ARES_FLAG_IGNTC and EDNS.
// Prints one line per check; exit status 0 only if every check passed (1 on a mismatch, 2 on bad usage).
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <netdb.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int g_failures = 0;

void check(bool ok, const std::string& what, const std::string& detail = "") {
  std::printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  if (!ok) ++g_failures;
}

template <typename T>
void expect_eq(const T& want, const T& got, const std::string& what) {
  if (want == got) {
    check(true, what);
  } else {
    std::string w, g;
    if constexpr (std::is_same_v<T, std::string>) {
      w = want;
      g = got;
    } else {
      w = std::to_string(want);
      g = std::to_string(got);
    }
    check(false, what, "expected '" + w + "', got '" + g + "'");
  }
}

struct Reply {
  bool done = false;
  int status = -1;
  std::vector<unsigned char> buf;
  // Header fields of the raw reply.
  int rcode() const { return buf.size() >= 12 ? (buf[3] & 0x0f) : -1; }
  bool aa() const { return buf.size() >= 12 && (buf[2] & 0x04); }
  bool tc() const { return buf.size() >= 12 && (buf[2] & 0x02); }
  int count(int i) const {
    return buf.size() >= 12 ? (buf[4 + 2 * i] << 8 | buf[5 + 2 * i]) : -1;
  }  // qd an ns ar
  std::string qname() const {
    char* name = nullptr;
    long len = 0;
    if (buf.size() < 13 ||
        ares_expand_name(buf.data() + 12, buf.data(), int(buf.size()), &name, &len) != ARES_SUCCESS)
      return "?";
    std::string s(name);
    ares_free_string(name);
    return s;
  }
};

struct HostReply {
  bool done = false;
  int status = -1;
  std::string name;
  std::vector<std::string> addrs;
};

void on_query(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* r = static_cast<Reply*>(arg);
  r->done = true;
  r->status = status;
  if (abuf != nullptr && alen > 0) r->buf.assign(abuf, abuf + alen);
}

void on_host(void* arg, int status, int /*timeouts*/, hostent* h) {
  auto* r = static_cast<HostReply*>(arg);
  r->done = true;
  r->status = status;
  if (status != ARES_SUCCESS || h == nullptr) return;
  r->name = h->h_name ? h->h_name : "";
  char text[INET6_ADDRSTRLEN];
  for (char** a = h->h_addr_list; a && *a; ++a)
    r->addrs.push_back(inet_ntop(h->h_addrtype, *a, text, sizeof text));
}

class Channel {
 public:
  Channel(const std::string& host, int port, int flags) {
    ares_options opts{};
    opts.flags = flags | ARES_FLAG_NOCHECKRESP;
    opts.timeout = 2000;  // ms (ARES_OPT_TIMEOUTMS)
    opts.tries = 2;
    opts.ndomains = 0;  // no search list from resolv.conf
    opts.domains = nullptr;
    opts.lookups = const_cast<char*>("b");  // DNS only, never /etc/hosts
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS;
    if (ares_init_options(&ch_, &opts, mask) != ARES_SUCCESS) {
      std::puts("FAIL ares_init_options");
      std::exit(1);
    }
    const std::string csv = host + ":" + std::to_string(port);
    if (ares_set_servers_ports_csv(ch_, csv.c_str()) != ARES_SUCCESS) {
      std::printf("FAIL set servers %s\n", csv.c_str());
      std::exit(1);
    }
    // Guard: exactly one server, HOST:PORT, before anything is sent.
    ares_addr_port_node* servers = nullptr;
    ares_get_servers_ports(ch_, &servers);
    int n = 0;
    bool right = true;
    char text[INET6_ADDRSTRLEN] = "";
    for (auto* s = servers; s; s = s->next, ++n) {
      inet_ntop(s->family, &s->addr, text, sizeof text);
      right = right && text == host && s->udp_port == port && s->tcp_port == port;
    }
    ares_free_data(servers);
    if (n != 1 || !right) {
      std::printf("FAIL the channel's servers are not just %s (the machine's resolver must never be asked)\n",
                  csv.c_str());
      std::exit(1);
    }
    ares_set_socket_callback(ch_, &Channel::on_socket, this);
  }
  ~Channel() { ares_destroy(ch_); }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  Reply query(const std::string& name, int type) {
    Reply r;
    ares_query(ch_, name.c_str(), ns_c_in, type, on_query, &r);
    run(r.done);
    return r;
  }
  HostReply by_addr(const std::string& ip) {
    HostReply r;
    unsigned char addr[16];
    const int family = ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
    inet_pton(family, ip.c_str(), addr);
    ares_gethostbyaddr(ch_, addr, family == AF_INET ? 4 : 16, family, on_host, &r);
    run(r.done);
    return r;
  }
  HostReply by_name(const std::string& name, int family) {
    HostReply r;
    ares_gethostbyname(ch_, name.c_str(), family, on_host, &r);
    run(r.done);
    return r;
  }
  int udp_sockets = 0, tcp_sockets = 0;

 private:
  static int on_socket(ares_socket_t /*fd*/, int type, void* self) {
    auto* c = static_cast<Channel*>(self);
    (type == SOCK_STREAM ? c->tcp_sockets : c->udp_sockets)++;
    return ARES_SUCCESS;
  }
  // Drives the channel until `done`, bounded by a 10 s deadline (c-ares's own timeouts end sooner).
  void run(const bool& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done && std::chrono::steady_clock::now() < deadline) {
      fd_set r, w;
      FD_ZERO(&r);
      FD_ZERO(&w);
      const int nfds = ares_fds(ch_, &r, &w);
      timeval max{0, 100000}, tv{};
      timeval* t = ares_timeout(ch_, &max, &tv);
      if (nfds > 0)
        select(nfds, &r, &w, nullptr, t);
      else
        select(0, nullptr, nullptr, nullptr, t);
      ares_process(ch_, &r, &w);
    }
    if (!done) {
      std::puts("FAIL a query did not complete within 10 s");
      std::exit(1);
    }
  }
  ares_channel ch_{};
};

std::vector<std::string> a_addrs(const Reply& r, int* ttl = nullptr) {
  ares_addrttl ttls[256];
  int n = 256;
  std::vector<std::string> out;
  if (ares_parse_a_reply(r.buf.data(), int(r.buf.size()), nullptr, ttls, &n) != ARES_SUCCESS)
    return {"<parse error>"};
  char text[INET_ADDRSTRLEN];
  for (int i = 0; i < n; ++i)
    out.push_back(inet_ntop(AF_INET, &ttls[i].ipaddr, text, sizeof text));
  if (ttl && n > 0) *ttl = ttls[0].ttl;
  std::sort(out.begin(), out.end());
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v)
    s += (s.empty() ? "" : " ") + x;
  return s;
}

void suite(const std::string& host, int port, bool tcp) {
  const std::string T = tcp ? "TCP: " : "UDP: ";
  Channel ch(host, port, tcp ? ARES_FLAG_USEVC : 0);
  const std::string nginx = "my-nginx.default.svc.cluster.local";

  Reply r = ch.query(nginx, ns_t_a);
  int ttl = -1;
  expect_eq<int>(ARES_SUCCESS, r.status, T + "A my-nginx: ARES_SUCCESS");
  check(r.aa(), T + "A my-nginx: AA set");
  expect_eq<std::string>("10.0.162.149", join(a_addrs(r, &ttl)), T + "A my-nginx: ares_parse_a_reply");
  expect_eq(30, ttl, T + "A my-nginx: TTL");

  r = ch.query("MY-NGINX.default.svc.cluster.local", ns_t_a);
  expect_eq<std::string>("10.0.162.149", join(a_addrs(r)), T + "A MY-NGINX (0x20): answer");
  expect_eq<std::string>("MY-NGINX.default.svc.cluster.local", r.qname(),
                         T + "A MY-NGINX (0x20): question case echoed");

  r = ch.query("_http._tcp." + nginx, ns_t_srv);
  ares_srv_reply* srv = nullptr;
  expect_eq<int>(ARES_SUCCESS, ares_parse_srv_reply(r.buf.data(), int(r.buf.size()), &srv),
                 T + "SRV: ares_parse_srv_reply");
  std::vector<std::string> srvs;
  for (auto* s = srv; s; s = s->next)
    srvs.push_back(std::to_string(s->priority) + " " + std::to_string(s->weight) + " " +
                   std::to_string(s->port) + " " + s->host);
  ares_free_data(srv);
  expect_eq<std::string>("0 100 80 " + nginx, join(srvs), T + "SRV _http._tcp.my-nginx");
  expect_eq(1, r.count(3), T + "SRV: one additional RR (the target's A)");

  r = ch.query("_http._tcp.web.default.svc.cluster.local", ns_t_srv);
  srv = nullptr;
  ares_parse_srv_reply(r.buf.data(), int(r.buf.size()), &srv);
  srvs.clear();
  for (auto* s = srv; s; s = s->next)
    srvs.push_back(std::to_string(s->port) + " " + s->host);
  ares_free_data(srv);
  std::sort(srvs.begin(), srvs.end());
  expect_eq<std::string>("80 web-0.web.default.svc.cluster.local 80 web-1.web.default.svc.cluster.local",
                         join(srvs), T + "SRV headless web: ready endpoints' hostnames");

  HostReply h = ch.by_addr("10.0.162.149");
  expect_eq<int>(ARES_SUCCESS, h.status, T + "gethostbyaddr 10.0.162.149: ARES_SUCCESS");
  expect_eq<std::string>(nginx, h.name, T + "gethostbyaddr 10.0.162.149: PTR name");
  h = ch.by_addr("fd00:10:96::55");
  expect_eq<std::string>("dual.default.svc.cluster.local", h.name,
                         T + "gethostbyaddr fd00:10:96::55 (ip6.arpa)");
  h = ch.by_name("kube-dns.kube-system.svc.cluster.local", AF_INET);
  expect_eq<std::string>("10.0.0.10", join(h.addrs), T + "gethostbyname kube-dns");

  r = ch.query("dual.default.svc.cluster.local", ns_t_aaaa);
  ares_addr6ttl six[8];
  int n6 = 8;
  std::string v6 = "<parse error>";
  if (ares_parse_aaaa_reply(r.buf.data(), int(r.buf.size()), nullptr, six, &n6) == ARES_SUCCESS && n6 == 1) {
    char text[INET6_ADDRSTRLEN];
    v6 = inet_ntop(AF_INET6, &six[0].ip6addr, text, sizeof text);
  }
  expect_eq<std::string>("fd00:10:96::55", v6, T + "AAAA dual: ares_parse_aaaa_reply");

  r = ch.query("nonexistent.default.svc.cluster.local", ns_t_a);
  expect_eq<int>(ARES_ENOTFOUND, r.status, T + "NXDOMAIN: ARES_ENOTFOUND");
  expect_eq(3, r.rcode(), T + "NXDOMAIN: rcode 3");
  check(r.aa(), T + "NXDOMAIN: AA set");
  expect_eq(0, r.count(1), T + "NXDOMAIN: no answer");
  expect_eq(1, r.count(2), T + "NXDOMAIN: SOA in authority");

  r = ch.query(nginx, ns_t_aaaa);
  expect_eq<int>(ARES_ENODATA, r.status, T + "AAAA my-nginx (NODATA): ARES_ENODATA");
  expect_eq(1, r.count(2), T + "NODATA: SOA in authority");

  r = ch.query("example.com", ns_t_a);
  expect_eq<int>(ARES_EREFUSED, r.status, T + "example.com: ARES_EREFUSED (NOCHECKRESP)");
  expect_eq(5, r.rcode(), T + "example.com: rcode 5");

  if (tcp) {
    check(ch.tcp_sockets > 0 && ch.udp_sockets == 0, T + "only TCP sockets used",
          std::to_string(ch.tcp_sockets) + " tcp, " + std::to_string(ch.udp_sockets) + " udp");
  } else {
    check(ch.udp_sockets > 0 && ch.tcp_sockets == 0, T + "only UDP sockets used",
          std::to_string(ch.udp_sockets) + " udp, " + std::to_string(ch.tcp_sockets) + " tcp");
  }
}

void big(const std::string& host, int port, const std::string& name, int count) {
  {
    Channel ch(host, port, 0);
    Reply r = ch.query(name, ns_t_a);
    expect_eq<int>(ARES_SUCCESS, r.status, "TC retry: ARES_SUCCESS");
    expect_eq(count, int(a_addrs(r).size()), "TC retry: all " + std::to_string(count) + " addresses");
    check(!r.tc(), "TC retry: final reply not truncated");
    check(ch.udp_sockets > 0 && ch.tcp_sockets > 0, "TC retry: UDP first, then a TCP socket",
          std::to_string(ch.udp_sockets) + " udp, " + std::to_string(ch.tcp_sockets) + " tcp");
  }
  {
    Channel ch(host, port, ARES_FLAG_IGNTC);
    Reply r = ch.query(name, ns_t_a);
    const int n = int(a_addrs(r).size());
    check(r.tc(), "IGNTC: the UDP reply has TC");
    check(r.buf.size() <= 512, "IGNTC: reply <= 512 bytes", std::to_string(r.buf.size()));
    check(n > 0 && n < count && n == r.count(1), "IGNTC: whole RRs, fewer than " + std::to_string(count),
          std::to_string(n));
    expect_eq(0, ch.tcp_sockets, "IGNTC: no TCP socket");
  }
  {
    Channel ch(host, port, ARES_FLAG_EDNS);  // c-ares advertises 1280 bytes
    Reply r = ch.query(name, ns_t_a);
    expect_eq(count, int(a_addrs(r).size()), "EDNS: all " + std::to_string(count) + " addresses over UDP");
    check(!r.tc(), "EDNS: no TC");
    expect_eq(0, ch.tcp_sockets, "EDNS: no TCP socket");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s HOST PORT [BIG_NAME BIG_COUNT]\n", argv[0]);
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  if (port <= 0 || port > 65535) {
    std::fprintf(stderr, "bad port %s\n", argv[2]);
    return 2;
  }
  if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
    std::puts("FAIL ares_library_init");
    return 1;
  }
  std::printf("c-ares %s -> %s:%d\n", ares_version(nullptr), host.c_str(), port);
  suite(host, port, false);
  suite(host, port, true);
  if (argc == 5) big(host, port, argv[3], std::atoi(argv[4]));
  ares_library_cleanup();
  std::printf("%s: %d failure(s)\n", g_failures ? "FAIL" : "PASS", g_failures);
  return g_failures ? 1 : 0;
}
