// The in-process DNS probe.
#include "ops/probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <vector>

#include "dns/wire/name.hpp"
#include "ops/query_metrics.hpp"

namespace clusterdns::ops {

Probe probe_query(dns::QueryHandler& handler, const std::string& name) {
  const auto wire = dns::wire::name_from_text(name);
  if (!wire) return {503, "probe: bad name " + name + "\n"};
  std::vector<uint8_t> query = {0x6b, 0x64, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  query.insert(query.end(), wire->begin(), wire->end());
  query.insert(query.end(), {0x00, 0x01, 0x00, 0x01});  // A, IN
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
  if (n < 12 || n > out.size()) return {503, "probe " + name + ": no answer\n"};
  const unsigned rcode = out[3] & 0x0F;
  const unsigned answers = static_cast<unsigned>(out[6] << 8 | out[7]);
  if (rcode != 0 || answers == 0) {
    return {503,
            "probe " + name + ": " + rcode_label(rcode) + " with " + std::to_string(answers) + " answers\n"};
  }
  return {200, "OK"};
}

}  // namespace clusterdns::ops
