// libFuzzer target: a kubeconfig file (--source kubeconfig:PATH) through load_kubeconfig, for the current
// context and for a named one. Whatever it accepts is usable: an http(s) server, never TLS switched off.
#include <cstddef>
#include <cstdint>
#include <string>

#include "discovery/k8s/cluster_access.hpp"
#include "fuzz_file.hpp"

using namespace clusterdns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_input("kubeconfig", data, size);
  for (const char* context : {"", "ctx"}) {
    std::string error;
    auto access = discovery::load_kubeconfig(path, context, error);
    if (!access) {
      if (error.empty()) __builtin_trap();  // a refusal always says why
      continue;
    }
    if (access->server.rfind("https://", 0) != 0 && access->server.rfind("http://", 0) != 0) __builtin_trap();
    if (access->origin.empty()) __builtin_trap();
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)discovery::base64_decode(text);
  return 0;
}
