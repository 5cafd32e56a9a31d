// libFuzzer target: any bytes as a manifest file, through libyaml's pre-flight check, yaml-cpp and the
// object readers, then applied to a FileRegistry twice (a new content, then the same file removed).
#include <cstddef>
#include <cstdint>
#include <string>

#include "discovery/files/file_registry.hpp"
#include "discovery/objects/parse.hpp"

using namespace clusterdns::discovery;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse_manifest_text(text, "fuzz.yaml");
  for (const ManifestError& e : r.errors)
    (void)e.to_string();
  files::FileRegistry registry;
  registry.update("a.yaml", text);
  registry.update("b.yaml", text);  // every object twice: the duplicate path
  registry.remove("a.yaml");
  registry.remove("b.yaml");
  if (!registry.state().services.empty() || !registry.state().namespaces.empty()) __builtin_trap();
  return 0;
}
