// Manifest files merged into one RegistryState, updated one file at a time (internal to discovery/files).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "discovery/files/manifest_parser.hpp"

namespace clusterdns::discovery::files {

// Keeps, per file, the objects it contributed; a new content of one file is parsed alone and only what
// differs from that file's previous objects is upserted into or erased from the merged state, so a change
// costs O(that file) and a copy of state() costs O(chunks).
//  - An object defined by two files belongs to the first that defined it (path order at start-up); the
//    other definition is reported "defined twice (first at file:line)" and takes over when the first goes.
//  - A namespace exists while any file's object names it (or a Namespace object does): counted per file.
//  - An invalid object is skipped with its error; the file's other objects apply. A file that is not
//    YAML at all keeps its last good objects (its documents are unknown, not empty).
// Legacy Endpoints are shadowed by the EndpointSlices of the same file only. Not thread-safe.
class FileRegistry {
 public:
  static constexpr std::size_t kMaxErrorsPerFile = 20;  // then "and N more"

  // Where each object of a file is defined: (64-bit hash of "Service ns/name", line), sorted. 100,000
  // objects take 1.6 MB this way instead of ~20 MB of labels; a collision could only misplace the line
  // an error message names.
  using Lines = std::vector<std::pair<uint64_t, uint32_t>>;

  struct Outcome {
    bool changed = false;               // state() differs
    bool kept_last_good = false;        // the text was not YAML: the file's previous objects stay
    std::size_t rejected = 0;           // problems found (before the cap)
    std::vector<ManifestError> errors;  // capped at kMaxErrorsPerFile (+1 "and N more" line)
    std::vector<ManifestError> warnings;
  };

  // Parses text as the new content of path and applies what differs.
  Outcome update(const std::string& path, const std::string& text);
  // Forgets path and its objects; true when state() changed.
  bool remove(const std::string& path);

  const RegistryState& state() const { return state_; }
  // For objects derived from the files' (selector endpoint sets, named "<service>/selector/<n>"): keys no
  // file can define, so update and remove never touch them.
  RegistryState& derived_state() { return state_; }
  // Whether text is the content last given for path (compared by size and a 64-bit digest: a 30 MB file is
  // not kept twice in memory to notice that it was saved with the same bytes).
  bool same_text(const std::string& path, std::string_view text) const;
  std::vector<std::string> paths() const;
  // Problems of every file's current content, in path order.
  std::vector<ManifestError> errors() const;
  // True when some file's newest content could not be parsed (its older objects are served).
  bool stale() const;

 private:
  struct File {
    size_t text_size = 0, text_digest = 0;
    RegistryState objects;  // its last good objects (those it owns or not)
    Lines lines;
    std::vector<ManifestError> errors;
    bool broken = false;
  };
  using OwnerKey = std::tuple<int, std::string, std::string>;  // (table, ns, name)
  using OwnerKeyView = std::tuple<int, std::string_view, std::string_view>;
  // Orders OwnerKey and OwnerKeyView alike, so a lookup needs no copy of the names.
  struct OwnerLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
    template <typename K>
    static OwnerKeyView view(const K& k) {
      return {std::get<0>(k), std::get<1>(k), std::get<2>(k)};
    }
  };

  template <typename T>
  bool apply_table(int tag, ObjectTable<T> RegistryState::*table, const std::string& path, const File& old,
                   const File& next, std::vector<ManifestError>& duplicates);
  bool apply_namespaces(const ObjectTable<std::string>& old, const ObjectTable<std::string>& next);

  std::map<std::string, File> files_;
  RegistryState state_;
  std::map<std::string, std::size_t> namespace_refs_;
  // Objects two or more files define: those files, in the order they defined it; the first one wins. An
  // object only one file defines is that file's, with no entry here (most objects: no entry per object).
  std::map<OwnerKey, std::vector<std::string>, OwnerLess> owners_;
};

}  // namespace clusterdns::discovery::files
