// One page of a Kubernetes list response read with simdjson, each item slimmed the moment it is read.
#pragma once

#include <functional>
#include <string>

#include "discovery/k8s/objects.hpp"

namespace clusterdns::discovery::k8s {

struct ListPageResult {
  // "" when the page was read, else why not: "list page nested deeper than 100 levels", "list response is
  // not a JSON list object", "list response repeats the key 'k'" (the list's own keys, its metadata's).
  // Items read before a problem have been handed out already.
  std::string problem;
  std::string resource_version;  // metadata.resourceVersion ("" when absent)
  std::string continue_token;    // metadata.continue ("" on the last page)
};

// Reads body (a JSON list: {"metadata":{…},"items":[…]}) in one pass. Every object in items becomes its own
// Document, is slimmed as `kind` and handed to on_item, then dropped: a page never exists as a tree. An
// item with a repeated key is handed out with its key and the reason, not slimmed; the others are read.
// body keeps its bytes; with room for simdjson's padding past its size (reserve_json_padding) it is not
// copied. Uses the calling thread's JsonReader.
ListPageResult read_list_page(const std::string& body, Kind kind,
                              const std::function<void(SlimResult&)>& on_item);

}  // namespace clusterdns::discovery::k8s
