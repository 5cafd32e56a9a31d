// Manifest files on disk (what users `kubectl apply`) → a RegistryState: finding and reading the files, then
// parsing them as one registry with the object decoder (discovery/objects/parse.hpp).
#pragma once

#include <string>
#include <vector>

#include "discovery/objects/parse.hpp"

namespace clusterdns::discovery {

// One manifest file as read from disk.
struct ManifestFile {
  std::string path;
  std::string text;
  bool operator==(const ManifestFile&) const = default;
};

// Reads path: a file, or a directory searched recursively for *.yaml, *.yml and *.json (names starting
// with '.' are skipped: editor swap files and Kubernetes ConfigMap `..data` trees; symlinked directories
// are not followed, symlinked files are read), sorted by path.
// Unreadable entries become errors with line 0.
std::vector<ManifestFile> read_manifest_files(const std::string& path, std::vector<ManifestError>& errors);

// The manifest files read_manifest_files would read, without reading them (same order, same rules).
std::vector<std::string> list_manifest_files(const std::string& path, std::vector<ManifestError>& errors);

// Parses several files as one registry: duplicates across files are errors, namespaces are merged.
ParseResult parse_manifest_files(const std::vector<ManifestFile>& manifests);

// read_manifest_files + parse_manifest_files.
ParseResult parse_manifests(const std::string& path);

}  // namespace clusterdns::discovery
