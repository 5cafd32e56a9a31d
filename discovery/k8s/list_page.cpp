// read_list_page: simdjson On-Demand over a list page; items become Documents one at a time.
#include "discovery/k8s/list_page.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery::k8s {

namespace od = simdjson::ondemand;

ListPageResult read_list_page(const std::string& body, Kind kind,
                              const std::function<void(SlimResult&)>& on_item) {
  JsonReader& reader = thread_json_reader();
  ListPageResult out;
  std::string duplicate;  // of the list's own keys, or of its metadata's
  bool has_metadata = false;
  std::string problem;
  {
    PaddedJson text(body);
    od::document doc;
    od::object root;
    problem = reader.iterate(text, doc);
    if (problem.empty() && doc.get_object().get(root)) problem = "not an object";
    JsonWalk walk;
    std::vector<std::string> keys;
    if (problem.empty()) {
      for (auto field : root) {
        std::string_view key;
        od::value value;
        od::array items;
        if (auto e = field.unescaped_key().get(key)) {
          walk.error = json_error_text(e);
          break;
        }
        if (std::find(keys.begin(), keys.end(), key) != keys.end() && duplicate.empty()) duplicate = key;
        keys.emplace_back(key);
        if (auto e = field.value().get(value)) {
          walk.error = json_error_text(e);
          break;
        }
        if (key == "items" && !value.get_array().get(items)) {
          for (auto element : items) {
            od::value item;
            if (auto e = element.get(item)) {
              walk.error = json_error_text(e);
              break;
            }
            JsonWalk item_walk;
            std::optional<Document> object = reader.build_document(item, item_walk);
            if (!object) {
              walk.error = item_walk.error;
              break;
            }
            if (!object->root().is_map()) continue;  // not an object: nothing to slim
            SlimResult s;
            if (!item_walk.duplicate.empty()) {
              s.key = object_key(kind, object->root());
              s.error = item_walk.duplicate_reason();
            } else {
              s = slim_object(kind, object->root());
            }
            on_item(s);
          }
          if (!walk.ok()) break;
        } else if (key == "metadata") {
          std::optional<Document> meta = reader.build_document(value, walk);
          if (!meta) break;
          DocNode m = meta->root();
          has_metadata = has_metadata || m.is_map();
          DocNode version = m.get("resourceVersion");
          DocNode next = m.get("continue");
          if (version.is_scalar() && !version.plain()) out.resource_version = version.str();
          if (next.is_scalar() && !next.plain()) out.continue_token = next.str();
        } else if (!reader.skip(value, walk)) {
          break;
        }
        if (duplicate.empty()) duplicate = walk.duplicate;
      }
    }
    if (problem.empty()) problem = walk.ok() ? JsonReader::trailing(doc) : walk.error;
  }
  reader.release_if_large();
  if (problem.rfind("nested deeper", 0) == 0) {
    out.problem = "list page " + problem;
  } else if (!problem.empty() || !has_metadata) {
    out.problem = "list response is not a JSON list object";
  } else if (!duplicate.empty()) {
    out.problem = "list response repeats the key '" + duplicate + "'";
  }
  return out;
}

}  // namespace clusterdns::discovery::k8s
