// A parsed YAML or JSON document: mappings, lists and scalars with their lines, held in three flat arrays
// (a few allocations per document, not one per node), read by the manifest rules of every source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clusterdns::discovery {

class Document;

enum class NodeKind : uint8_t { Absent, Null, Scalar, Map, List };

// A node of a Document, or an absent one (a missing key, an index out of range). Cheap to copy; valid
// while its Document lives. Reading an absent node or the wrong kind gives absent/empty, never throws.
class DocNode {
 public:
  DocNode() = default;

  NodeKind kind() const;
  bool defined() const { return doc_ != nullptr; }
  // Defined and not null: JSON null and an absent key mean the same in the Kubernetes API.
  bool present() const { return defined() && !is_null(); }
  bool is_null() const { return kind() == NodeKind::Null; }
  bool is_scalar() const { return kind() == NodeKind::Scalar; }
  bool is_map() const { return kind() == NodeKind::Map; }
  bool is_list() const { return kind() == NodeKind::List; }
  // The text of a scalar ("" for anything else).
  std::string_view scalar() const;
  std::string str() const { return std::string(scalar()); }
  // A scalar written without quotes (YAML plain style, a JSON number or boolean): "true" quoted is a string.
  bool plain() const;
  // 1-based line in the text the document came from; 0 for an absent node.
  int line() const;
  // Entries of a map, items of a list; 0 otherwise.
  std::size_t size() const;
  // Item i of a list.
  DocNode operator[](std::size_t i) const;
  // The value under key in a map (scalar keys compared by text).
  DocNode get(std::string_view key) const;
  // Entry i of a map.
  DocNode key_at(std::size_t i) const;
  DocNode value_at(std::size_t i) const;
  // "a mapping", "a list", "a scalar", "null", "nothing": for error messages.
  const char* kind_text() const;

 private:
  friend class Document;
  friend class DocumentBuilder;
  DocNode(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

// Immutable once built. Aliases (YAML "*name") share the anchored node: the tree is a DAG, so a reader
// that walks it bounds what it visits (see Fields::spend).
class Document {
 public:
  DocNode root() const { return items_.empty() ? DocNode() : DocNode(this, root_); }
  std::size_t node_count() const { return items_.size(); }

 private:
  friend class DocNode;
  friend class DocumentBuilder;
  struct Item {
    NodeKind kind = NodeKind::Absent;
    bool plain = false;
    uint32_t line = 0;
    uint32_t first = 0;  // scalar: offset in text_; container: offset in children_
    uint32_t count = 0;  // scalar: length; map: 2 × entries (key, value, …); list: items
  };
  std::vector<Item> items_;
  std::vector<uint32_t> children_;
  std::string text_;
  uint32_t root_ = 0;
};

// Builds a document from a stream of events (the YAML parser's, or a JSON tree walk).
class DocumentBuilder {
 public:
  // Each returns the new node's index (an anchor remembers it). Containers end with end().
  uint32_t scalar(std::string_view text, bool plain, int line);
  uint32_t null(int line);
  uint32_t begin_map(int line);
  uint32_t begin_list(int line);
  // Closes the innermost container. A map holding a key twice gives false and that key.
  bool end(std::string* duplicate_key = nullptr);
  // Adds an existing node (an alias) as the next child of the open container.
  void reference(uint32_t index);
  std::size_t depth() const { return open_.size(); }
  // The document (its root is the first top-level node); the builder starts afresh.
  Document finish();

 private:
  uint32_t add(NodeKind kind, bool plain, int line, uint32_t first, uint32_t count);
  void attach(uint32_t index);
  struct Open {
    uint32_t index;
    std::size_t first_pending;
  };
  std::vector<Open> open_;
  std::vector<uint32_t> pending_;  // children of the open containers, innermost last
  bool has_root_ = false;
  Document doc_;
};

}  // namespace clusterdns::discovery
