// parse_yaml_fast: the block-style subset of YAML 1.1, line by line, straight into a DocumentBuilder.
#include "discovery/objects/fast_yaml.hpp"

#include <string>

namespace clusterdns::discovery {

namespace {

// Characters that cannot start a plain scalar (YAML 1.1 §4.1.6 / 1.2 c-indicator); '-' may when a digit
// follows (a negative number), which is the only such case taken here.
bool is_indicator(char c) {
  switch (c) {
    case '-':
    case '?':
    case ':':
    case ',':
    case '[':
    case ']':
    case '{':
    case '}':
    case '#':
    case '&':
    case '*':
    case '!':
    case '|':
    case '>':
    case '\'':
    case '"':
    case '%':
    case '@':
    case '`':
      return true;
    default:
      return false;
  }
}

bool is_null_text(std::string_view v) {
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

// Every failure returns false up the recursion, and the caller falls back to libyaml.
class FastYaml {
 public:
  FastYaml(std::string_view text, int first_line, int max_depth)
      : text_(text), first_line_(first_line), max_depth_(max_depth) {}

  bool run(std::vector<Document>& out, std::size_t& nodes) {
    if (!split_lines() || lines_.empty()) return false;
    const Line& first = lines_[0];
    if (!block_node(0, first.indent)) return false;
    if (next_ != lines_.size()) return false;  // something left at a smaller indent: an error
    out.push_back(builder_.finish());
    nodes = nodes_;
    return true;
  }

 private:
  struct Line {
    std::string_view text;  // without the newline
    int indent = 0;
    int number = 0;  // 1-based in the text
  };

  bool split_lines() {
    int number = 0;
    bool content = false;
    for (std::size_t pos = 0; pos < text_.size();) {
      std::size_t end = text_.find('\n', pos);
      if (end == std::string_view::npos) end = text_.size();
      const std::string_view line = text_.substr(pos, end - pos);
      pos = end + 1;
      ++number;
      for (const char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80 || u < 0x20 || u == 0x7f) return false;  // tabs, CR, controls, non-ASCII: libyaml's
      }
      std::size_t indent = line.find_first_not_of(' ');
      if (indent == std::string_view::npos || line[indent] == '#') continue;  // blank, or a comment
      if (indent == 0 && (line[0] == '%' || line.substr(0, 3) == "...")) return false;
      if (indent == 0 && line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == ' ')) {
        // A document marker: only before the content, and nothing after it but a comment.
        const std::size_t rest = line.find_first_not_of(' ', 3);
        if (content || (rest != std::string_view::npos && line[rest] != '#')) return false;
        continue;
      }
      content = true;
      lines_.push_back(Line{line, static_cast<int>(indent), number});
    }
    return true;
  }

  int line_no(std::size_t li) const { return lines_[li].number + first_line_; }

  bool dash_at(std::size_t li, int col) const {
    const std::string_view t = lines_[li].text;
    const auto c = static_cast<std::size_t>(col);
    return c < t.size() && t[c] == '-' && (c + 1 == t.size() || t[c + 1] == ' ');
  }

  // Whether nothing but spaces and a comment follows `pos` on line `t`.
  static bool rest_empty(std::string_view t, std::size_t pos) {
    const std::size_t p = t.find_first_not_of(' ', pos);
    return p == std::string_view::npos || (t[p] == '#' && (p == 0 || t[p - 1] == ' '));
  }

  bool open(bool map, int line) {
    if (++depth_ > max_depth_) return false;
    ++nodes_;
    map ? builder_.begin_map(line) : builder_.begin_list(line);
    return true;
  }
  bool close() {
    --depth_;
    return builder_.end();  // a duplicate key: libyaml's path reports it
  }
  void scalar(std::string_view v, bool plain, int line) {
    ++nodes_;
    if (plain && is_null_text(v)) {
      builder_.null(line);
    } else {
      builder_.scalar(v, plain, line);
    }
  }

  // A quoted scalar starting at t[pos] and ending on the same line; `end` is past its closing quote.
  bool quoted(std::string_view t, std::size_t pos, std::string& out, std::size_t& end) const {
    const char q = t[pos];
    out.clear();
    for (std::size_t i = pos + 1; i < t.size(); ++i) {
      const char c = t[i];
      if (q == '"' && c == '\\') return false;  // escapes: libyaml's
      if (c == q) {
        if (q == '\'' && i + 1 < t.size() && t[i + 1] == '\'') {
          out.push_back('\'');
          ++i;
          continue;
        }
        end = i + 1;
        return true;
      }
      out.push_back(c);
    }
    return false;  // runs onto the next line
  }

  // A block mapping key at t[pos]: its text, and where its value starts (past ": ").
  bool key(std::string_view t, std::size_t pos, std::string& k, bool& plain, std::size_t& value) const {
    if (pos >= t.size()) return false;
    std::size_t colon;
    if (t[pos] == '"' || t[pos] == '\'') {
      std::size_t end = 0;
      if (!quoted(t, pos, k, end)) return false;
      colon = end;
      plain = false;
    } else {
      if (is_indicator(t[pos])) return false;
      colon = pos;
      while (true) {
        colon = t.find(':', colon);
        if (colon == std::string_view::npos) return false;
        if (colon + 1 == t.size() || t[colon + 1] == ' ') break;
        ++colon;
      }
      k.assign(t.substr(pos, colon - pos));
      plain = true;
      if (k.find(" #") != std::string::npos || k.back() == ' ' || is_null_text(k)) return false;
    }
    if (colon >= t.size() || t[colon] != ':' || (colon + 1 < t.size() && t[colon + 1] != ' ')) return false;
    if (colon - pos > 1000) return false;  // libyaml's simple keys end at 1,024 characters
    value = colon + 1;
    return true;
  }

  // Any node starting a line's content at (li, col), block style.
  bool block_node(std::size_t li, int col) {
    if (dash_at(li, col)) return block_sequence(li, col);
    std::string k;
    bool plain = false;
    std::size_t value = 0;
    if (key(lines_[li].text, static_cast<std::size_t>(col), k, plain, value)) return block_mapping(li, col);
    return false;  // a scalar or flow collection on a line of its own: libyaml's
  }

  bool block_sequence(std::size_t li, int n) {
    if (!open(false, line_no(li))) return false;
    while (true) {
      const std::string_view t = lines_[li].text;
      const std::size_t after = static_cast<std::size_t>(n) + 1;
      const std::size_t p = t.find_first_not_of(' ', after);
      next_ = li + 1;
      if (p == std::string_view::npos || t[p] == '#') {  // the entry is on the lines below, or empty
        if (p != std::string_view::npos && t[p - 1] != ' ') return false;
        if (next_ < lines_.size() && lines_[next_].indent > n) {
          if (!block_node(next_, lines_[next_].indent)) return false;
        } else {
          scalar({}, true, line_no(li));
        }
      } else if (dash_at(li, static_cast<int>(p))) {
        return false;  // "- - x": libyaml's
      } else {
        std::string k;
        bool plain = false;
        std::size_t value = 0;
        if (key(t, p, k, plain, value)) {
          if (!block_mapping(li, static_cast<int>(p))) return false;
        } else if (!inline_value(li, p, n)) {
          return false;
        }
      }
      if (next_ < lines_.size() && lines_[next_].indent == n && dash_at(next_, n)) {
        li = next_;
        continue;
      }
      if (next_ < lines_.size() && lines_[next_].indent > n) return false;
      return close();
    }
  }

  bool block_mapping(std::size_t li, int n) {
    if (!open(true, line_no(li))) return false;
    std::size_t col = static_cast<std::size_t>(n);
    std::string k;
    while (true) {
      const std::string_view t = lines_[li].text;
      bool plain = false;
      std::size_t value = 0;
      if (!key(t, col, k, plain, value)) return false;
      scalar(k, plain, line_no(li));
      next_ = li + 1;
      if (rest_empty(t, value)) {  // the value is on the lines below, or empty
        if (next_ < lines_.size() && lines_[next_].indent > n) {
          if (!block_node(next_, lines_[next_].indent)) return false;
        } else if (next_ < lines_.size() && lines_[next_].indent == n && dash_at(next_, n)) {
          if (!block_sequence(next_, n)) return false;  // a sequence at the key's indent
        } else {
          scalar({}, true, line_no(li));
        }
      } else if (!inline_value(li, t.find_first_not_of(' ', value), n)) {
        return false;
      }
      if (next_ < lines_.size() && lines_[next_].indent == n && !dash_at(next_, n)) {
        li = next_;
        col = static_cast<std::size_t>(n);
        continue;
      }
      if (next_ < lines_.size() && lines_[next_].indent >= n) return false;
      return close();
    }
  }

  // A value that starts at t[pos] and ends on its line: a scalar or a flow collection. `n` is the indent
  // of the collection holding it: a deeper line after it would continue a multi-line scalar.
  bool inline_value(std::size_t li, std::size_t pos, int n) {
    const std::string_view t = lines_[li].text;
    const int line = line_no(li);
    std::size_t end = 0;
    if (t[pos] == '[' || t[pos] == '{') {
      end = pos;
      if (!flow_node(t, end, line)) return false;
    } else if (t[pos] == '"' || t[pos] == '\'') {
      if (!quoted(t, pos, buffer_, end)) return false;
      scalar(buffer_, false, line);
    } else {
      if (is_indicator(t[pos]) &&
          !(t[pos] == '-' && pos + 1 < t.size() && t[pos + 1] >= '0' && t[pos + 1] <= '9'))
        return false;
      std::size_t stop = t.find(" #", pos);
      if (stop == std::string_view::npos) stop = t.size();
      std::string_view v = t.substr(pos, stop - pos);
      while (!v.empty() && v.back() == ' ')
        v.remove_suffix(1);
      if (v.find(": ") != std::string_view::npos || v.back() == ':') return false;
      scalar(v, true, line);
      end = t.size();
    }
    if (!rest_empty(t, end)) return false;
    next_ = li + 1;
    return next_ >= lines_.size() || lines_[next_].indent <= n;
  }

  static void skip_spaces(std::string_view t, std::size_t& pos) {
    while (pos < t.size() && t[pos] == ' ')
      ++pos;
  }

  // A flow node at t[pos], all on one line; `pos` moves past it.
  bool flow_node(std::string_view t, std::size_t& pos, int line) {
    skip_spaces(t, pos);
    if (pos >= t.size()) return false;
    const char c = t[pos];
    if (c == '[' || c == '{') {
      const bool map = c == '{';
      const char close_char = map ? '}' : ']';
      if (!open(map, line)) return false;
      ++pos;
      skip_spaces(t, pos);
      if (pos < t.size() && t[pos] == close_char) {
        ++pos;
        return close();
      }
      while (true) {
        if (map) {
          bool quoted_key = false;
          if (!flow_scalar(t, pos, line, true, quoted_key)) return false;
          if (pos + 1 >= t.size() || t[pos] != ':' || t[pos + 1] != ' ') return false;
          ++pos;
          skip_spaces(t, pos);
          if (pos >= t.size() || t[pos] == ',' || t[pos] == '}') return false;  // an empty value: libyaml's
        }
        if (!flow_node(t, pos, line)) return false;
        skip_spaces(t, pos);
        if (pos >= t.size()) return false;
        if (t[pos] == ',') {
          ++pos;
          skip_spaces(t, pos);
          if (pos >= t.size() || t[pos] == close_char) return false;  // a trailing comma: libyaml's
          continue;
        }
        if (t[pos] != close_char) return false;
        ++pos;
        return close();
      }
    }
    bool quoted_scalar = false;
    return flow_scalar(t, pos, line, false, quoted_scalar);
  }

  // A scalar inside a flow collection; as a key it stops before its ':'.
  bool flow_scalar(std::string_view t, std::size_t& pos, int line, bool as_key, bool& was_quoted) {
    skip_spaces(t, pos);
    if (pos >= t.size()) return false;
    if (t[pos] == '"' || t[pos] == '\'') {
      std::size_t end = 0;
      if (!quoted(t, pos, buffer_, end)) return false;
      scalar(buffer_, false, line);
      pos = end;
      was_quoted = true;
      return true;
    }
    if (is_indicator(t[pos]) &&
        !(t[pos] == '-' && pos + 1 < t.size() && t[pos + 1] >= '0' && t[pos + 1] <= '9'))
      return false;
    const std::size_t start = pos;
    while (pos < t.size()) {
      const char c = t[pos];
      if (c == ',' || c == '[' || c == ']' || c == '{' || c == '}' || c == '#') break;
      if (c == ':') {
        if (as_key && pos + 1 < t.size() && t[pos + 1] == ' ') break;
        return false;  // a colon inside a flow scalar: libyaml's
      }
      ++pos;
    }
    if (pos < t.size() && (t[pos] == '[' || t[pos] == '{' || t[pos] == '#')) return false;
    std::string_view v = t.substr(start, pos - start);
    while (!v.empty() && v.back() == ' ')
      v.remove_suffix(1);
    if (v.empty() || (as_key && is_null_text(v))) return false;
    scalar(v, true, line);
    was_quoted = false;
    return true;
  }

  std::string_view text_;
  int first_line_;
  int max_depth_;
  std::vector<Line> lines_;
  std::size_t next_ = 0;  // the first line not consumed
  int depth_ = 0;
  std::size_t nodes_ = 0;
  std::string buffer_;
  DocumentBuilder builder_;
};

}  // namespace

bool parse_yaml_fast(std::string_view text, int first_line, int max_depth, std::vector<Document>& out,
                     std::size_t& nodes) {
  FastYaml parser(text, first_line, max_depth);
  return parser.run(out, nodes);
}

}  // namespace clusterdns::discovery
