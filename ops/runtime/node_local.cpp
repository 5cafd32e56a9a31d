// rtnetlink: RTM_NEWLINK (kind dummy), RTM_NEWADDR, link up, RTM_DELLINK.
#include "ops/runtime/node_local.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "base/ip_address.hpp"

namespace clusterdns::ops {

namespace {

// One request message: header, fixed part, attributes (nested ones through begin/end_nest).
class NetlinkRequest {
 public:
  NetlinkRequest(uint16_t type, uint16_t flags, const void* fixed, size_t fixed_len) {
    buf_.resize(NLMSG_SPACE(fixed_len));
    auto* h = header();
    h->nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(fixed_len));
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    h->nlmsg_seq = 1;
    std::memcpy(NLMSG_DATA(h), fixed, fixed_len);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    const size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    buf_.resize(at + RTA_SPACE(len));
    auto* rta = reinterpret_cast<rtattr*>(buf_.data() + at);
    rta->rta_type = type;
    rta->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len) std::memcpy(RTA_DATA(rta), data, len);
    header()->nlmsg_len = static_cast<uint32_t>(at + RTA_SPACE(len));
  }
  void attr(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  size_t begin_nest(uint16_t type) {
    const size_t at = NLMSG_ALIGN(header()->nlmsg_len);
    attr(type, nullptr, 0);
    return at;
  }
  void end_nest(size_t at) {
    reinterpret_cast<rtattr*>(buf_.data() + at)->rta_len = static_cast<uint16_t>(header()->nlmsg_len - at);
  }
  const char* data() const { return buf_.data(); }
  size_t size() const { return header()->nlmsg_len; }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  const nlmsghdr* header() const { return reinterpret_cast<const nlmsghdr*>(buf_.data()); }
  std::vector<char> buf_;
};

// Sends one request and returns 0 or the negative errno of the kernel's acknowledgement.
int talk(const NetlinkRequest& req) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  int result = -EIO;
  if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    result = -errno;
  } else {
    alignas(nlmsghdr) char reply[8192];
    const ssize_t n = recv(fd, reply, sizeof(reply), 0);
    if (n < 0) {
      result = -errno;
    } else {
      int left = static_cast<int>(n);
      // NLMSG_OK(h, left), spelled out: the macro compares the unsigned nlmsg_len with the int length, which
      // clang's -Wsign-compare rejects.
      for (auto* h = reinterpret_cast<nlmsghdr*>(reply);
           left >= static_cast<int>(sizeof(nlmsghdr)) && h->nlmsg_len >= sizeof(nlmsghdr) &&
           h->nlmsg_len <= static_cast<unsigned>(left);
           h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type == NLMSG_ERROR) {
          result = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
          break;
        }
      }
    }
  }
  close(fd);
  return result;
}

std::runtime_error failure(const std::string& what, int neg_errno) {
  std::string msg = "node-local: " + what + ": " + std::strerror(-neg_errno);
  if (neg_errno == -EPERM || neg_errno == -EACCES) msg += " (needs CAP_NET_ADMIN)";
  return std::runtime_error(msg);
}

int link_up(unsigned index) {
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = static_cast<int>(index);
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  NetlinkRequest req(RTM_NEWLINK, 0, &info, sizeof(info));
  return talk(req);
}

}  // namespace

bool address_present(const std::string& ip) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  const std::optional<base::IpAddress> wanted = base::IpAddress::parse(ip);
  bool found = false;
  for (ifaddrs* a = list; a && wanted && !found; a = a->ifa_next)
    found = base::IpAddress::from_sockaddr(a->ifa_addr) == wanted;
  freeifaddrs(list);
  return found;
}

NodeLocalAddress ensure_node_local_address(const std::string& ip, const std::string& ifname) {
  NodeLocalAddress r;
  r.interface = ifname;
  const std::optional<base::IpAddress> parsed = base::IpAddress::parse(ip);
  if (!parsed) throw std::runtime_error("node-local: '" + ip + "' is not an IP address");
  const bool v6 = parsed->is_v6();
  const uint8_t* addr = parsed->bytes().data();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    throw std::runtime_error("node-local: bad interface name " + ifname);

  // Already configured (by an init container, a previous run, or the operator): listen there, change nothing.
  if (address_present(ip)) return r;
  unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) {
    // A dummy interface, as NodeLocal DNSCache makes; a kernel without the dummy driver (EOPNOTSUPP) gets
    // an empty bridge instead, which holds a local address just as well.
    int rc = -EOPNOTSUPP;
    for (const char* kind : {"dummy", "bridge"}) {
      ifinfomsg info{};
      info.ifi_family = AF_UNSPEC;
      NetlinkRequest req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof(info));
      req.attr(IFLA_IFNAME, ifname);
      const size_t linkinfo = req.begin_nest(IFLA_LINKINFO);
      req.attr(IFLA_INFO_KIND, std::string(kind));
      req.end_nest(linkinfo);
      rc = talk(req);
      r.kind = kind;
      if (rc != -EOPNOTSUPP) break;
    }
    if (rc != 0 && rc != -EEXIST) throw failure("cannot create dummy interface " + ifname, rc);
    index = if_nametoindex(ifname.c_str());
    if (index == 0) throw std::runtime_error("node-local: interface " + ifname + " vanished after creation");
    r.created_interface = true;
  }
  {
    ifaddrmsg a{};
    a.ifa_family = static_cast<unsigned char>(v6 ? AF_INET6 : AF_INET);
    a.ifa_prefixlen = static_cast<unsigned char>(v6 ? 128 : 32);
    a.ifa_flags = v6 ? IFA_F_NODAD : 0;  // usable at once, no duplicate-address detection delay
    a.ifa_scope = RT_SCOPE_UNIVERSE;
    a.ifa_index = index;
    NetlinkRequest req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &a, sizeof(a));
    req.attr(IFA_LOCAL, addr, v6 ? 16 : 4);
    req.attr(IFA_ADDRESS, addr, v6 ? 16 : 4);
    if (int rc = talk(req); rc != 0 && rc != -EEXIST) {
      std::string ignored;
      if (r.created_interface) remove_interface(ifname, ignored);
      throw failure("cannot add " + ip + " to " + ifname, rc);
    }
    r.added_address = true;
  }
  if (int rc = link_up(index); rc != 0) throw failure("cannot bring " + ifname + " up", rc);
  return r;
}

bool remove_interface(const std::string& ifname, std::string& error) {
  const unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return true;
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = static_cast<int>(index);
  NetlinkRequest req(RTM_DELLINK, 0, &info, sizeof(info));
  if (int rc = talk(req); rc != 0) {
    error = std::strerror(-rc);
    return false;
  }
  return true;
}

}  // namespace clusterdns::ops
