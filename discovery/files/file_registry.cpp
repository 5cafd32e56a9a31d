// FileRegistry: per-file diffs applied to one shared RegistryState.
#include "discovery/files/file_registry.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "discovery/objects/manifest_reader.hpp"

namespace clusterdns::discovery::files {

namespace {

// How the reader names an object in its positions ("Service default/web").
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

template <typename T>
std::string where(const std::map<std::string, std::string>& positions, const T& object,
                  const std::string& file) {
  if (auto it = positions.find(label(object)); it != positions.end()) return it->second;
  if constexpr (std::is_same_v<T, EndpointSet>) {
    if (auto it = positions.find("Endpoints " + object.ns + "/" + object.service_name); it != positions.end())
      return it->second;
  }
  return file;
}

int line_in(const std::string& file_line) {
  const auto colon = file_line.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(file_line.substr(colon + 1));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

template <typename T>
bool FileRegistry::apply_table(int tag, ObjectTable<T> RegistryState::*table, const std::string& path,
                               const File& old, const File& next, std::vector<ManifestError>& duplicates) {
  bool changed = false;
  ObjectTable<T>& merged = state_.*table;
  const ObjectTable<T>& mine = next.objects.*table;
  ObjectTable<T>::diff(old.objects.*table, mine, [&](const T* before, const T* after) {
    const T& any = after ? *after : *before;
    const ObjectKey key = object_key(any);
    auto owner = owners_.find(OwnerKey{tag, std::string(key.first), std::string(key.second)});
    if (!after) {  // this file no longer defines it
      if (owner == owners_.end()) return;
      std::vector<std::string>& files = owner->second;
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
      if (files.empty()) owners_.erase(owner);
      return;
    }
    if (owner == owners_.end()) {
      owner = owners_
                  .emplace(OwnerKey{tag, std::string(key.first), std::string(key.second)},
                           std::vector<std::string>{})
                  .first;
    }
    std::vector<std::string>& files = owner->second;
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
    if (files.front() == path) {
      // An object re-read unchanged keeps the state's pointer: what moved is what the zones recompile.
      if (before && *before == *after) return;
      merged.upsert(mine.find_ptr(key));
      changed = true;
    } else {
      const std::string here = where(next.positions, *after, path);
      const std::string first = where(files_.at(files.front()).positions, *after, files.front());
      duplicates.push_back(
          ManifestError{path, line_in(here), label(*after) + ": defined twice (first at " + first + ")"});
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
  next.positions = reader.positions();
  next.broken = reader.broken_yaml();
  ParseResult parsed = reader.finish();
  File& current = files_[path];
  if (next.broken) {  // keep what this file defined before
    next.objects = current.objects;
    next.positions = current.positions;
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
