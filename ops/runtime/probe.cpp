// The in-process DNS probe.
#include "ops/runtime/probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <vector>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/response.hpp"
#include "ops/metrics/query_metrics.hpp"

namespace clusterdns::ops {

Probe probe_query(dns::QueryHandler& handler, const std::string& name) {
  const auto wire = dns::wire::name_from_text(name);
  if (!wire) return {503, "probe: bad name " + name + "\n"};
  std::vector<uint8_t> query(dns::wire::kHeaderSize + wire->size() + 4);
  dns::wire::write_query(query, 0x6b64, 0, *wire, dns::wire::rrtype::A, dns::wire::kClassIn, nullptr);
  std::vector<uint8_t> out(65535);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dns::QueryContext ctx;
  ctx.transport = dns::Transport::Udp;
  ctx.peer = reinterpret_cast<const sockaddr*>(&peer);
  ctx.peer_len = sizeof(peer);
  size_t n = 0;
  try {
    n = handler.answer(query, out, ctx);
  } catch (const std::exception& e) {
    return {503, "probe " + name + ": the query handler failed: " + e.what() + "\n"};
  }
  const dns::wire::HeaderView h(std::span<const uint8_t>(out.data(), n <= out.size() ? n : 0));
  if (!h.valid()) return {503, "probe " + name + ": no answer\n"};
  const unsigned rcode = h.rcode();
  const unsigned answers = h.ancount();
  if (rcode != 0 || answers == 0) {
    return {503,
            "probe " + name + ": " + rcode_label(rcode) + " with " + std::to_string(answers) + " answers\n"};
  }
  return {200, "OK"};
}

}  // namespace clusterdns::ops
