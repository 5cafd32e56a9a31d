// Reverse names and dashed-IP labels are parsed, never matched as strings (spec 1.1.0 §2.3.3, §2.4.3; RFC
// 3596 §2.5).
#include <gtest/gtest.h>

#include "dns/wire/name.hpp"
#include "zones/names.hpp"

using namespace clusterdns::zones;
using clusterdns::dns::wire::name_from_text;
using clusterdns::dns::wire::name_to_text;

TEST(Names, ReverseNamesRoundTrip) {
  EXPECT_EQ(name_to_text(reverse_name("10.0.162.149")), "149.162.0.10.in-addr.arpa.");
  EXPECT_EQ(name_to_text(reverse_name("fd00:10:96::55")),
            "5.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.");
  for (const char* ip : {"10.0.0.1", "0.0.0.0", "255.255.255.255", "fd00::1", "::1", "2001:db8:0:1::ab"}) {
    EXPECT_EQ(parse_reverse_name(reverse_name(ip)).value_or("?"), ip);
  }
  EXPECT_EQ(reverse_name("not-an-ip"), "");
}

TEST(Names, ReverseNamesParseCaseInsensitivelyAndRejectMalformed) {
  EXPECT_EQ(*parse_reverse_name(
                *name_from_text("5.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.D.F.IP6.ARPA")),
            "fd00:10:96::55");
  EXPECT_FALSE(parse_reverse_name(*name_from_text("1.2.3.in-addr.arpa")));
  EXPECT_FALSE(parse_reverse_name(*name_from_text("256.2.3.4.in-addr.arpa")));
  EXPECT_FALSE(parse_reverse_name(*name_from_text("01.2.3.4.in-addr.arpa")));
  EXPECT_FALSE(parse_reverse_name(*name_from_text("x.2.3.4.in-addr.arpa")));
  EXPECT_FALSE(parse_reverse_name(*name_from_text("10.0.ip6.arpa")));
  EXPECT_FALSE(parse_reverse_name(
      *name_from_text("5.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.fg.ip6.arpa")));
}

TEST(Names, DashedIps) {
  EXPECT_EQ(dashed_ip("10.244.1.5"), "10-244-1-5");
  EXPECT_EQ(dashed_ip("fd00::5"), "fd00--5");
  EXPECT_EQ(dashed_ip("fd00::"), "fd00--0");  // a label must not end with '-'
  EXPECT_EQ(dashed_ip("::1"), "0--1");
  EXPECT_EQ(parse_dashed_ip("10-244-1-5").value_or(""), "10.244.1.5");
  EXPECT_EQ(parse_dashed_ip("fd00-10-244-3--71").value_or(""), "fd00:10:244:3::71");
  EXPECT_EQ(parse_dashed_ip("FD00--5").value_or(""), "fd00::5");
  EXPECT_EQ(parse_dashed_ip(dashed_ip("::1")).value_or(""), "::1");
  EXPECT_FALSE(parse_dashed_ip("10-244-1"));
  EXPECT_FALSE(parse_dashed_ip("10-244-1-256"));
  EXPECT_FALSE(parse_dashed_ip("not-an-ip"));
  EXPECT_FALSE(parse_dashed_ip(""));
  EXPECT_TRUE(is_dns_label("web-0"));
  EXPECT_FALSE(is_dns_label("-web"));
  EXPECT_FALSE(is_dns_label("Web"));
  EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
}
