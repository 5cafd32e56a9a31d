// JSON as the API server and etcd hand it over, read strictly: bounded size and depth, no repeated keys.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace clusterdns::discovery::k8s {

// Nesting deeper than this is refused before a tree is built: Kubernetes objects nest ~20 levels
// (managedFields included), and every reader downstream (yaml-cpp, destructors) recurses per level.
inline constexpr int kMaxJsonDepth = 100;

// True when `text` nests arrays/objects deeper than max_depth (strings skipped; O(size), no allocation).
bool json_too_deep(std::string_view text, int max_depth = kMaxJsonDepth);

// Finds a key repeated within one object while nlohmann parses (feed it every callback event). RFC 8259
// §4 leaves repeated names undefined; readers disagree on which one wins, so one object could be checked
// under one name and served under another: such an object is refused.
class DuplicateKeys {
 public:
  void on_event(int depth, nlohmann::json::parse_event_t event, const nlohmann::json& parsed);
  // The first repeated key seen ("" while none), and at what depth (0: the document's own keys).
  const std::string& duplicate() const { return duplicate_; }
  int duplicate_depth() const { return duplicate_depth_; }
  void clear_duplicate() { duplicate_.clear(), duplicate_depth_ = -1; }

 private:
  std::vector<std::unordered_set<std::string>> open_;  // keys per open object, innermost last (reused)
  std::size_t depth_ = 0;                              // objects open
  std::string duplicate_;
  int duplicate_depth_ = -1;
};

// Parses one JSON document strictly: at most max_bytes, kMaxJsonDepth deep, no key repeated in an object.
// False and a one-line reason ("repeated key 'name'", "nested deeper than 100 levels", …) otherwise.
bool parse_strict_json(std::string_view text, std::size_t max_bytes, nlohmann::json& out, std::string& error);

}  // namespace clusterdns::discovery::k8s
