// Document, DocNode and DocumentBuilder: a node tree in flat arrays.
#include "discovery/objects/document.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace clusterdns::discovery {

NodeKind DocNode::kind() const {
  return doc_ ? doc_->items_[index_].kind : NodeKind::Absent;
}

std::string_view DocNode::scalar() const {
  if (!is_scalar()) return {};
  const Document::Item& it = doc_->items_[index_];
  return std::string_view(doc_->text_).substr(it.first, it.count);
}

bool DocNode::plain() const {
  return doc_ && doc_->items_[index_].plain;
}

int DocNode::line() const {
  return doc_ ? static_cast<int>(doc_->items_[index_].line) : 0;
}

std::size_t DocNode::size() const {
  if (!doc_) return 0;
  const Document::Item& it = doc_->items_[index_];
  if (it.kind == NodeKind::Map) return it.count / 2;
  return it.kind == NodeKind::List ? it.count : 0;
}

DocNode DocNode::operator[](std::size_t i) const {
  if (!is_list() || i >= size()) return {};
  return DocNode(doc_, doc_->children_[doc_->items_[index_].first + i]);
}

DocNode DocNode::get(std::string_view key) const {
  if (!is_map()) return {};
  const Document::Item& it = doc_->items_[index_];
  for (uint32_t i = 0; i < it.count; i += 2) {
    DocNode k(doc_, doc_->children_[it.first + i]);
    if (k.is_scalar() && k.scalar() == key) return DocNode(doc_, doc_->children_[it.first + i + 1]);
  }
  return {};
}

DocNode DocNode::key_at(std::size_t i) const {
  if (!is_map() || i >= size()) return {};
  return DocNode(doc_, doc_->children_[doc_->items_[index_].first + 2 * i]);
}

DocNode DocNode::value_at(std::size_t i) const {
  if (!is_map() || i >= size()) return {};
  return DocNode(doc_, doc_->children_[doc_->items_[index_].first + 2 * i + 1]);
}

const char* DocNode::kind_text() const {
  switch (kind()) {
    case NodeKind::Map:
      return "a mapping";
    case NodeKind::List:
      return "a list";
    case NodeKind::Scalar:
      return "a scalar";
    case NodeKind::Null:
      return "null";
    case NodeKind::Absent:
      break;
  }
  return "nothing";
}

uint32_t DocumentBuilder::add(NodeKind kind, bool plain, int line, uint32_t first, uint32_t count) {
  if (doc_.items_.size() >= UINT32_MAX - 1) throw std::length_error("document too large");
  doc_.items_.push_back(Document::Item{kind, plain, static_cast<uint32_t>(std::max(line, 0)), first, count});
  return static_cast<uint32_t>(doc_.items_.size() - 1);
}

void DocumentBuilder::attach(uint32_t index) {
  if (!open_.empty()) {
    pending_.push_back(index);
  } else if (!has_root_) {
    doc_.root_ = index;
    has_root_ = true;
  }
}

uint32_t DocumentBuilder::scalar(std::string_view text, bool plain, int line) {
  if (doc_.text_.size() + text.size() >= UINT32_MAX) throw std::length_error("document too large");
  auto offset = static_cast<uint32_t>(doc_.text_.size());
  doc_.text_.append(text);
  uint32_t index = add(NodeKind::Scalar, plain, line, offset, static_cast<uint32_t>(text.size()));
  attach(index);
  return index;
}

uint32_t DocumentBuilder::null(int line) {
  uint32_t index = add(NodeKind::Null, true, line, 0, 0);
  attach(index);
  return index;
}

uint32_t DocumentBuilder::begin_map(int line) {
  uint32_t index = add(NodeKind::Map, false, line, 0, 0);
  attach(index);
  open_.push_back(Open{index, pending_.size()});
  return index;
}

uint32_t DocumentBuilder::begin_list(int line) {
  uint32_t index = add(NodeKind::List, false, line, 0, 0);
  attach(index);
  open_.push_back(Open{index, pending_.size()});
  return index;
}

void DocumentBuilder::reference(uint32_t index) {
  if (index < doc_.items_.size()) attach(index);
}

bool DocumentBuilder::end(std::string* duplicate_key) {
  if (open_.empty()) return true;
  Open top = open_.back();
  open_.pop_back();
  Document::Item& item = doc_.items_[top.index];
  item.first = static_cast<uint32_t>(doc_.children_.size());
  item.count = static_cast<uint32_t>(pending_.size() - top.first_pending);
  doc_.children_.insert(doc_.children_.end(),
                        pending_.begin() + static_cast<std::ptrdiff_t>(top.first_pending), pending_.end());
  pending_.resize(top.first_pending);
  if (item.kind != NodeKind::Map) return true;
  if (item.count % 2 != 0) {  // a key without a value (cannot come from a parser): give it null
    item.count -= 1;
    doc_.children_.pop_back();
  }
  // Duplicate keys: sigs.k8s.io/yaml (kubectl) rejects them, and the last one winning would hide a typo.
  auto key_text = [&](uint32_t i) {
    DocNode k(&doc_, doc_.children_[item.first + 2 * i]);
    return k.is_scalar() ? std::optional<std::string_view>(k.scalar()) : std::nullopt;
  };
  const uint32_t entries = item.count / 2;
  std::optional<std::string_view> dup;
  if (entries <= 16) {  // the usual small mapping: no allocation
    for (uint32_t i = 1; i < entries && !dup; ++i) {
      auto ki = key_text(i);
      for (uint32_t j = 0; ki && j < i && !dup; ++j) {
        if (key_text(j) == ki) dup = ki;
      }
    }
  } else {
    std::vector<std::string_view> keys;
    keys.reserve(entries);
    for (uint32_t i = 0; i < entries; ++i) {
      if (auto k = key_text(i)) keys.push_back(*k);
    }
    std::sort(keys.begin(), keys.end());
    auto it = std::adjacent_find(keys.begin(), keys.end());
    if (it != keys.end()) dup = *it;
  }
  if (!dup) return true;
  if (duplicate_key) *duplicate_key = std::string(*dup);
  return false;
}

Document DocumentBuilder::finish() {
  while (!open_.empty())
    end();
  Document out = std::move(doc_);
  doc_ = Document();
  pending_.clear();
  has_root_ = false;
  return out;
}

}  // namespace clusterdns::discovery
