// etcd JSON gateway encoding: base64, int64-as-string, key ranges, endpoint URLs and watch stream lines.
#include "discovery/etcd/etcd_json.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery::etcd {

namespace {

constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcOutOfRange = 11;
constexpr int kGrpcDeadlineExceeded = 4;

namespace od = simdjson::ondemand;

EtcdError protocol(const std::string& endpoint, const std::string& what) {
  return EtcdError(EtcdError::Kind::Protocol, endpoint, what);
}

// json_int's rules on a simdjson value: absent or null 0, a number or a decimal string.
int64_t value_int(od::value v, const char* field, const std::string& endpoint) {
  od::json_type type;
  if (!v.type().get(type)) {
    int64_t n = 0;
    std::string_view s;
    if (type == od::json_type::null) return 0;
    if (type == od::json_type::number && !v.get_int64().get(n)) return n;
    if (type == od::json_type::string && !v.get_string().get(s)) {
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec == std::errc() && ptr == s.data() + s.size()) return n;
    }
  }
  throw protocol(endpoint, std::string("field ") + field + " is not an integer");
}

bool value_bool(od::value v) {
  bool b = false;
  return !v.get_bool().get(b) && b;
}

// A mvccpb.KeyValue: base64 key and value (the value decoded with room for simdjson's padding).
KeyValue value_kv(od::value v, const std::string& endpoint) {
  od::object kv;
  if (v.get_object().get(kv)) throw protocol(endpoint, "a kv is not an object");
  KeyValue out;
  for (auto field : kv) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value))
      throw protocol(endpoint, "a kv is not JSON");
    if (key == "key" || key == "value") {
      std::string_view text;
      std::optional<std::string> d;
      if (!value.get_string().get(text)) d = base64_decode(text);
      if (!d) throw protocol(endpoint, "kv." + std::string(key) + " is not base64");
      (key == "key" ? out.key : out.value) = std::move(*d);
    } else if (key == "mod_revision") {
      out.mod_revision = value_int(value, "mod_revision", endpoint);
    }
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the '=' padding as zero bytes of output: take them off (OpenSSL's
  // EVP_DecodeBlock(3)).
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && len > 0; --i)
    --len;
  out.resize(len);
  return out;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

std::optional<Endpoint> parse_endpoint(const std::string& url, std::string& error) {
  Endpoint ep;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = url.substr(8);
  } else {
    error = "etcd endpoint '" + url + "' must start with http:// or https://";
    return std::nullopt;
  }
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  std::size_t colon = rest.rfind(':');
  if (!rest.empty() && rest[0] == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      colon = std::string::npos;
    ep.host = close == std::string::npos ? "" : rest.substr(1, close - 1);
  } else if (colon != std::string::npos) {
    ep.host = rest.substr(0, colon);
  }
  int port = 0;
  if (colon != std::string::npos) {
    const char* first = rest.data() + colon + 1;
    const char* last = rest.data() + rest.size();
    auto [ptr, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || ptr != last) port = 0;
  }
  if (ep.host.empty() || port <= 0 || port > 65535 || ep.host.find('/') != std::string::npos) {
    error = "etcd endpoint '" + url + "' is not http(s)://HOST:PORT";
    return std::nullopt;
  }
  ep.port = port;
  ep.url = (ep.tls ? "https://" : "http://") + rest;
  return ep;
}

namespace detail {

int64_t json_int(const nlohmann::json& obj, const char* field, const std::string& endpoint) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  }
  throw EtcdError(EtcdError::Kind::Protocol, endpoint, std::string("field ") + field + " is not an integer");
}

bool json_bool(const nlohmann::json& obj, const char* field) {
  auto it = obj.find(field);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

KeyValue decode_kv(const nlohmann::json& kv, const std::string& endpoint) {
  KeyValue out;
  auto text = [&](const char* field) -> std::string {
    auto it = kv.find(field);
    if (it == kv.end()) return "";
    std::optional<std::string> d;
    if (it->is_string()) d = base64_decode(it->get_ref<const std::string&>());
    if (!d)
      throw EtcdError(EtcdError::Kind::Protocol, endpoint, std::string("kv.") + field + " is not base64");
    return *d;
  };
  if (!kv.is_object()) throw EtcdError(EtcdError::Kind::Protocol, endpoint, "a kv is not an object");
  out.key = text("key");
  out.value = text("value");
  out.mod_revision = json_int(kv, "mod_revision", endpoint);
  return out;
}

RangePage parse_range(const std::string& body, const std::string& endpoint) {
  JsonReader& reader = thread_json_reader();
  PaddedJson text(body);
  od::document doc;
  od::object root;
  if (!reader.iterate(text, doc).empty() || doc.get_object().get(root)) {
    throw protocol(endpoint, "answer to /v3/kv/range is not a JSON object");
  }
  RangePage page;
  JsonWalk walk;
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) break;
    od::object header;
    od::array kvs;
    if (key == "more") {
      page.more = value_bool(value);
    } else if (key == "header" && !value.get_object().get(header)) {
      for (auto h : header) {
        std::string_view k;
        od::value v;
        if (h.unescaped_key().get(k) || h.value().get(v)) break;
        if (k == "revision") page.revision = value_int(v, "revision", endpoint);
      }
    } else if (key == "kvs" && !value.get_array().get(kvs)) {
      for (auto item : kvs) {
        od::value kv;
        if (item.get(kv)) throw protocol(endpoint, "answer to /v3/kv/range is not JSON");
        page.kvs.push_back(value_kv(kv, endpoint));
      }
    } else if (!reader.skip(value, walk)) {
      break;
    }
  }
  std::string error = walk.error;
  if (error.empty()) error = JsonReader::trailing(doc);
  reader.release_if_large();
  if (!error.empty()) throw protocol(endpoint, "answer to /v3/kv/range: " + error);
  return page;
}

void throw_gateway_error(const nlohmann::json& body, int http_status, const std::string& endpoint) {
  // Unary: {"error":"…","message":"…","code":11}. Stream: {"error":{"grpc_code":14,"message":"…",…}}.
  const nlohmann::json* err = &body;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) err = &body["error"];
  int code = 0;
  std::string message = "HTTP " + std::to_string(http_status);
  if (err->is_object()) {
    for (const char* f : {"code", "grpc_code"}) {
      if (err->contains(f) && (*err)[f].is_number_integer()) code = (*err)[f].get<int>();
    }
    for (const char* f : {"error", "message"}) {
      if (err->contains(f) && (*err)[f].is_string()) message = (*err)[f].get<std::string>();
    }
  }
  EtcdError::Kind kind = EtcdError::Kind::Server;
  if (code == kGrpcOutOfRange) kind = EtcdError::Kind::Compacted;
  if (code == kGrpcUnavailable || code == kGrpcDeadlineExceeded || http_status >= 500) {
    kind = code == kGrpcOutOfRange ? kind : EtcdError::Kind::Unavailable;
  }
  throw EtcdError(kind, endpoint, message);
}

}  // namespace detail

WatchResponse parse_watch_line(std::string_view line, const std::string& endpoint) {
  JsonReader& reader = thread_json_reader();
  PaddedJson text(line);
  od::document doc;
  od::object root;
  if (!reader.iterate(text, doc).empty() || doc.get_object().get(root)) {
    throw protocol(endpoint, "watch stream sent a line that is not JSON");
  }
  WatchResponse out;
  bool has_result = false;
  JsonWalk walk;
  for (auto field : root) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      walk.error = "not JSON";
      break;
    }
    od::object r;
    if (key != "result" || value.get_object().get(r)) {
      if (!reader.skip(value, walk)) break;
      continue;
    }
    has_result = true;
    for (auto f : r) {
      std::string_view k;
      od::value v;
      if (f.unescaped_key().get(k) || f.value().get(v)) {
        walk.error = "not JSON";
        break;
      }
      od::object header;
      od::array events;
      std::string_view reason;
      if (k == "watch_id") {
        out.watch_id = value_int(v, "watch_id", endpoint);
      } else if (k == "header" && !v.get_object().get(header)) {
        for (auto h : header) {
          std::string_view hk;
          od::value hv;
          if (h.unescaped_key().get(hk) || h.value().get(hv)) break;
          if (hk == "revision") out.revision = value_int(hv, "revision", endpoint);
        }
      } else if (k == "created") {
        out.created = value_bool(v);
      } else if (k == "canceled") {
        out.canceled = value_bool(v);
      } else if (k == "compact_revision") {
        out.compact_revision = value_int(v, "compact_revision", endpoint);
      } else if (k == "cancel_reason" && !v.get_string().get(reason)) {
        out.cancel_reason = std::string(reason);
      } else if (k == "events" && !v.get_array().get(events)) {
        for (auto item : events) {
          od::object e;
          WatchEvent ev;
          bool has_kv = false;
          if (!item.get_object().get(e)) {
            for (auto ef : e) {
              std::string_view ek;
              od::value evalue;
              std::string_view type;
              if (ef.unescaped_key().get(ek) || ef.value().get(evalue)) break;
              if (ek == "type") {
                ev.is_delete = !evalue.get_string().get(type) && type == "DELETE";
              } else if (ek == "kv") {
                ev.kv = value_kv(evalue, endpoint);
                has_kv = true;
              }
            }
          }
          if (!has_kv) throw protocol(endpoint, "watch event without kv");
          out.events.push_back(std::move(ev));
        }
      }
    }
  }
  if (walk.ok()) walk.error = JsonReader::trailing(doc);
  if (!walk.ok()) throw protocol(endpoint, "watch stream sent a line that is not JSON");
  // {"error":{…}}: the small case, read with nlohmann to share throw_gateway_error.
  if (!has_result)
    detail::throw_gateway_error(nlohmann::json::parse(line.begin(), line.end(), nullptr, false), 200,
                                endpoint);
  return out;
}

}  // namespace clusterdns::discovery::etcd
