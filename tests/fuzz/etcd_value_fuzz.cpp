// libFuzzer target: a value as etcd stores it, through the etcd source's decoder. The first byte picks
// the key's resource (and whether the key names "default/web" or "team/web"); the rest is the value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "discovery/etcd/etcd_objects.hpp"

using namespace clusterdns::discovery;
using namespace clusterdns::discovery::etcd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Resource r = kResources[data[0] % kResources.size()];
  etcd::ObjectKey key{r, r == Resource::Namespace ? "" : (data[0] & 4) ? "team" : "default", "web"};
  DecodeResult d = decode_object(key, std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  if (!d.object) return 0;
  // A decoded object is always the one its key names (issue: a repeated metadata.name served elsewhere).
  const std::string* ns = nullptr;
  const std::string* name = nullptr;
  if (auto* s = std::get_if<Service>(&d.object->value)) ns = &s->ns, name = &s->name;
  if (auto* e = std::get_if<EndpointSet>(&d.object->value)) ns = &e->ns, name = &e->name;
  if (auto* p = std::get_if<Pod>(&d.object->value)) ns = &p->ns, name = &p->name;
  if (name != nullptr && (*name != key.name || *ns != key.ns)) __builtin_trap();
  return 0;
}
