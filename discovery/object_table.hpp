// A persistent, keyed table of registry objects: copies share everything, an update copies one chunk.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clusterdns::discovery {

// An object's identity: (namespace, name). Namespaces themselves are plain strings keyed by their name.
using ObjectKey = std::pair<std::string_view, std::string_view>;
template <typename T>
ObjectKey object_key(const T& object) {
  return {object.ns, object.name};
}
inline ObjectKey object_key(const std::string& name) {
  return {std::string_view(), name};
}

// Objects sorted by key, held by shared pointers in chunks of at most kMaxChunk. Copying a table copies the
// chunk pointers only (a 100,000-object table is ~800 pointers), so a source publishes a new state per event
// in O(chunks); an update clones only the chunk it touches, and only when a published copy shares it.
// diff() walks two tables and skips every chunk they share: the zone builder recompiles only what moved.
// Not thread-safe for writing; a const table may be read from any thread.
template <typename T>
class ObjectTable {
 public:
  using value_type = T;
  using Ptr = std::shared_ptr<const T>;
  static constexpr size_t kMaxChunk = 128;

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    const_iterator() = default;
    reference operator*() const { return *(*table_->chunks_[chunk_])[at_]; }
    pointer operator->() const { return &**this; }
    const Ptr& ptr() const { return (*table_->chunks_[chunk_])[at_]; }
    const_iterator& operator++() {
      if (++at_ == table_->chunks_[chunk_]->size()) {
        ++chunk_;
        at_ = 0;
      }
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++*this;
      return old;
    }
    bool operator==(const const_iterator& o) const { return chunk_ == o.chunk_ && at_ == o.at_; }

   private:
    friend class ObjectTable;
    const_iterator(const ObjectTable* t, size_t chunk, size_t at) : table_(t), chunk_(chunk), at_(at) {}
    const ObjectTable* table_ = nullptr;
    size_t chunk_ = 0, at_ = 0;
  };
  using iterator = const_iterator;

  ObjectTable() = default;
  ObjectTable(std::initializer_list<T> objects) {
    for (const T& o : objects)
      upsert(o);
  }
  // From a list (a later object replaces an earlier one with its key).
  ObjectTable(const std::vector<T>& objects) {  // NOLINT(google-explicit-constructor): a list is a table
    for (const T& o : objects)
      upsert(o);
  }

  const_iterator begin() const { return {this, 0, 0}; }
  const_iterator end() const { return {this, chunks_.size(), 0}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& front() const { return *chunks_.front()->front(); }
  // Position order is key order. O(chunks): for tests and small tables.
  const T& operator[](size_t i) const {
    for (const auto& c : chunks_) {
      if (i < c->size()) return *(*c)[i];
      i -= c->size();
    }
    return *chunks_.back()->back();  // out of range: the caller's bug, as with a vector
  }

  const T* find(ObjectKey key) const {
    const Ptr* p = find_slot(key);
    return p ? p->get() : nullptr;
  }
  Ptr find_ptr(ObjectKey key) const {
    const Ptr* p = find_slot(key);
    return p ? *p : Ptr();
  }

  // Inserts or replaces the object with the same key.
  void upsert(Ptr object) {
    const ObjectKey key = object_key(*object);
    if (chunks_.empty()) {
      chunks_.push_back(std::make_shared<Chunk>(1, std::move(object)));
      size_ = 1;
      return;
    }
    const size_t c = chunk_for(key);
    Chunk& chunk = writable(c);
    auto it = lower(chunk, key);
    if (it != chunk.end() && object_key(**it) == key) {
      *it = std::move(object);
      return;
    }
    chunk.insert(it, std::move(object));
    ++size_;
    if (chunk.size() > kMaxChunk) {
      auto upper = std::make_shared<Chunk>(chunk.begin() + kMaxChunk / 2, chunk.end());
      chunk.erase(chunk.begin() + kMaxChunk / 2, chunk.end());
      chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(c) + 1, std::move(upper));
    }
  }
  void upsert(T object) { upsert(std::make_shared<const T>(std::move(object))); }
  // A table of `objects` in any order, a later object replacing an earlier one with its key (as upserts in
  // that order would), sorted once into full chunks: a reader of 100,000 objects that upserted each would
  // pay a binary search over scattered chunks per object.
  static ObjectTable from(std::vector<T> objects) {
    std::vector<Ptr> shared;
    shared.reserve(objects.size());
    for (T& o : objects)
      shared.push_back(std::make_shared<const T>(std::move(o)));
    return from(std::move(shared));
  }
  // The same for objects already shared (a source that keeps each object beside the table); none null.
  static ObjectTable from(std::vector<Ptr> objects) {
    std::vector<std::pair<Ptr, size_t>> sorted;
    sorted.reserve(objects.size());
    for (Ptr& o : objects)
      sorted.emplace_back(std::move(o), sorted.size());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      const int c = compare(object_key(*a.first), object_key(*b.first));
      return c != 0 ? c < 0 : a.second < b.second;
    });
    ObjectTable table;
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i + 1 < sorted.size() && object_key(*sorted[i].first) == object_key(*sorted[i + 1].first)) continue;
      if (table.chunks_.empty() || table.chunks_.back()->size() == kMaxChunk) {
        table.chunks_.push_back(std::make_shared<Chunk>());
        table.chunks_.back()->reserve(std::min(kMaxChunk, sorted.size() - i));
      }
      table.chunks_.back()->push_back(std::move(sorted[i].first));
      ++table.size_;
    }
    return table;
  }
  // A vector's spelling of upsert, for code that fills a state from scratch.
  void push_back(T object) { upsert(std::move(object)); }
  template <typename It>
  void assign(It first, It last) {
    clear();
    for (; first != last; ++first)
      upsert(T(*first));
  }

  // Removes the object with this key; false when there was none.
  bool erase(ObjectKey key) {
    if (chunks_.empty()) return false;
    const size_t c = chunk_for(key);
    const Chunk& shared = *chunks_[c];
    auto found = lower(shared, key);
    if (found == shared.end() || object_key(**found) != key) return false;
    const auto at = found - shared.begin();
    Chunk& chunk = writable(c);
    chunk.erase(chunk.begin() + at);
    --size_;
    if (chunk.empty()) chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(c));
    return true;
  }
  void clear() {
    chunks_.clear();
    size_ = 0;
  }

  // Calls f(before, after) for every key whose object is not the same in both tables (pointer identity:
  // an object replaced by an equal copy counts as changed); before or after is null where the key is absent.
  // Chunks both tables share are skipped whole.
  template <typename F>
  static void diff(const ObjectTable& a, const ObjectTable& b, F&& f) {
    size_t ca = 0, ia = 0, cb = 0, ib = 0;
    const auto step = [](const ObjectTable& t, size_t& c, size_t& i) {
      if (++i == t.chunks_[c]->size()) {
        ++c;
        i = 0;
      }
    };
    while (true) {
      while (ia == 0 && ib == 0 && ca < a.chunks_.size() && cb < b.chunks_.size() &&
             a.chunks_[ca] == b.chunks_[cb]) {
        ++ca;
        ++cb;
      }
      const bool a_done = ca >= a.chunks_.size(), b_done = cb >= b.chunks_.size();
      if (a_done && b_done) return;
      const Ptr* pa = a_done ? nullptr : &(*a.chunks_[ca])[ia];
      const Ptr* pb = b_done ? nullptr : &(*b.chunks_[cb])[ib];
      if (pa && pb && *pa == *pb) {
        step(a, ca, ia);
        step(b, cb, ib);
        continue;
      }
      const int order = !pa ? 1 : !pb ? -1 : compare(object_key(**pa), object_key(**pb));
      if (order < 0) {
        f(pa->get(), static_cast<const T*>(nullptr));
        step(a, ca, ia);
      } else if (order > 0) {
        f(static_cast<const T*>(nullptr), pb->get());
        step(b, cb, ib);
      } else {
        f(pa->get(), pb->get());
        step(a, ca, ia);
        step(b, cb, ib);
      }
    }
  }

  // Calls f(object) for every object of namespace `ns`, in key order: O(log n + what it visits).
  template <typename F>
  void for_each_in(std::string_view ns, F&& f) const {
    if (chunks_.empty()) return;
    for (size_t c = chunk_for({ns, {}}); c < chunks_.size(); ++c) {
      for (const Ptr& p : *chunks_[c]) {
        const ObjectKey k = object_key(*p);
        if (k.first < ns) continue;
        if (k.first != ns) return;
        f(*p);
      }
    }
  }

  // Chunks this table shares with `other` (for tests and memory accounting).
  size_t shared_chunks(const ObjectTable& other) const {
    size_t n = 0;
    for (const auto& c : chunks_)
      n += std::find(other.chunks_.begin(), other.chunks_.end(), c) != other.chunks_.end();
    return n;
  }

 private:
  using Chunk = std::vector<Ptr>;

  static int compare(ObjectKey x, ObjectKey y) {
    if (int c = x.first.compare(y.first)) return c;
    return x.second.compare(y.second);
  }
  static typename Chunk::const_iterator lower(const Chunk& chunk, ObjectKey key) {
    return std::lower_bound(chunk.begin(), chunk.end(), key,
                            [](const Ptr& p, ObjectKey k) { return compare(object_key(*p), k) < 0; });
  }
  static typename Chunk::iterator lower(Chunk& chunk, ObjectKey key) {
    return std::lower_bound(chunk.begin(), chunk.end(), key,
                            [](const Ptr& p, ObjectKey k) { return compare(object_key(*p), k) < 0; });
  }
  // The chunk whose range holds `key`: the first whose last key is >= key, else the last chunk.
  size_t chunk_for(ObjectKey key) const {
    auto it = std::lower_bound(chunks_.begin(), chunks_.end(), key, [](const auto& c, ObjectKey k) {
      return compare(object_key(*c->back()), k) < 0;
    });
    return it == chunks_.end() ? chunks_.size() - 1 : static_cast<size_t>(it - chunks_.begin());
  }
  const Ptr* find_slot(ObjectKey key) const {
    if (chunks_.empty()) return nullptr;
    const Chunk& chunk = *chunks_[chunk_for(key)];
    auto it = lower(chunk, key);
    return it != chunk.end() && object_key(**it) == key ? &*it : nullptr;
  }
  // Copy-on-write: a chunk another table still holds is cloned before it changes.
  Chunk& writable(size_t c) {
    if (chunks_[c].use_count() > 1) chunks_[c] = std::make_shared<Chunk>(*chunks_[c]);
    return *chunks_[c];
  }

  std::vector<std::shared_ptr<Chunk>> chunks_;  // none empty
  size_t size_ = 0;
};

}  // namespace clusterdns::discovery
