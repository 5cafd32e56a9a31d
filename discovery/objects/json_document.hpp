// A decoded JSON value (an API object, an etcd value) as a Document, for the manifest rules to read.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "discovery/objects/document.hpp"

namespace clusterdns::discovery {

// Strings become quoted scalars, numbers and booleans plain ones (as YAML would type them), every node on
// line 1. Nesting deeper than max_depth gives nullopt and a reason in error.
std::optional<Document> document_from_json(const nlohmann::json& value, std::string& error,
                                           int max_depth = 100);

// Adds node (and everything it holds) to builder as the next value; an absent node adds nothing. Aliases
// shared in the source are copied once per use. Recurses once per level: for documents whose depth was
// bounded when they were read (JsonReader, document_from_json).
void copy_document_node(DocNode node, DocumentBuilder& builder);

}  // namespace clusterdns::discovery
