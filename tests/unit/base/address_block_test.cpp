// Address blocks (base/address_block.hpp): --allow-recursion and --allow-transfer read them and match the
// peers the kernel hands over against them.
#include "base/address_block.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace clusterdns::base {
namespace {

sockaddr_storage peer(const char* text) {
  sockaddr_storage s{};
  IpAddress::parse(text)->to_sockaddr(53, s);
  return s;
}

bool contains(const char* block, const char* address) {
  const sockaddr_storage s = peer(address);
  return AddressBlock::parse(block)->contains(reinterpret_cast<const sockaddr*>(&s));
}

TEST(AddressBlock, ParsesAPrefixOrAnAddressAlone) {
  EXPECT_EQ(AddressBlock::parse("10.0.0.0/8")->text(), "10.0.0.0/8");
  EXPECT_EQ(AddressBlock::parse("127.0.0.1")->text(), "127.0.0.1/32");
  EXPECT_EQ(AddressBlock::parse("::1")->text(), "::1/128");
  EXPECT_EQ(AddressBlock::parse("FD00::/8")->text(), "fd00::/8");
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/-1", "10.0.0.0/8x",
                          "10.0.0.0/0008", "example.com/8", "10.0.0/8"})
    EXPECT_FALSE(AddressBlock::parse(bad)) << bad;
}

TEST(AddressBlock, MatchesByPrefixAndIpv4BlocksMatchMappedPeers) {
  EXPECT_TRUE(contains("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(contains("172.16.0.0/12", "172.31.255.255"));
  EXPECT_FALSE(contains("172.16.0.0/12", "172.32.0.0"));
  EXPECT_TRUE(contains("0.0.0.0/0", "192.0.2.1"));
  EXPECT_TRUE(contains("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(contains("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(contains("10.0.0.0/8", "::ffff:10.1.2.3"));  // a dual-stack socket's IPv4 client
  EXPECT_FALSE(contains("10.0.0.0/8", "fd00::1"));
  EXPECT_TRUE(contains("fc00::/7", "fd12::1"));
  EXPECT_FALSE(contains("fc00::/7", "fe80::1"));
  EXPECT_FALSE(contains("::/0", "10.0.0.1"));  // an IPv6 block never matches an IPv4 peer
  EXPECT_FALSE(AddressBlock::parse("0.0.0.0/0")->contains(nullptr));
}

}  // namespace
}  // namespace clusterdns::base
