// Manifest files on disk → RegistryState: finding the files, reading them, parsing them as one registry.
#include "discovery/files/manifest_parser.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "discovery/objects/manifest_reader.hpp"

namespace clusterdns::discovery {

namespace fs = std::filesystem;

namespace {

// A manifest bigger than this is a mistake (a log, a binary), not a cluster description.
constexpr std::uintmax_t kMaxFileBytes = 64u << 20;

bool is_manifest_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

bool is_hidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

void read_one(const fs::path& p, std::vector<ManifestFile>& out, std::vector<ManifestError>& errors) {
  std::error_code ec;
  std::uintmax_t size = fs::file_size(p, ec);
  if (ec) {
    errors.push_back(ManifestError{p.string(), 0, "cannot read: " + ec.message()});
    return;
  }
  if (size > kMaxFileBytes) {
    errors.push_back(ManifestError{p.string(), 0, "file is larger than 64 MiB"});
    return;
  }
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    errors.push_back(ManifestError{p.string(), 0, "cannot read"});
    return;
  }
  out.push_back(ManifestFile{p.string(), text.str()});
}

}  // namespace

std::vector<std::string> list_manifest_files(const std::string& path, std::vector<ManifestError>& errors) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::path root(path);
  fs::file_status st = fs::status(root, ec);
  if (ec || !fs::exists(st)) {
    errors.push_back(ManifestError{path, 0, "no such file or directory"});
    return out;
  }
  if (!fs::is_directory(st)) return {path};  // named explicitly: read it whatever its extension
  std::vector<fs::path> found;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (is_hidden(entry.path())) {
      // ConfigMap volumes hold "..data" and "..2024_…" trees beside the visible symlinks; editors
      // leave ".x.yaml.swp" files. Neither is a manifest.
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_regular_file(ec) && is_manifest_name(entry.path())) found.push_back(entry.path());
  }
  if (ec) errors.push_back(ManifestError{path, 0, "cannot list directory: " + ec.message()});
  std::sort(found.begin(), found.end());
  for (const fs::path& p : found)
    out.push_back(p.string());
  return out;
}

std::vector<ManifestFile> read_manifest_files(const std::string& path, std::vector<ManifestError>& errors) {
  std::vector<ManifestFile> out;
  for (const std::string& p : list_manifest_files(path, errors))
    read_one(p, out, errors);
  return out;
}

ParseResult parse_manifest_files(const std::vector<ManifestFile>& manifests) {
  objects::ManifestReader reader;
  for (const ManifestFile& file : manifests)
    reader.read_text(file.text, file.path);
  return reader.finish();
}

ParseResult parse_manifests(const std::string& path) {
  std::vector<ManifestError> read_errors;
  std::vector<ManifestFile> files = read_manifest_files(path, read_errors);
  ParseResult result = parse_manifest_files(files);
  result.errors.insert(result.errors.begin(), read_errors.begin(), read_errors.end());
  return result;
}

}  // namespace clusterdns::discovery
