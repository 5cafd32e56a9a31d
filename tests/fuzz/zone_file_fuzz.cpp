// libFuzzer target: an RFC 1035 master file (--zone-file) through load_zone_file (ldns), and when it loads,
// served: a snapshot built with it answers its apex SOA, each of its first owners, and an AXFR over TCP.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dns/wire/types.hpp"
#include "fuzz_file.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "zones/zone_file.hpp"

using namespace clusterdns;

namespace {

std::vector<uint8_t> make_query(const std::string& name, uint16_t type) {
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), name.begin(), name.end());
  q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
  return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("zone.db", data, size);
  std::string error;
  auto zone = zones::load_zone_file(path, error);
  if (!zone) {
    if (error.rfind(path + ":", 0) != 0) __builtin_trap();  // always "path:line: reason"
    return 0;
  }
  zones::BuildConfig config;
  config.keep_transfer_data = true;
  std::vector<std::string> owners;
  owners.push_back(zone->zone.apex);
  for (const auto& r : zone->records) {
    if (owners.size() >= 4) break;
    owners.push_back(r.owner);
  }
  config.static_zones.push_back(std::move(*zone));
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(nullptr, config, 1));
  zones::ResponderOptions opts;
  opts.allow_transfer.push_back(*base::AddressBlock::parse("0.0.0.0/0"));
  zones::Responder responder(holder, opts);
  static std::vector<uint8_t> out(65535);
  size_t streamed = 0;
  const std::function<void(std::span<const uint8_t>)> stream = [&](std::span<const uint8_t> m) {
    if (m.size() > 65535) __builtin_trap();
    ++streamed;
  };
  for (size_t i = 0; i < owners.size(); ++i) {
    const uint16_t type = i == 0 ? 6 : 255;  // SOA at the apex, ANY elsewhere
    const auto q = make_query(owners[i], type);
    dns::QueryContext ctx;
    if (responder.answer(q, out, ctx) > 1232) __builtin_trap();
  }
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_addr.s_addr = htonl(0x7f000001);
  dns::QueryContext tcp;
  tcp.transport = dns::Transport::Tcp;
  tcp.peer = reinterpret_cast<const sockaddr*>(&peer);
  tcp.peer_len = sizeof peer;
  tcp.stream = &stream;
  const auto axfr = make_query(owners[0], 252);
  if (responder.answer(axfr, out, tcp) > 65535) __builtin_trap();
  return 0;
}
