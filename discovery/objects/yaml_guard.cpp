// check_yaml: libyaml's event stream, counted.
#include "discovery/objects/yaml_guard.hpp"

#include <yaml.h>

#include "discovery/objects/fast_yaml.hpp"

#include <map>
#include <string_view>
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

bool is_null_scalar(const yaml_event_t& e) {
  if (e.data.scalar.tag) {
    return std::string_view(reinterpret_cast<const char*>(e.data.scalar.tag)) == "tag:yaml.org,2002:null";
  }
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

// Walks the event stream within limits; with out, also builds one Document per YAML document.
std::optional<YamlProblem> walk(std::string_view text, const YamlLimits& limits, std::size_t* expanded_nodes,
                                std::vector<Document>* out, int first_line) {
  if (text.size() > limits.max_bytes) {
    return YamlProblem{0, "larger than " + std::to_string(limits.max_bytes) + " bytes"};
  }
  const std::size_t max_nodes =
      limits.max_expanded_nodes ? limits.max_expanded_nodes : 1000000 + 4 * text.size();
  EventParser parser(text);
  struct Anchored {
    std::size_t nodes;  // nodes it expands to
    uint32_t index;     // its node in the document being built
  };
  std::map<std::string, Anchored, std::less<>> anchors;
  struct Open {
    std::string anchor;
    std::size_t nodes_before;
    uint32_t index;
  };
  std::vector<Open> open;  // the collections being read
  std::size_t nodes = 0, aliases = 0;
  DocumentBuilder builder;
  while (const yaml_event_t* e = parser.next()) {
    const int line = line_of(*e) + first_line;
    switch (e->type) {
      case YAML_STREAM_END_EVENT:
        if (expanded_nodes) *expanded_nodes = nodes;
        return std::nullopt;
      case YAML_DOCUMENT_START_EVENT:
        anchors.clear();  // anchors do not cross documents
        break;
      case YAML_DOCUMENT_END_EVENT:
        if (out) out->push_back(builder.finish());
        break;
      case YAML_SCALAR_EVENT: {
        ++nodes;
        uint32_t index = 0;
        if (out) {
          index = is_null_scalar(*e)
                      ? builder.null(line)
                      : builder.scalar(std::string_view(reinterpret_cast<const char*>(e->data.scalar.value),
                                                        e->data.scalar.length),
                                       e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !e->data.scalar.tag,
                                       line);
        }
        if (std::string a = anchor_of(*e); !a.empty()) anchors[a] = Anchored{1, index};
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (static_cast<int>(open.size()) >= limits.max_depth) {
          return YamlProblem{line, "nested deeper than " + std::to_string(limits.max_depth) + " levels"};
        }
        uint32_t index = 0;
        if (out)
          index = e->type == YAML_MAPPING_START_EVENT ? builder.begin_map(line) : builder.begin_list(line);
        open.push_back(Open{anchor_of(*e), nodes, index});
        ++nodes;
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (!open.empty()) {
          if (out) {
            std::string key;
            if (!builder.end(&key)) {
              return YamlProblem{line, "invalid YAML: mapping key '" + key + "' is defined twice"};
            }
          }
          if (!open.back().anchor.empty())
            anchors[open.back().anchor] = Anchored{nodes - open.back().nodes_before, open.back().index};
          open.pop_back();
        }
        break;
      case YAML_ALIAS_EVENT: {
        const char* name = reinterpret_cast<const char*>(e->data.alias.anchor);
        auto it = anchors.find(std::string_view(name ? name : ""));
        if (it == anchors.end()) {
          return YamlProblem{line,
                             std::string("alias *") + (name ? name : "") + " names no anchor before it"};
        }
        if (++aliases > limits.max_aliases) {
          return YamlProblem{line, "more than " + std::to_string(limits.max_aliases) + " aliases"};
        }
        nodes += it->second.nodes;
        if (out) builder.reference(it->second.index);
        break;
      }
      default:
        break;
    }
    if (nodes > max_nodes) {
      return YamlProblem{line, "aliases expand to more than " + std::to_string(max_nodes) + " nodes"};
    }
  }
  YamlProblem problem = parser.problem();
  problem.line += first_line;
  return problem;
}

}  // namespace

std::optional<YamlProblem> check_yaml(std::string_view text, const YamlLimits& limits,
                                      std::size_t* expanded_nodes) {
  return walk(text, limits, expanded_nodes, nullptr, 0);
}

std::optional<YamlProblem> parse_yaml(std::string_view text, std::vector<Document>& out, int first_line,
                                      const YamlLimits& limits, std::size_t* expanded_nodes) {
  const std::size_t max_nodes =
      limits.max_expanded_nodes ? limits.max_expanded_nodes : 1000000 + 4 * text.size();
  std::size_t nodes = 0;
  if (limits.fast && text.size() <= limits.max_bytes &&
      parse_yaml_fast(text, first_line, limits.max_depth, out, nodes)) {
    if (nodes <= max_nodes) {
      if (expanded_nodes) *expanded_nodes = nodes;
      return std::nullopt;
    }
    out.pop_back();  // over the budget: libyaml's walk says where
  }
  return walk(text, limits, expanded_nodes, &out, first_line);
}

}  // namespace clusterdns::discovery
