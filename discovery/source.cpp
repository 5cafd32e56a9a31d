// make_source: turns a --source value into a RegistrySource.
#include "discovery/source.hpp"

#include <filesystem>
#include <system_error>

#include "discovery/files/file_source.hpp"

namespace clusterdns::discovery {

std::unique_ptr<RegistrySource> make_source(const std::string& spec, std::string& error) {
  const std::string file_scheme = "file:";
  if (spec.compare(0, file_scheme.size(), file_scheme) == 0) {
    std::string path = spec.substr(file_scheme.size());
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) {
      error = "file source: no such file or directory: " + path;
      return nullptr;
    }
    return std::make_unique<FileSource>(path);
  }
  error = "unknown --source '" + spec + "' (expected file:PATH)";
  return nullptr;
}

}  // namespace clusterdns::discovery
