// check_yaml: libyaml's event stream, counted.
#include "discovery/files/yaml_guard.hpp"

#include <yaml.h>

#include <map>
#include <vector>

namespace clusterdns::discovery {

namespace {

// Owns a libyaml parser and event (both C structs that must be deleted).
class EventParser {
 public:
  explicit EventParser(std::string_view text) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~EventParser() {
    if (have_event_) yaml_event_delete(&event_);
    yaml_parser_delete(&parser_);
  }
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // The next event, or null on a syntax error (then problem() says what and where).
  const yaml_event_t* next() {
    if (have_event_) yaml_event_delete(&event_);
    have_event_ = yaml_parser_parse(&parser_, &event_) != 0;
    return have_event_ ? &event_ : nullptr;
  }
  YamlProblem problem() const {
    std::string reason = parser_.problem ? parser_.problem : "invalid YAML";
    if (parser_.context) reason += std::string(" (") + parser_.context + ")";
    return YamlProblem{static_cast<int>(parser_.problem_mark.line) + 1, "invalid YAML: " + reason};
  }

 private:
  yaml_parser_t parser_{};
  yaml_event_t event_{};
  bool have_event_ = false;
};

std::string anchor_of(const yaml_event_t& e) {
  const yaml_char_t* a = e.type == YAML_SCALAR_EVENT           ? e.data.scalar.anchor
                         : e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor
                         : e.type == YAML_MAPPING_START_EVENT  ? e.data.mapping_start.anchor
                                                               : nullptr;
  return a ? reinterpret_cast<const char*>(a) : "";
}

int line_of(const yaml_event_t& e) {
  return static_cast<int>(e.start_mark.line) + 1;
}

}  // namespace

std::optional<YamlProblem> check_yaml(std::string_view text, const YamlLimits& limits,
                                      std::size_t* expanded_nodes) {
  if (text.size() > limits.max_bytes) {
    return YamlProblem{0, "larger than " + std::to_string(limits.max_bytes) + " bytes"};
  }
  const std::size_t max_nodes =
      limits.max_expanded_nodes ? limits.max_expanded_nodes : 1000000 + 4 * text.size();
  EventParser parser(text);
  std::map<std::string, std::size_t> anchor_nodes;  // anchor → nodes it expands to
  struct Open {
    std::string anchor;
    std::size_t nodes_before;
  };
  std::vector<Open> open;  // the collections being read
  std::size_t nodes = 0, aliases = 0;
  while (const yaml_event_t* e = parser.next()) {
    switch (e->type) {
      case YAML_STREAM_END_EVENT:
        if (expanded_nodes) *expanded_nodes = nodes;
        return std::nullopt;
      case YAML_DOCUMENT_START_EVENT:
        anchor_nodes.clear();  // anchors do not cross documents
        break;
      case YAML_SCALAR_EVENT:
        ++nodes;
        if (std::string a = anchor_of(*e); !a.empty()) anchor_nodes[a] = 1;
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (static_cast<int>(open.size()) >= limits.max_depth) {
          return YamlProblem{line_of(*e),
                             "nested deeper than " + std::to_string(limits.max_depth) + " levels"};
        }
        open.push_back(Open{anchor_of(*e), nodes});
        ++nodes;
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (!open.empty()) {
          if (!open.back().anchor.empty())
            anchor_nodes[open.back().anchor] = nodes - open.back().nodes_before;
          open.pop_back();
        }
        break;
      case YAML_ALIAS_EVENT: {
        const char* name = reinterpret_cast<const char*>(e->data.alias.anchor);
        auto it = anchor_nodes.find(name ? name : "");
        if (it == anchor_nodes.end()) {
          return YamlProblem{line_of(*e),
                             std::string("alias *") + (name ? name : "") + " names no anchor before it"};
        }
        if (++aliases > limits.max_aliases) {
          return YamlProblem{line_of(*e), "more than " + std::to_string(limits.max_aliases) + " aliases"};
        }
        nodes += it->second;
        break;
      }
      default:
        break;
    }
    if (nodes > max_nodes) {
      return YamlProblem{line_of(*e), "aliases expand to more than " + std::to_string(max_nodes) + " nodes"};
    }
  }
  return parser.problem();
}

}  // namespace clusterdns::discovery
