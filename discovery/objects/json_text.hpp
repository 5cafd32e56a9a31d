// JSON text (an API list page or watch event, an etcd range or value) read with simdjson's On-Demand parser
// straight into Documents, strictly: valid UTF-8 and grammar, bounded depth, no key repeated in an object.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "discovery/objects/document.hpp"

namespace clusterdns::discovery {

// Kubernetes objects nest ~20 levels (managedFields included); deeper input is refused before any reader
// downstream (which recurses per level) sees it.
inline constexpr int kMaxJsonNesting = 100;

// A reader's parser keeps its buffers (about 5 bytes per byte of text) for texts up to this size between
// parses; after a bulk read (a full list or range) callers shrink it to kJsonParserKeptAfterBulk.
inline constexpr std::size_t kJsonParserKept = 16u << 20;
inline constexpr std::size_t kJsonParserKeptAfterBulk = 64u << 10;

// Grows text's capacity (not its size) so that simdjson may read its padding past the end in place
// (simdjson::padded_string_view). Call it on a buffer before filling it, or once before parsing it.
void reserve_json_padding(std::string& text, std::size_t more = 0);

// Text simdjson can read: the string's own buffer when its capacity holds the padding, else a padded copy.
// The source must outlive this object and stay unchanged.
class PaddedJson {
 public:
  explicit PaddedJson(const std::string& text);
  explicit PaddedJson(std::string_view text);
  // Copies into scratch (a buffer kept by the caller, reused from text to text) when text lacks the padding:
  // no allocation per text once scratch has grown.
  PaddedJson(const std::string& text, std::string& scratch);
  PaddedJson(const PaddedJson&) = delete;
  PaddedJson& operator=(const PaddedJson&) = delete;
  simdjson::padded_string_view view() const { return view_; }
  bool copied() const { return copy_.size() != 0; }

 private:
  simdjson::padded_string copy_;
  simdjson::padded_string_view view_;
};

// What one walk found: a fatal problem (error set: not JSON, too deep) or the first key repeated within one
// object (RFC 8259 §4 leaves repeated names undefined; readers disagree on which wins, so such an object is
// refused by the callers) with the depth of its object's keys (1: the walked value's own keys).
struct JsonWalk {
  std::string error;
  std::string duplicate;
  int duplicate_depth = -1;
  bool ok() const { return error.empty(); }
  // "repeated key 'k' in one object", or "" when no key repeats.
  std::string duplicate_reason() const;
};

// One parser (its buffers are reused from text to text). Not thread-safe: one per thread (thread_reader()).
//
// Values become Document nodes as document_from_json (json_document.hpp) made them: strings quoted scalars,
// numbers and booleans plain scalars, every node on line 1. Numbers keep the text they were written with; an
// integer beyond 64 bits is kept as written (the field rules then say it is not an integer), a number out of
// a double's range is refused as nlohmann refused it.
class JsonReader {
 public:
  explicit JsonReader(int max_depth = kMaxJsonNesting) : max_depth_(max_depth) {}

  // The whole text as one Document; nullopt when walk.error is set. A repeated key leaves the document whole
  // (both entries kept) and is reported in walk.duplicate.
  std::optional<Document> document(const PaddedJson& text, JsonWalk& walk);

  // For walks of their own (list pages, etcd ranges): starts the parse; "" or a reason ("not JSON: …").
  std::string iterate(const PaddedJson& text, simdjson::ondemand::document& doc);
  // Adds one value (and all it holds) to builder; nesting counts from `depth` containers already open.
  // False when walk.error was set.
  bool build(simdjson::ondemand::value value, DocumentBuilder& builder, JsonWalk& walk, int depth = 0);
  // The value as its own Document.
  std::optional<Document> build_document(simdjson::ondemand::value value, JsonWalk& walk);
  // Reads and drops a value, checking it as build() does (for fields nobody needs).
  bool skip(simdjson::ondemand::value value, JsonWalk& walk);
  // After the root value was read: "" when nothing but whitespace follows it.
  static std::string trailing(simdjson::ondemand::document& doc);
  // Memory kept between texts is bounded: a parser grown past `keep` bytes of text for one big text is
  // released (the next text allocates again).
  void release_if_large(std::size_t keep = kJsonParserKept);

 private:
  template <class V>
  bool put(V& value, DocumentBuilder& builder, JsonWalk& walk, int depth);

  simdjson::ondemand::parser parser_;
  DocumentBuilder scratch_;
  int max_depth_;
};

// The calling thread's reader.
JsonReader& thread_json_reader();

// "not JSON: " + simdjson's reason.
std::string json_error_text(simdjson::error_code code);

// One JSON text → Document, strictly (repeated keys refused); nullopt and a one-line reason otherwise.
std::optional<Document> parse_json_text(const PaddedJson& text, std::string& error);

}  // namespace clusterdns::discovery
