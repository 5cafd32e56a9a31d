// IP address values (base/ip_address.hpp): text in and out as inet_pton/inet_ntop read and print it, and the
// socket addresses the kernel hands over.
#include "base/ip_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace clusterdns::base {
namespace {

TEST(IpAddress, ParsesAnAddressAloneAndPrintsItCanonically) {
  const auto v4 = IpAddress::parse("10.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_FALSE(v4->is_v6());
  EXPECT_EQ(v4->bytes().size(), 4u);
  EXPECT_EQ(v4->text(), "10.0.0.1");
  const auto v6 = IpAddress::parse("FD00:0:0::1");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->is_v6());
  EXPECT_EQ(v6->bytes().size(), 16u);
  EXPECT_EQ(v6->text(), "fd00::1");
  EXPECT_EQ(IpAddress::parse("fd00::1"), v6);
  EXPECT_NE(IpAddress::parse("fd00::2"), v6);
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "[::1]", "10.0.0.1:53", "10.0.0.0/8", "fe80::1%eth0",
                          "::g", "example.com", "10.0.0.1 "})
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1')));
}

TEST(IpAddress, AnIpv4MappedAddressUnmapsToItsIpv4Address) {
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.7")->unmapped(), IpAddress::parse("192.0.2.7"));
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.7")->unmapped().text(), "192.0.2.7");
  EXPECT_EQ(IpAddress::parse("fd00::1")->unmapped(), IpAddress::parse("fd00::1"));
  EXPECT_EQ(IpAddress::parse("192.0.2.7")->unmapped(), IpAddress::parse("192.0.2.7"));
}

TEST(IpAddress, SocketAddressesRoundTrip) {
  for (const char* text : {"192.0.2.7", "2001:db8::53"}) {
    sockaddr_storage ss{};
    const socklen_t len = IpAddress::parse(text)->to_sockaddr(5353, ss);
    const auto* sa = reinterpret_cast<const sockaddr*>(&ss);
    EXPECT_EQ(len, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in)) << text;
    const uint16_t port = sa->sa_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port
                                                    : reinterpret_cast<const sockaddr_in*>(sa)->sin_port;
    EXPECT_EQ(ntohs(port), 5353) << text;
    EXPECT_EQ(IpAddress::from_sockaddr(sa), IpAddress::parse(text)) << text;
  }
  sockaddr other{};
  other.sa_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::from_sockaddr(&other));
  EXPECT_FALSE(IpAddress::from_sockaddr(nullptr));
}

}  // namespace
}  // namespace clusterdns::base
