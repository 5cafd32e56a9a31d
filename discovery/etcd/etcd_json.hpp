// The JSON gateway's encoding rules shared by the etcd client files (internal to discovery/etcd). Ranges and
// watch lines (the bulk) are read with simdjson; the small answers of the other calls with nlohmann.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "discovery/etcd/etcd_client.hpp"

namespace clusterdns::discovery::etcd::detail {

// int64 fields come as JSON strings ("revision":"12"); proto3 leaves out zero values, so absent = 0.
// Throws EtcdError Protocol when the field is neither a number nor a decimal string.
int64_t json_int(const nlohmann::json& obj, const char* field, const std::string& endpoint);
bool json_bool(const nlohmann::json& obj, const char* field);
// A mvccpb.KeyValue: base64 key and value.
KeyValue decode_kv(const nlohmann::json& kv, const std::string& endpoint);
// One /v3/kv/range answer (a 200 body), read with simdjson; Protocol when it is not the gateway's JSON.
RangePage parse_range(const std::string& body, const std::string& endpoint);
// Throws the EtcdError an {"error":…,"code":N} body (unary) or {"error":{…}} line (stream) describes.
[[noreturn]] void throw_gateway_error(const nlohmann::json& body, int http_status,
                                      const std::string& endpoint);

}  // namespace clusterdns::discovery::etcd::detail
