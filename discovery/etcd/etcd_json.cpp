// etcd JSON gateway encoding: base64, int64-as-string, key ranges, endpoint URLs and watch stream lines.
#include "discovery/etcd/etcd_json.hpp"

#include <openssl/evp.h>

#include <charconv>

namespace clusterdns::discovery::etcd {

namespace {

constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcOutOfRange = 11;
constexpr int kGrpcDeadlineExceeded = 4;

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
  nlohmann::json msg = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) {
    throw EtcdError(EtcdError::Kind::Protocol, endpoint, "watch stream sent a line that is not JSON");
  }
  auto result = msg.find("result");
  if (result == msg.end() || !result->is_object()) detail::throw_gateway_error(msg, 200, endpoint);
  const nlohmann::json& r = *result;
  WatchResponse out;
  out.watch_id = detail::json_int(r, "watch_id", endpoint);
  if (auto h = r.find("header"); h != r.end() && h->is_object()) {
    out.revision = detail::json_int(*h, "revision", endpoint);
  }
  out.created = detail::json_bool(r, "created");
  out.canceled = detail::json_bool(r, "canceled");
  out.compact_revision = detail::json_int(r, "compact_revision", endpoint);
  if (auto c = r.find("cancel_reason"); c != r.end() && c->is_string())
    out.cancel_reason = c->get<std::string>();
  if (auto events = r.find("events"); events != r.end() && events->is_array()) {
    for (const nlohmann::json& e : *events) {
      WatchEvent ev;
      auto type = e.find("type");
      ev.is_delete = type != e.end() && type->is_string() && type->get<std::string>() == "DELETE";
      auto kv = e.find("kv");
      if (kv == e.end()) throw EtcdError(EtcdError::Kind::Protocol, endpoint, "watch event without kv");
      ev.kv = detail::decode_kv(*kv, endpoint);
      out.events.push_back(std::move(ev));
    }
  }
  return out;
}

}  // namespace clusterdns::discovery::etcd
