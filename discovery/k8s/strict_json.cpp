// Strict JSON reading: a depth pre-scan, then nlohmann's parser with a callback that refuses repeated keys.
#include "discovery/k8s/strict_json.hpp"

namespace clusterdns::discovery::k8s {

bool json_too_deep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

void DuplicateKeys::on_event(int depth, nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
  using E = nlohmann::json::parse_event_t;
  switch (event) {
    case E::object_start:
      if (open_.size() <= depth_) open_.emplace_back();
      open_[depth_++].clear();
      break;
    case E::object_end:
      if (depth_ > 0) --depth_;
      break;
    case E::key:
      if (depth_ > 0 && parsed.is_string() && !open_[depth_ - 1].insert(parsed.get<std::string>()).second &&
          duplicate_.empty()) {
        duplicate_ = parsed.get<std::string>();
        duplicate_depth_ = depth;
      }
      break;
    default:
      break;
  }
}

bool parse_strict_json(std::string_view text, std::size_t max_bytes, nlohmann::json& out,
                       std::string& error) {
  if (text.size() > max_bytes) {
    error = "larger than " + std::to_string(max_bytes) + " bytes";
    return false;
  }
  if (json_too_deep(text)) {
    error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  DuplicateKeys keys;
  nlohmann::json::parser_callback_t cb = [&keys](int depth, nlohmann::json::parse_event_t ev,
                                                 nlohmann::json& parsed) {
    keys.on_event(depth, ev, parsed);
    return true;
  };
  try {
    out = nlohmann::json::parse(text, cb);
  } catch (const nlohmann::json::exception& e) {
    error = std::string("not JSON: ") + e.what();
    return false;
  }
  if (!keys.duplicate().empty()) {
    error = "repeated key '" + keys.duplicate() + "' in one object";
    return false;
  }
  return true;
}

}  // namespace clusterdns::discovery::k8s
