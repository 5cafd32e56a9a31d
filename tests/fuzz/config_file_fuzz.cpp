// libFuzzer target: a --config file through parse_config_text (YAML: flag names to values). It either
// throws ConfigError with "PATH:LINE: ..." or returns flags that all name a file line inside the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/runtime/config_file.hpp"

using namespace clusterdns::ops;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const long lines = std::count(text.begin(), text.end(), '\n') + 1;
  try {
    const auto args = parse_config_text(text, "c.yaml");
    for (const FlagArg& a : args) {
      if (a.name.rfind("--", 0) != 0 || a.file != "c.yaml") __builtin_trap();
      if (a.line < 1 || a.line > lines) __builtin_trap();
      if (a.name == "--config" || a.name == "--help" || a.name == "--version") __builtin_trap();
    }
    // The command line replaces what the file gives: merging with itself changes nothing.
    if (!changed_flags(args, merge_flag_args(args, args)).empty()) __builtin_trap();
  } catch (const ConfigError& e) {
    if (std::string(e.what()).rfind("c.yaml:", 0) != 0) __builtin_trap();
  }
  return 0;
}
