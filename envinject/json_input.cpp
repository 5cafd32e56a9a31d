// Size and depth checks before nlohmann builds a tree; an iterative check of trees built elsewhere.
#include "envinject/json_input.hpp"

#include <utility>
#include <vector>

namespace clusterdns::envinject {

using nlohmann::json;

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte (RFC 3629 §4)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > n) return false;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < lo || c1 > hi) return false;
    for (size_t k = 2; k < len; ++k) {
      const auto ck = static_cast<unsigned char>(s[i + k]);
      if (ck < 0x80 || ck > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

size_t json_nesting_depth(std::string_view text, size_t stop_after, size_t* where) {
  size_t depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max) {
          max = depth;
          if (max > stop_after) {
            if (where) *where = i;
            return max;
          }
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return max;
}

JsonInput parse_json_input(std::string_view text, const JsonLimits& limits) {
  JsonInput out;
  if (text.size() > limits.max_bytes) {
    out.error = "the JSON text is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                std::to_string(limits.max_bytes);
    return out;
  }
  size_t where = 0;
  if (json_nesting_depth(text, limits.max_depth, &where) > limits.max_depth) {
    out.error = "the JSON text nests deeper than " + std::to_string(limits.max_depth) + " levels (at byte " +
                std::to_string(where) + ")";
    return out;
  }
  try {
    out.value = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." without the bracketed id.
    std::string what = e.what();
    if (auto close = what.find("] "); what.rfind("[json.exception.", 0) == 0 && close != std::string::npos)
      what.erase(0, close + 2);
    out.value = nullptr;
    out.error = "not JSON: " + what;
  }
  return out;
}

std::string check_json_tree(const json& value, size_t max_depth) {
  // (node, the number of arrays and objects around it); a stack, not recursion, for any depth.
  std::vector<std::pair<const json*, size_t>> stack{{&value, 0}};
  while (!stack.empty()) {
    const auto [node, depth] = stack.back();
    stack.pop_back();
    if (node->is_string()) {
      if (!valid_utf8(node->get_ref<const std::string&>())) return "a string value is not valid UTF-8";
      continue;
    }
    if (!node->is_structured()) continue;
    if (depth + 1 > max_depth)
      return "the document nests deeper than " + std::to_string(max_depth) + " levels";
    if (node->is_object()) {
      for (auto it = node->begin(); it != node->end(); ++it) {
        if (!valid_utf8(it.key())) return "a key is not valid UTF-8";
        stack.emplace_back(&it.value(), depth + 1);
      }
    } else {
      for (const auto& item : *node)
        stack.emplace_back(&item, depth + 1);
    }
  }
  return "";
}

}  // namespace clusterdns::envinject
