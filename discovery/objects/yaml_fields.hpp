// Typed, error-recording access to the fields of one YAML manifest document (internal to discovery/objects).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "discovery/objects/document.hpp"
#include "discovery/objects/parse.hpp"

namespace clusterdns::discovery::objects {

// Kubernetes name rules (apimachinery validation), used to keep hostile names out of the zone.
bool is_dns1123_label(const std::string& s);      // [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63
bool is_dns1035_label(const std::string& s);      // as above but starts with a letter (Service names)
bool is_dns1123_subdomain(const std::string& s);  // dot-separated labels, <= 253 (Pod, slice names)
bool is_iana_svc_name(const std::string& s);      // port names: <= 15, [a-z0-9-], a letter, no "--"

// A present value: defined and not null (JSON null and an absent key mean the same in the API).
bool present(DocNode n);
// The value under key, or an undefined node when map is not a mapping or lacks the key. Never throws.
DocNode child(DocNode map, const std::string& key);

// Reads one document's fields. Every problem becomes a ManifestError with the offending node's line.
// Getters return nullopt (or an undefined node) both when the field is absent and after reporting a
// type error, so callers only add the "is required" error themselves.
class Fields {
 public:
  // list_budget bounds the list and mapping entries visited; see spend().
  Fields(std::string file, std::vector<ManifestError>& errors, std::vector<ManifestError>& warnings,
         std::size_t list_budget)
      : file_(std::move(file)), errors_(errors), warnings_(warnings), budget_(list_budget) {}

  // Prefix for reasons, e.g. "Service default/web: ". Set per object.
  void set_context(std::string prefix) { prefix_ = std::move(prefix); }
  // Lines in the text being read start this many lines into the file (documents are parsed one by one).
  void set_line_offset(int offset) { line_offset_ = offset; }
  // Line used when a node carries no position (missing keys, synthesized nodes). 1-based, absolute.
  void set_fallback_line(int line) { fallback_line_ = line; }
  int line_of(DocNode n) const;

  void error(DocNode at, const std::string& reason);
  void warning(DocNode at, const std::string& reason);
  std::size_t error_count() const { return errors_.size(); }

  std::optional<std::string> str(DocNode parent, const std::string& key, const std::string& path);
  // Like str, but absent, null or "" is an error.
  std::optional<std::string> need_str(DocNode parent, const std::string& key, const std::string& path);
  std::optional<int64_t> integer(DocNode parent, const std::string& key, const std::string& path);
  std::optional<bool> boolean(DocNode parent, const std::string& key, const std::string& path);
  // A port number field: absent → nullopt silently unless required; present → 1..65535 or an error.
  std::optional<int32_t> port(DocNode parent, const std::string& key, const std::string& path, bool required);
  // Mapping / sequence children; absent → undefined node; wrong type → error + undefined node.
  DocNode map(DocNode parent, const std::string& key, const std::string& path);
  DocNode seq(DocNode parent, const std::string& key, const std::string& path);
  // string → string mapping (labels, selector, annotations).
  std::map<std::string, std::string> string_map(DocNode parent, const std::string& key,
                                                const std::string& path);
  // Protocol enum; absent means TCP.
  std::optional<Protocol> protocol(DocNode parent, const std::string& key, const std::string& path);
  // Canonical IP text, or nullopt with an error.
  std::optional<std::string> ip(DocNode node, const std::string& path);

 private:
  // Aliases let a small file reference one big list many times ("billion laughs"). Without aliases a
  // text of N bytes holds fewer than N/2 entries, so a budget of that size stops only alias expansion.
  bool spend(DocNode at, std::size_t n);

  std::string file_;
  std::vector<ManifestError>& errors_;
  std::vector<ManifestError>& warnings_;
  std::string prefix_;
  int line_offset_ = 0;
  int fallback_line_ = 1;
  std::size_t budget_;
  bool budget_reported_ = false;
};

}  // namespace clusterdns::discovery::objects
