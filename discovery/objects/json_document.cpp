// document_from_json: a walk of an nlohmann::json tree into a DocumentBuilder; copy_document_node.
#include "discovery/objects/json_document.hpp"

#include <nlohmann/json.hpp>

namespace clusterdns::discovery {

namespace {

bool add(const nlohmann::json& v, DocumentBuilder& b, int depth, int max_depth) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
    case nlohmann::json::value_t::array: {
      if (depth >= max_depth) return false;
      v.is_object() ? b.begin_map(1) : b.begin_list(1);
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (v.is_object()) b.scalar(it.key(), false, 1);
        if (!add(*it, b, depth + 1, max_depth)) return false;
      }
      b.end();  // keys come from a JSON object: already unique
      return true;
    }
    case nlohmann::json::value_t::string:
      b.scalar(v.get_ref<const std::string&>(), false, 1);
      return true;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      b.null(1);
      return true;
    default:  // numbers and booleans, written as JSON writes them
      b.scalar(v.dump(), true, 1);
      return true;
  }
}

}  // namespace

std::optional<Document> document_from_json(const nlohmann::json& value, std::string& error, int max_depth) {
  DocumentBuilder builder;
  if (!add(value, builder, 0, max_depth)) {
    error = "nested deeper than " + std::to_string(max_depth) + " levels";
    return std::nullopt;
  }
  return builder.finish();
}

void copy_document_node(DocNode node, DocumentBuilder& builder) {
  switch (node.kind()) {
    case NodeKind::Absent:
      return;
    case NodeKind::Null:
      builder.null(node.line());
      return;
    case NodeKind::Scalar:
      builder.scalar(node.scalar(), node.plain(), node.line());
      return;
    case NodeKind::Map:
      builder.begin_map(node.line());
      for (std::size_t i = 0; i < node.size(); ++i) {
        copy_document_node(node.key_at(i), builder);
        copy_document_node(node.value_at(i), builder);
      }
      builder.end();
      return;
    case NodeKind::List:
      builder.begin_list(node.line());
      for (std::size_t i = 0; i < node.size(); ++i)
        copy_document_node(node[i], builder);
      builder.end();
      return;
  }
}

}  // namespace clusterdns::discovery
