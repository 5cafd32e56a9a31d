// libFuzzer target: bytes as the Kubernetes API sends them, through the source's decoders. The first byte
// picks the collection (Namespace, Service, EndpointSlice, Pod); the rest is read twice, as one watch event
// line (strict JSON, then slim_object on "object") and as one list page (items slimmed as they parse).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "discovery/k8s/objects.hpp"
#include "discovery/k8s/strict_json.hpp"

using namespace clusterdns::discovery::k8s;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Kind kind = static_cast<Kind>(data[0] % 4);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  // A watch event line.
  json ev;
  std::string error;
  if (parse_strict_json(text, 1u << 20, ev, error) && ev.is_object() && ev.contains("object") &&
      ev["object"].is_object()) {
    (void)resource_version(ev["object"]);
    (void)object_key(kind, ev["object"]);
    SlimResult s = slim_object(kind, ev["object"]);
    if (s.object && s.key.empty()) __builtin_trap();  // a kept object always has a key
  }

  // A list page, each item slimmed by the parser callback as the reflector does.
  if (json_too_deep(text)) return 0;
  bool in_items = false;
  DuplicateKeys keys;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t e, json& parsed) {
    keys.on_event(depth, e, parsed);
    if (depth == 1 && e == json::parse_event_t::key) in_items = parsed == "items";
    if (depth == 2 && in_items && e == json::parse_event_t::object_start) keys.clear_duplicate();
    if (depth != 2 || !in_items || e != json::parse_event_t::object_end) return true;
    if (keys.duplicate().empty()) (void)slim_object(kind, parsed);
    keys.clear_duplicate();
    return false;
  };
  json page = json::parse(text, cb, false);
  (void)page;
  return 0;
}
