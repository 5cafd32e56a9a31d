// A fast path for the YAML that manifests are made of, beside libyaml (internal to parse_yaml).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "discovery/objects/document.hpp"

namespace clusterdns::discovery {

// Parses one YAML document written in the block style kubectl, Helm and most generators emit: block
// mappings and sequences by indentation, single-line plain and quoted scalars, single-line flow collections,
// comments and a leading "---". It builds the Document libyaml's events would (the same nodes, plain flags
// and lines: tests/unit/discovery/fast_yaml_test.cpp compares the two on manifests and on mutations of
// them) at several times libyaml's speed, and gives up (false, `out` untouched) on anything else: anchors,
// aliases, tags, block and multi-line scalars, escapes, tabs, non-ASCII bytes, a duplicate key, an error.
// libyaml then reads the text and reports what is wrong with it.
bool parse_yaml_fast(std::string_view text, int first_line, int max_depth, std::vector<Document>& out,
                     std::size_t& nodes);

}  // namespace clusterdns::discovery
