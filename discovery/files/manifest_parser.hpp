// Parses Kubernetes manifests (what users `kubectl apply`) into a RegistryState. Pure: no I/O but file reads.
#pragma once

#include <string>
#include <vector>

#include "discovery/files/document.hpp"
#include "discovery/model.hpp"

namespace clusterdns::discovery {

struct ManifestError {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem is the file itself (unreadable, missing)
  std::string reason;
  // "file:line: reason", or "file: reason" when line is 0.
  std::string to_string() const;
  bool operator==(const ManifestError&) const = default;
};

struct ParseResult {
  RegistryState state;
  // Anything here means the input must be rejected as a whole; state holds the rest for diagnostics only.
  std::vector<ManifestError> errors;
  // Objects deliberately left out (an ExternalName that is an IP literal, an unjoinable slice, …).
  // Not a reason to reject; the caller logs them.
  std::vector<ManifestError> warnings;
};

// One manifest file as read from disk.
struct ManifestFile {
  std::string path;
  std::string text;
  bool operator==(const ManifestFile&) const = default;
};

// Parses one text (multi-document YAML or JSON, `kind: List` included). file_label names it in errors.
ParseResult parse_manifest_text(const std::string& text, const std::string& file_label);

// Reads one already-decoded object (an API object or an etcd value turned into a Document). file_label names
// it in errors.
ParseResult parse_manifest_document(const Document& doc, const std::string& file_label);

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
