// Kubernetes objects (manifest text, or an API object or etcd value decoded into a Document) → the slim
// model, with every problem reported by position: the decoder the file, API and etcd sources share.
#pragma once

#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "discovery/objects/document.hpp"

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

// Parses one text (multi-document YAML or JSON, `kind: List` included). file_label names it in errors.
ParseResult parse_manifest_text(const std::string& text, const std::string& file_label);

// Reads one already-decoded object (an API object or an etcd value turned into a Document): the objects of
// the document as read, in document order, with no tables built (a source that reads objects one at a time,
// the API and etcd, takes 100,000 of them at start-up). The rules and errors of parse_manifest_text.
// file_label names it in errors.
struct ParsedObjects {
  std::vector<std::string> namespaces;  // sorted, each once
  std::vector<Service> services;
  std::vector<EndpointSet> endpoint_sets;  // slices, then legacy Endpoints that no slice here shadows
  std::vector<Pod> pods;
  std::vector<ServiceImport> service_imports;
  std::vector<ManifestError> errors, warnings;
};
ParsedObjects parse_object_document(const Document& doc, const std::string& file_label);

}  // namespace clusterdns::discovery
