// Accumulates manifest documents from one or more files into a ParseResult (internal to discovery/objects).
#pragma once

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "discovery/objects/parse.hpp"
#include "discovery/objects/yaml_fields.hpp"

namespace clusterdns::discovery::objects {

// The metadata every object kind we read shares.
struct ObjectMeta {
  std::string ns;  // "default" when absent; "" for cluster-scoped kinds
  std::string name;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  bool deleting = false;  // metadata.deletionTimestamp set
};

// Which Kubernetes name rule metadata.name must satisfy.
enum class NameRule { Dns1123Label, Dns1035Label, Dns1123Subdomain };

// Not thread-safe; one reader per parse.
class ManifestReader {
 public:
  // Reads every document of text; problems go to the result's errors, the rest into its state.
  void read_text(const std::string& text, const std::string& file);
  // Reads one parsed document (an object from the API or etcd, already decoded from JSON).
  void read_parsed(const Document& doc, const std::string& file);
  // Merges namespaces, drops legacy Endpoints shadowed by EndpointSlices, returns the result.
  ParseResult finish();
  // Instead of finish(): the objects as read, without building tables (parse_object_document).
  ParsedObjects take_objects();
  // Where an object was first defined: which of the texts read (in order) and the line.
  struct Position {
    uint32_t text = 0;
    int line = 0;
  };
  // "Service default/web" → its position, for every object claimed so far (also after finish).
  const std::unordered_map<std::string, Position>& positions() const { return seen_; }
  // True when a document could not be parsed as YAML at all (its objects are unknown, not absent).
  bool broken_yaml() const { return broken_yaml_; }

 private:
  void read_document(DocNode doc, Fields& f, bool in_list);
  static bool is_core_v1_kind(const std::string& kind);
  bool read_meta(DocNode doc, Fields& f, const std::string& kind, bool namespaced, NameRule rule,
                 ObjectMeta& out);
  // Reserves "Kind ns/name"; a second definition is an error naming the first one's position.
  bool claim(Fields& f, DocNode at, const std::string& key);

  // manifest_objects.cpp
  void read_service(DocNode doc, Fields& f, const ObjectMeta& m);
  void read_cluster_ips(DocNode doc, DocNode spec, Fields& f, Service& svc);
  void read_service_ports(DocNode spec, Fields& f, Service& svc);
  void read_endpoint_slice(DocNode doc, Fields& f, const ObjectMeta& m);
  void read_endpoints(DocNode doc, Fields& f, const ObjectMeta& m);
  void read_pod(DocNode doc, Fields& f, const ObjectMeta& m);
  void read_pod_status(DocNode doc, Fields& f, Pod& pod);

  ParseResult result_;
  std::string file_;
  std::set<std::string> namespaces_;
  std::unordered_map<std::string, Position> seen_;  // "Service default/web" -> its first definition
  std::vector<std::string> files_;                  // the files read, for Position::text
  std::vector<EndpointSet> legacy_sets_;            // from v1 Endpoints: kept only where no slice exists
  // The objects read, in file order, sorted into the result's tables once by finish().
  std::vector<Service> services_;
  std::vector<EndpointSet> endpoint_sets_;
  std::vector<Pod> pods_;
  bool broken_yaml_ = false;
};

}  // namespace clusterdns::discovery::objects
