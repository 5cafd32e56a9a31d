// A pre-flight check of untrusted YAML with libyaml's event parser, before yaml-cpp builds a node tree.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/objects/document.hpp"

namespace clusterdns::discovery {

// yaml-cpp 0.7 can loop allocating on some malformed input ("---\n,\n" grows ~200 MB/s), recurses once per
// nesting level, and shares aliased nodes that a traversal then expands ("billion laughs"). libyaml's
// parser is iterative and streams events, so it finds the syntax error, the depth and the expansion size
// first, in O(input), and yaml-cpp only ever sees text libyaml accepted within these limits.
struct YamlLimits {
  std::size_t max_bytes = 64u << 20;
  int max_depth = 100;                 // nested mappings and sequences
  std::size_t max_aliases = 100000;    // alias events ("*name")
  std::size_t max_expanded_nodes = 0;  // nodes once every alias is expanded; 0: 1,000,000 + 4 × size
  // parse_yaml tries parse_yaml_fast (objects/fast_yaml.hpp) first; false: libyaml only (tests compare them).
  bool fast = true;
};

struct YamlProblem {
  int line = 0;  // 1-based line in the checked text
  std::string reason;
};

// nullopt when text is well-formed YAML within limits; else the first problem and its line.
// expanded_nodes, when given, receives the expanded node count (to spend one budget over several texts).
std::optional<YamlProblem> check_yaml(std::string_view text, const YamlLimits& limits = {},
                                      std::size_t* expanded_nodes = nullptr);

// check_yaml that also builds a Document per YAML document into out (lines shifted by first_line: the text
// starts that many lines into its file). On a problem out holds the documents before it.
std::optional<YamlProblem> parse_yaml(std::string_view text, std::vector<Document>& out, int first_line = 0,
                                      const YamlLimits& limits = {}, std::size_t* expanded_nodes = nullptr);

}  // namespace clusterdns::discovery
