// Untrusted JSON text (an AdmissionReview, `envinject --pod`) → a tree, with its size and nesting depth
// checked before anything is built: nlohmann's parser is iterative, but copying, comparing and dumping a tree
// recurse once per level, so a 500,000-deep array would overflow the stack after a successful parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace clusterdns::envinject {

struct JsonLimits {
  size_t max_bytes = 4u << 20;  // an AdmissionReview of the largest Pod the API server stores fits
  size_t max_depth = 64;        // a Pod is about 12 levels deep (inside an AdmissionReview: 15)
};

struct JsonInput {
  nlohmann::json value;  // null when error is set
  std::string error;     // "" when the text was accepted; else one line saying why and where
};

// Parses `text` as exactly one JSON document (RFC 8259; UTF-8 checked by the parser) after checking its
// size and its nesting depth with a byte scan that allocates nothing. Never throws. Pure, any thread.
JsonInput parse_json_input(std::string_view text, const JsonLimits& limits = {});

// The nesting depth of JSON text ([ and { outside strings), counting stops past `stop_after`; the byte
// offset of the first bracket deeper than `stop_after` goes to *where. Malformed text gives some number;
// the parser reports the syntax error. Pure.
size_t json_nesting_depth(std::string_view text, size_t stop_after, size_t* where = nullptr);

// Checks a tree built by other means (e.g. converted from YAML) before it is copied or dumped: nesting
// depth at most `max_depth`, and every string and key valid UTF-8 (dump() throws on anything else).
// Iterative. "" when fine, else one line naming the first problem. Pure.
std::string check_json_tree(const nlohmann::json& value, size_t max_depth);

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Pure.
bool valid_utf8(std::string_view s);

}  // namespace clusterdns::envinject
