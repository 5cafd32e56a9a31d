// Label and field selectors for the test API server (apimachinery's labels.Parse, simplified).
#include <cctype>

#include "tests/k8s_api/api_store.hpp"

namespace clusterdns::k8s_api {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// Splits at commas outside parentheses.
std::vector<std::string> split_top(const std::string& text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!trim(cur).empty() || !out.empty()) out.push_back(trim(cur));
  return out;
}

const json* labels_of(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return nullptr;
  auto labels = meta->find("labels");
  return labels == meta->end() || !labels->is_object() ? nullptr : &*labels;
}

std::string meta_string(const json& object, const char* field) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto v = meta->find(field);
  return v != meta->end() && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace

std::optional<LabelSelector> LabelSelector::parse(const std::string& text) {
  LabelSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& term : split_top(text)) {
    if (term.empty()) return std::nullopt;
    Requirement r;
    std::size_t sp = term.find(' ');
    if (term[0] == '!') {
      r.key = trim(term.substr(1));
      r.op = Requirement::Op::NotExists;
    } else if (sp != std::string::npos && term.find('(') != std::string::npos) {
      r.key = term.substr(0, sp);
      std::string rest = trim(term.substr(sp));
      std::size_t open = rest.find('(');
      std::size_t close = rest.rfind(')');
      std::string op = trim(rest.substr(0, open));
      if ((op != "in" && op != "notin") || close == std::string::npos || close < open) return std::nullopt;
      r.op = op == "in" ? Requirement::Op::In : Requirement::Op::NotIn;
      for (const std::string& v : split_top(rest.substr(open + 1, close - open - 1)))
        r.values.push_back(v);
    } else if (std::size_t ne = term.find("!="); ne != std::string::npos) {
      r.key = trim(term.substr(0, ne));
      r.op = Requirement::Op::NotEquals;
      r.values.push_back(trim(term.substr(ne + 2)));
    } else if (std::size_t eq = term.find('='); eq != std::string::npos) {
      r.key = trim(term.substr(0, eq));
      r.op = Requirement::Op::Equals;
      std::size_t vstart = eq + 1 < term.size() && term[eq + 1] == '=' ? eq + 2 : eq + 1;
      r.values.push_back(trim(term.substr(vstart)));
    } else {
      r.key = term;
      r.op = Requirement::Op::Exists;
    }
    if (r.key.empty()) return std::nullopt;
    sel.requirements.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::matches(const json& object) const {
  if (requirements.empty()) return true;  // the usual list: no lookups per object
  const json* labels = labels_of(object);
  for (const Requirement& r : requirements) {
    bool has = labels != nullptr && labels->contains(r.key) && (*labels)[r.key].is_string();
    std::string value = has ? (*labels)[r.key].get<std::string>() : "";
    bool in = false;
    for (const std::string& v : r.values)
      in = in || (has && v == value);
    using Op = Requirement::Op;
    if (r.op == Op::Exists && !has) return false;
    if (r.op == Op::NotExists && has) return false;
    if ((r.op == Op::Equals || r.op == Op::In) && !in) return false;
    if ((r.op == Op::NotEquals || r.op == Op::NotIn) && in) return false;
  }
  return true;
}

std::optional<FieldSelector> FieldSelector::parse(const std::string& text, std::string& error) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  for (const std::string& term : split_top(text)) {
    std::size_t ne = term.find("!=");
    std::size_t eq = term.find('=');
    if (eq == std::string::npos) {
      error = "invalid field selector term '" + term + "'";
      return std::nullopt;
    }
    bool equal = ne == std::string::npos;
    std::string field = trim(term.substr(0, equal ? eq : ne));
    std::size_t vstart = equal ? (term.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1) : ne + 2;
    if (field != "metadata.name" && field != "metadata.namespace") {
      error = "field label not supported: " + field;
      return std::nullopt;
    }
    sel.terms.push_back({field, {equal, trim(term.substr(vstart))}});
  }
  return sel;
}

bool FieldSelector::matches(const json& object) const {
  for (const auto& [field, test] : terms) {
    std::string actual = meta_string(object, field == "metadata.name" ? "name" : "namespace");
    if ((actual == test.second) != test.first) return false;
  }
  return true;
}

}  // namespace clusterdns::k8s_api
