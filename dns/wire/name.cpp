// Domain-name helpers: every loop is bounded by the packet size or the 255-octet name limit.
#include "dns/wire/name.hpp"

#include <cstdio>
#include <cstring>

#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

std::optional<std::string> name_from_text(std::string_view text) {
  std::string wire;
  if (text == "." || text.empty()) return std::string(1, '\0');
  std::string label;
  auto flush = [&]() -> bool {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    wire.push_back(static_cast<char>(label.size()));
    wire += label;
    label.clear();
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      auto digit = [&](size_t k) { return k < text.size() && text[k] >= '0' && text[k] <= '9'; };
      if (digit(i + 1) && digit(i + 2) && digit(i + 3)) {
        int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return std::nullopt;
        label.push_back(ascii_lower(static_cast<char>(v)));
        i += 3;
      } else {
        label.push_back(ascii_lower(text[i + 1]));
        i += 1;
      }
    } else if (c == '.') {
      if (!flush()) return std::nullopt;
    } else {
      label.push_back(ascii_lower(c));
    }
  }
  if (!label.empty() && !flush()) return std::nullopt;
  wire.push_back('\0');
  if (wire.size() > kMaxNameLength) return std::nullopt;
  return wire;
}

std::string name_to_text(std::string_view wire) {
  std::string out;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    size_t len = static_cast<uint8_t>(wire[i]);
    for (size_t j = 1; j <= len && i + j < wire.size(); ++j) {
      auto c = static_cast<unsigned char>(wire[i + j]);
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c <= 32 || c >= 127) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
    i += len + 1;
  }
  if (out.empty()) out.push_back('.');
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = ascii_lower(c);
  return out;
}

size_t label_count(std::string_view wire) {
  size_t n = 0;
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    i += static_cast<uint8_t>(wire[i]) + 1u;
    ++n;
  }
  return n;
}

std::string_view strip_labels(std::string_view wire, size_t n) {
  size_t i = 0;
  while (n > 0 && i < wire.size() && wire[i] != 0) {
    i += static_cast<uint8_t>(wire[i]) + 1u;
    --n;
  }
  return i < wire.size() ? wire.substr(i) : std::string_view();
}

bool is_subdomain(std::string_view wire, std::string_view zone) {
  if (zone.size() > wire.size()) return false;
  size_t i = 0;
  const size_t offset = wire.size() - zone.size();
  while (i < offset) {
    i += static_cast<uint8_t>(wire[i]) + 1u;
  }
  return i == offset && wire.substr(offset) == zone;
}

NameStatus read_name(const uint8_t* packet, size_t size, size_t pos, uint8_t* out, size_t* out_len,
                     size_t* next) {
  size_t written = 0;
  bool jumped = false;
  size_t lowest_target = pos;  // every pointer must go strictly below the previous position
  while (true) {
    if (pos >= size) return NameStatus::Truncated;
    const uint8_t len = packet[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= size) return NameStatus::Truncated;
      const size_t target = static_cast<size_t>(((len & 0x3F) << 8) | packet[pos + 1]);
      if (target >= lowest_target) return NameStatus::PointerLoop;
      if (!jumped) *next = pos + 2;
      jumped = true;
      lowest_target = target;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) return NameStatus::BadLabel;  // 0x40/0x80: extended label types, obsolete
    if (written + len + 1 > kMaxNameLength) return NameStatus::TooLong;
    if (pos + 1 + len > size) return NameStatus::Truncated;
    out[written++] = len;
    for (size_t i = 0; i < len; ++i)
      out[written++] = ascii_lower(packet[pos + 1 + i]);
    pos += 1 + static_cast<size_t>(len);
    if (len == 0) break;
  }
  if (!jumped) *next = pos;
  *out_len = written;
  return NameStatus::Ok;
}

std::optional<size_t> skip_name(const uint8_t* packet, size_t size, size_t pos) {
  for (size_t guard = 0; guard < 128; ++guard) {
    if (pos >= size) return std::nullopt;
    const uint8_t len = packet[pos];
    if ((len & 0xC0) == 0xC0) return pos + 2 <= size ? std::optional<size_t>(pos + 2) : std::nullopt;
    if ((len & 0xC0) != 0) return std::nullopt;
    pos += 1 + static_cast<size_t>(len);
    if (len == 0) return pos <= size ? std::optional<size_t>(pos) : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace clusterdns::dns::wire
