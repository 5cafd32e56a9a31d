// libFuzzer target: bytes as the Kubernetes API sends them, through the source's decoders. The first byte
// picks the collection (Namespace, Service, EndpointSlice, Pod); the rest is read twice, as one watch event
// line (JsonReader into a Document, then slim_object on "object") and as one list page (read_list_page:
// items slimmed as they are read).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/k8s/list_page.hpp"
#include "discovery/k8s/objects.hpp"
#include "discovery/objects/json_text.hpp"

using namespace clusterdns::discovery;
using namespace clusterdns::discovery::k8s;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Kind kind = static_cast<Kind>(data[0] % 4);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  // A watch event line.
  JsonWalk walk;
  std::optional<Document> ev = thread_json_reader().document(PaddedJson(std::string_view(text)), walk);
  if (ev && walk.duplicate.empty() && ev->root().get("object").is_map()) {
    DocNode object = ev->root().get("object");
    (void)resource_version(object);
    (void)object_key(kind, object);
    SlimResult s = slim_object(kind, object);
    if (s.object && s.key.empty()) __builtin_trap();  // a kept object always has a key
  }

  // A list page, each item slimmed as it is read, as the reflector does.
  ListPageResult page = read_list_page(text, kind, [](SlimResult& s) {
    if (s.object && s.key.empty()) __builtin_trap();
  });
  (void)page;
  return 0;
}
