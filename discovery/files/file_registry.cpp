// FileRegistry: per-file diffs applied to one shared RegistryState.
#include "discovery/files/file_registry.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "discovery/objects/manifest_reader.hpp"

namespace clusterdns::discovery::files {

namespace {

// How the reader names an object in its positions ("Service default/web"), hashed into File::lines.
std::string label(const Service& s) {
  return "Service " + s.ns + "/" + s.name;
}
std::string label(const Pod& p) {
  return "Pod " + p.ns + "/" + p.name;
}
std::string label(const EndpointSet& e) {
  return "EndpointSlice " + e.ns + "/" + e.name;
}
std::string label(const ServiceImport& i) {
  return "ServiceImport " + i.ns + "/" + i.name;
}

uint64_t label_hash(std::string_view label) {
  return std::hash<std::string_view>{}(label);
}

int line_of_label(const FileRegistry::Lines& lines, std::string_view label) {
  const uint64_t h = label_hash(label);
  auto it = std::lower_bound(lines.begin(), lines.end(), std::make_pair(h, uint32_t{0}));
  return it != lines.end() && it->first == h ? static_cast<int>(it->second) : 0;
}

// The line of `object` in a file's lines (an EndpointSet may come from a v1 Endpoints), or 0.
template <typename T>
int line_of(const FileRegistry::Lines& lines, const T& object) {
  if (int line = line_of_label(lines, label(object))) return line;
  if constexpr (std::is_same_v<T, EndpointSet>)
    return line_of_label(lines, "Endpoints " + object.ns + "/" + object.service_name);
  return 0;
}

std::string where(const std::string& file, int line) {
  return line > 0 ? file + ":" + std::to_string(line) : file;
}

}  // namespace

template <typename T>
bool FileRegistry::apply_table(int tag, ObjectTable<T> RegistryState::*table, const std::string& path,
                               const File& old, const File& next, std::vector<ManifestError>& duplicates) {
  bool changed = false;
  ObjectTable<T>& merged = state_.*table;
  const ObjectTable<T>& mine = next.objects.*table;
  if (merged.empty() && (old.objects.*table).empty()) {
    // The first file to define objects of this kind (start-up): nothing is anyone else's, so the merged
    // table is the file's, sharing its chunks, instead of an upsert per object.
    merged = mine;
    return !mine.empty();
  }
  ObjectTable<T>::diff(old.objects.*table, mine, [&](const T* before, const T* after) {
    const T& any = after ? *after : *before;
    const ObjectKey key = object_key(any);
    auto owner = owners_.empty() ? owners_.end() : owners_.find(OwnerKeyView{tag, key.first, key.second});
    if (owner == owners_.end()) {
      if (!after) {  // it was this file's alone
        changed |= merged.erase(key);
        return;
      }
      // This file's alone: it defined it before, or nobody else does.
      if (before || !merged.find(key)) {
        // An object re-read unchanged keeps the state's pointer: what moved is what the zones recompile.
        if (before && *before == *after) return;
        merged.upsert(mine.find_ptr(key));
        changed = true;
        return;
      }
      // Another file defines it: the one whose objects hold it (files are read in path order at start-up).
      const std::string* first = nullptr;
      for (const auto& [other, file] : files_) {
        if (other != path && (file.objects.*table).find(key)) {
          first = &other;
          break;
        }
      }
      if (!first) {  // only derived objects carry keys no file defines: this file takes it
        merged.upsert(mine.find_ptr(key));
        changed = true;
        return;
      }
      owner = owners_
                  .emplace(OwnerKey{tag, std::string(key.first), std::string(key.second)},
                           std::vector<std::string>{*first})
                  .first;
    }
    std::vector<std::string>& files = owner->second;
    if (!after) {  // this file no longer defines it
      const bool was_first = !files.empty() && files.front() == path;
      files.erase(std::remove(files.begin(), files.end(), path), files.end());
      if (was_first) {
        changed = true;
        if (files.empty()) {
          merged.erase(key);
        } else {  // the next definition takes over
          merged.upsert((files_.at(files.front()).objects.*table).find_ptr(key));
        }
      }
      if (files.size() <= 1) owners_.erase(owner);  // one file's alone again, or nobody's
      return;
    }
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
    if (files.front() == path) {
      if (before && *before == *after) return;
      merged.upsert(mine.find_ptr(key));
      changed = true;
    } else {
      const int here = line_of(next.lines, *after);
      const std::string first = where(files.front(), line_of(files_.at(files.front()).lines, *after));
      duplicates.push_back(
          ManifestError{path, here, label(*after) + ": defined twice (first at " + first + ")"});
    }
  });
  return changed;
}

bool FileRegistry::apply_namespaces(const ObjectTable<std::string>& old,
                                    const ObjectTable<std::string>& next) {
  bool changed = false;
  ObjectTable<std::string>::diff(old, next, [&](const std::string* before, const std::string* after) {
    if (before && after) return;  // named before and now
    if (after) {
      if (namespace_refs_[*after]++ == 0) {
        state_.namespaces.upsert(*after);
        changed = true;
      }
      return;
    }
    auto it = namespace_refs_.find(*before);
    if (it == namespace_refs_.end() || --it->second > 0) return;
    state_.namespaces.erase(object_key(*before));
    namespace_refs_.erase(it);
    changed = true;
  });
  return changed;
}

FileRegistry::Outcome FileRegistry::update(const std::string& path, const std::string& text) {
  Outcome out;
  objects::ManifestReader reader;
  reader.read_text(text, path);
  File next;
  next.text_size = text.size();
  next.text_digest = std::hash<std::string_view>{}(text);
  next.lines.reserve(reader.positions().size());
  for (const auto& [label, position] : reader.positions())
    next.lines.emplace_back(label_hash(label), static_cast<uint32_t>(position.line));
  std::sort(next.lines.begin(), next.lines.end());
  next.broken = reader.broken_yaml();
  ParseResult parsed = reader.finish();
  File& current = files_[path];
  if (next.broken) {  // keep what this file defined before
    next.objects = current.objects;
    next.lines = current.lines;
  } else {
    next.objects = std::move(parsed.state);
  }
  std::vector<ManifestError> duplicates;
  out.changed |= apply_table(0, &RegistryState::services, path, current, next, duplicates);
  out.changed |= apply_table(1, &RegistryState::endpoint_sets, path, current, next, duplicates);
  out.changed |= apply_table(2, &RegistryState::pods, path, current, next, duplicates);
  out.changed |= apply_table(3, &RegistryState::service_imports, path, current, next, duplicates);
  out.changed |= apply_namespaces(current.objects.namespaces, next.objects.namespaces);

  std::vector<ManifestError> errors = std::move(parsed.errors);
  errors.insert(errors.end(), duplicates.begin(), duplicates.end());
  std::stable_sort(errors.begin(), errors.end(),
                   [](const ManifestError& a, const ManifestError& b) { return a.line < b.line; });
  out.rejected = errors.size();
  if (errors.size() > kMaxErrorsPerFile) {
    const std::size_t more = errors.size() - kMaxErrorsPerFile;
    errors.resize(kMaxErrorsPerFile);
    errors.push_back(ManifestError{path, 0, "and " + std::to_string(more) + " more problems"});
  }
  next.errors = errors;
  out.errors = std::move(errors);
  out.warnings = std::move(parsed.warnings);
  out.kept_last_good = next.broken;
  current = std::move(next);
  return out;
}

bool FileRegistry::remove(const std::string& path) {
  auto it = files_.find(path);
  if (it == files_.end()) return false;
  File empty;
  std::vector<ManifestError> ignored;
  bool changed = false;
  changed |= apply_table(0, &RegistryState::services, path, it->second, empty, ignored);
  changed |= apply_table(1, &RegistryState::endpoint_sets, path, it->second, empty, ignored);
  changed |= apply_table(2, &RegistryState::pods, path, it->second, empty, ignored);
  changed |= apply_table(3, &RegistryState::service_imports, path, it->second, empty, ignored);
  changed |= apply_namespaces(it->second.objects.namespaces, empty.objects.namespaces);
  files_.erase(it);
  return changed;
}

bool FileRegistry::same_text(const std::string& path, std::string_view text) const {
  auto it = files_.find(path);
  return it != files_.end() && it->second.text_size == text.size() &&
         it->second.text_digest == std::hash<std::string_view>{}(text);
}

std::vector<std::string> FileRegistry::paths() const {
  std::vector<std::string> out;
  for (const auto& [path, file] : files_)
    out.push_back(path);
  return out;
}

std::vector<ManifestError> FileRegistry::errors() const {
  std::vector<ManifestError> out;
  for (const auto& [path, file] : files_)
    out.insert(out.end(), file.errors.begin(), file.errors.end());
  return out;
}

bool FileRegistry::stale() const {
  return std::any_of(files_.begin(), files_.end(), [](const auto& f) { return f.second.broken; });
}

}  // namespace clusterdns::discovery::files
