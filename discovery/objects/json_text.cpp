// JsonReader: simdjson On-Demand values walked into a DocumentBuilder (one pass, no intermediate tree).
#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery {

namespace {

namespace od = simdjson::ondemand;

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// -?(0|[1-9][0-9]*): RFC 8259 §6's integer, whatever its size.
bool is_integer_text(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty() || (s[0] == '0' && s.size() > 1)) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The number's text: a value hands it over directly, a document (a scalar at the root) as a result.
simdjson::error_code raw_token(od::value& v, std::string_view& out) {
  out = v.raw_json_token();
  return simdjson::SUCCESS;
}
simdjson::error_code raw_token(od::document& d, std::string_view& out) {
  return d.raw_json_token().get(out);
}

}  // namespace

void reserve_json_padding(std::string& text, std::size_t more) {
  const std::size_t need = text.size() + more + simdjson::SIMDJSON_PADDING;
  if (text.capacity() < need) text.reserve(std::max(need, text.capacity() + text.capacity() / 2));
}

PaddedJson::PaddedJson(const std::string& text) {
  if (text.capacity() >= text.size() + simdjson::SIMDJSON_PADDING) {
    view_ = simdjson::padded_string_view(text.data(), text.size(), text.capacity());
  } else {
    copy_ = simdjson::padded_string(text);
    view_ = copy_;
  }
}

PaddedJson::PaddedJson(std::string_view text) : copy_(text) {
  view_ = copy_;
}

PaddedJson::PaddedJson(const std::string& text, std::string& scratch) {
  const std::string* padded = &text;
  if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    scratch.assign(text);
    reserve_json_padding(scratch);
    padded = &scratch;
  }
  view_ = simdjson::padded_string_view(padded->data(), padded->size(), padded->capacity());
}

std::string JsonWalk::duplicate_reason() const {
  return duplicate.empty() ? std::string() : "repeated key '" + duplicate + "' in one object";
}

std::string json_error_text(simdjson::error_code code) {
  return std::string("not JSON: ") + simdjson::error_message(code);
}

JsonReader& thread_json_reader() {
  thread_local JsonReader reader;
  return reader;
}

std::string JsonReader::iterate(const PaddedJson& text, od::document& doc) {
  simdjson::error_code e = parser_.iterate(text.view()).get(doc);
  return e ? json_error_text(e) : std::string();
}

template <class V>
bool JsonReader::put(V& value, DocumentBuilder& b, JsonWalk& walk, int depth) {
  auto fail = [&](simdjson::error_code e) {
    walk.error = json_error_text(e);
    return false;
  };
  od::json_type type;
  if (auto e = value.type().get(type)) return fail(e);
  switch (type) {
    case od::json_type::object: {
      if (depth >= max_depth_) break;
      od::object object;
      if (auto e = value.get_object().get(object)) return fail(e);
      b.begin_map(1);
      for (auto field : object) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return fail(e);
        b.scalar(key, false, 1);
        od::value v;
        if (auto e = field.value().get(v)) return fail(e);
        if (!put(v, b, walk, depth + 1)) return false;
      }
      std::string duplicate;
      if (!b.end(&duplicate) && walk.duplicate.empty()) {
        walk.duplicate = std::move(duplicate);
        walk.duplicate_depth = depth + 1;
      }
      return true;
    }
    case od::json_type::array: {
      if (depth >= max_depth_) break;
      od::array array;
      if (auto e = value.get_array().get(array)) return fail(e);
      b.begin_list(1);
      for (auto item : array) {
        od::value v;
        if (auto e = item.get(v)) return fail(e);
        if (!put(v, b, walk, depth + 1)) return false;
      }
      b.end();
      return true;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = value.get_string().get(s)) return fail(e);
      b.scalar(s, false, 1);
      return true;
    }
    case od::json_type::number: {
      // The text as written; get_number() checks the grammar and the range. An integer beyond 64 bits
      // is kept (nlohmann read it as a double): the field rules report it, not the parser.
      std::string_view raw;
      if (auto e = raw_token(value, raw)) return fail(e);
      raw = trim_right(raw);
      od::number n;
      if (auto e = value.get_number().get(n); e && !is_integer_text(raw)) return fail(e);
      b.scalar(raw, true, 1);
      return true;
    }
    case od::json_type::boolean: {
      bool v = false;
      if (auto e = value.get_bool().get(v)) return fail(e);
      b.scalar(v ? "true" : "false", true, 1);
      return true;
    }
    case od::json_type::null: {
      bool null = false;
      if (auto e = value.is_null().get(null)) return fail(e);
      if (!null) return fail(simdjson::INCORRECT_TYPE);
      b.null(1);
      return true;
    }
  }
  walk.error = "nested deeper than " + std::to_string(max_depth_) + " levels";
  return false;
}

bool JsonReader::build(od::value value, DocumentBuilder& builder, JsonWalk& walk, int depth) {
  return put(value, builder, walk, depth);
}

std::optional<Document> JsonReader::build_document(od::value value, JsonWalk& walk) {
  DocumentBuilder builder;
  if (!put(value, builder, walk, 0)) return std::nullopt;
  return builder.finish();
}

bool JsonReader::skip(od::value value, JsonWalk& walk) {
  const bool ok = put(value, scratch_, walk, 0);
  scratch_.finish();
  return ok;
}

std::string JsonReader::trailing(od::document& doc) {
  const char* at = nullptr;
  // current_location() fails with OUT_OF_BOUNDS exactly when the whole text has been read.
  if (doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS) return "";
  return "not JSON: more after the value";
}

void JsonReader::release_if_large(std::size_t keep) {
  if (parser_.capacity() > keep) parser_ = od::parser();
}

std::optional<Document> JsonReader::document(const PaddedJson& text, JsonWalk& walk) {
  od::document doc;
  walk.error = iterate(text, doc);
  std::optional<Document> out;
  if (walk.ok()) {
    DocumentBuilder builder;
    if (put(doc, builder, walk, 0)) walk.error = trailing(doc);
    if (walk.ok()) out = builder.finish();
  }
  release_if_large();
  return out;
}

std::optional<Document> parse_json_text(const PaddedJson& text, std::string& error) {
  JsonWalk walk;
  std::optional<Document> doc = thread_json_reader().document(text, walk);
  if (!doc) {
    error = walk.error;
    return std::nullopt;
  }
  if (!walk.duplicate.empty()) {
    error = walk.duplicate_reason();
    return std::nullopt;
  }
  return doc;
}

}  // namespace clusterdns::discovery
