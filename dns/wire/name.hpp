// Domain names in wire form (RFC 1035 §3.1): text conversion, lower-casing, hostile-input-safe parsing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace clusterdns::dns::wire {

// Text ("a.b.c" or "a.b.c.", "." for the root) to lower-cased wire form. Supports \. and \DDD escapes.
// nullopt for empty labels, labels over 63 octets or names over 255.
std::optional<std::string> name_from_text(std::string_view text);
// Wire form to text with a trailing dot; dots and odd bytes inside labels escaped as in zone files.
std::string name_to_text(std::string_view wire);
inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
inline uint8_t ascii_lower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
}
std::string lowercase(std::string_view s);
// The 64-bit hash of a (lower-cased) wire name, 8 bytes at a time with splitmix64's constants (names are
// 20-60 bytes). The zone draft keys its names by it and keeps the low half, which the snapshot's name table
// uses (hash_name): a build from nothing reads the draft's instead of hashing 450,000 names again.
inline uint64_t hash_name64(std::string_view wire) {
  constexpr uint64_t kMultiplier = 0xbf58476d1ce4e5b9ull, kFinal = 0x94d049bb133111ebull;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ wire.size();
  const char* p = wire.data();
  size_t n = wire.size();
  const auto mix = [&h](uint64_t word) {
    h = (h ^ word) * kMultiplier;
    h ^= h >> 31;
  };
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    mix(word);
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    mix(word);
  }
  h *= kFinal;
  return h ^ (h >> 29);
}
// The hash of the snapshot's name table: the low half of hash_name64.
inline uint32_t hash_name(std::string_view wire) {
  return static_cast<uint32_t>(hash_name64(wire));
}

// Number of labels, not counting the root.
size_t label_count(std::string_view wire);
// The name with its first n labels removed (a suffix view of the same storage).
std::string_view strip_labels(std::string_view wire, size_t n);
// True when `wire` equals `zone` or lies below it (label-aligned, both lower-cased).
bool is_subdomain(std::string_view wire, std::string_view zone);

enum class NameStatus { Ok, Truncated, BadLabel, TooLong, PointerLoop, BadPointer };

// Reads a possibly compressed name at `pos` in `packet` into `out` (lower-cased, at most 255 bytes).
// On Ok, `*out_len` is the wire length and `*next` the offset just after the name at `pos`.
// Pointers must point strictly backwards (RFC 1035 §4.1.4), which also rules out loops.
NameStatus read_name(const uint8_t* packet, size_t size, size_t pos, uint8_t* out, size_t* out_len,
                     size_t* next);

// Skips a possibly compressed name without following pointers; nullopt when it runs past `size`.
std::optional<size_t> skip_name(const uint8_t* packet, size_t size, size_t pos);

}  // namespace clusterdns::dns::wire
