// The decoder's entry points: one text, or one already-decoded object, through a ManifestReader.
#include "discovery/objects/parse.hpp"

#include "discovery/objects/manifest_reader.hpp"

namespace clusterdns::discovery {

std::string ManifestError::to_string() const {
  if (line <= 0) return file + ": " + reason;
  return file + ":" + std::to_string(line) + ": " + reason;
}

ParseResult parse_manifest_text(const std::string& text, const std::string& file_label) {
  objects::ManifestReader reader;
  reader.read_text(text, file_label);
  return reader.finish();
}

ParsedObjects parse_object_document(const Document& doc, const std::string& file_label) {
  objects::ManifestReader reader;
  reader.read_parsed(doc, file_label);
  return reader.take_objects();
}

}  // namespace clusterdns::discovery
