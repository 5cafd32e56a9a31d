// build/clusterdnsctl: apply, delete and list Kubernetes objects in etcd, laid out as kube-apiserver stores
// them.
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "cmd/clusterdnsctl/commands.hpp"

using namespace clusterdns;
using discovery::etcd::Resource;

namespace {

constexpr int kUsageError = 2;

const char* const kUsage =
    R"(clusterdnsctl: write and list the registry clusterdns reads with --source etcd:URL

Usage:
  clusterdnsctl --etcd URL[,URL...] [options] apply -f FILE|DIR [-f ...]
  clusterdnsctl --etcd URL[,URL...] [options] delete -f FILE|DIR [-f ...]
  clusterdnsctl --etcd URL[,URL...] [options] delete KIND [NAMESPACE/]NAME [-n NAMESPACE]
  clusterdnsctl --etcd URL[,URL...] [options] get [services|endpointslices|pods|namespaces|serviceimports]
                [-n NAMESPACE]

Objects are stored as JSON where kube-apiserver keeps them: PREFIX services/specs/<ns>/<name>,
endpointslices/<ns>/<name>, pods/<ns>/<name>, namespaces/<name>, and the ServiceImport custom resource
(multicluster.x-k8s.io/v1alpha1, --clusterset-zone) at multicluster.x-k8s.io/serviceimports/<ns>/<name>.
`apply` validates the manifests with the same parser as --source file: (nothing is written when one is
broken), stores every Service, EndpointSlice, Pod, Namespace and ServiceImport (`kind: List` included;
other kinds are skipped), and creates a Namespace object for each namespace the objects name.
KIND: service|svc, endpointslice, pod|po, namespace|ns, serviceimport|svcim. `get` shows what clusterdns
sees (values it would ignore are reported on stderr).

Options:
  --etcd URL[,URL...]   etcd client URLs, http:// or https:// (tried in turn; also $CLUSTERDNSCTL_ETCD)
  --prefix PREFIX       key prefix, as kube-apiserver --etcd-prefix (default /registry/)
  --cacert FILE         CA bundle to verify https:// endpoints (default: the system's)
  --cert FILE --key FILE  client certificate and key (etcd --client-cert-auth)
  --timeout SECONDS     connect and request timeout (default 5)
  -n, --namespace NS    namespace for delete KIND NAME (default "default") and filter for get
  -h, --help            this text

Exit status: 0 done; 1 etcd error (the message names the endpoint) or a manifest problem or an object
not found; 2 usage error.
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "clusterdnsctl: %s\nRun 'clusterdnsctl --help' for usage.\n", message.c_str());
  return kUsageError;
}

struct Args {
  std::string etcd, prefix = "/registry/", cacert, cert, key, ns;
  int timeout_s = 5;
  std::vector<std::string> files;
  std::vector<std::string> words;  // command and its operands
  bool help = false;
};

// Returns "" or the usage problem.
std::string parse_args(int argc, char** argv, Args& a) {
  if (const char* env = std::getenv("CLUSTERDNSCTL_ETCD")) a.etcd = env;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    std::size_t eq = arg.find('=');
    bool inline_value = arg.rfind("--", 0) == 0 && eq != std::string::npos;
    if (inline_value) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    auto take = [&](std::string& into) -> bool {
      if (inline_value) {
        into = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      into = argv[++i];
      return true;
    };
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg == "--etcd" || arg == "--endpoints") {
      if (!take(a.etcd)) return arg + " needs a value";
    } else if (arg == "--prefix") {
      if (!take(a.prefix) || a.prefix.empty() || a.prefix[0] != '/')
        return "--prefix needs a value starting with /";
    } else if (arg == "--cacert") {
      if (!take(a.cacert)) return "--cacert needs a file";
    } else if (arg == "--cert") {
      if (!take(a.cert)) return "--cert needs a file";
    } else if (arg == "--key") {
      if (!take(a.key)) return "--key needs a file";
    } else if (arg == "-n" || arg == "--namespace") {
      if (!take(a.ns) || a.ns.empty()) return arg + " needs a namespace";
    } else if (arg == "-f" || arg == "--filename") {
      std::string f;
      if (!take(f) || f.empty()) return arg + " needs a file or directory";
      a.files.push_back(f);
    } else if (arg == "--timeout") {
      std::string t;
      if (!take(t)) return "--timeout needs seconds";
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), a.timeout_s);
      if (ec != std::errc() || ptr != t.data() + t.size() || a.timeout_s <= 0)
        return "--timeout needs seconds";
    } else if (arg.size() > 1 && arg[0] == '-') {
      return "unknown option " + arg;
    } else {
      a.words.push_back(arg);
    }
  }
  return "";
}

std::vector<std::string> split_urls(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // an etcd member hanging up mid-request is an error message, not a silent exit
  Args a;
  if (std::string problem = parse_args(argc, argv, a); !problem.empty()) return usage_error(problem);
  if (a.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (a.words.empty()) return usage_error("no command (apply, delete or get)");
  const std::string cmd = a.words[0];
  if (cmd != "apply" && cmd != "delete" && cmd != "get") return usage_error("unknown command '" + cmd + "'");
  if (a.etcd.empty()) return usage_error("--etcd URL is required");
  if (a.cert.empty() != a.key.empty()) return usage_error("--cert and --key go together");

  // Operands, checked before any connection is made.
  std::vector<Resource> kinds;
  Resource kind = Resource::Service;
  std::string ns = a.ns.empty() ? "default" : a.ns, name;
  if (cmd == "apply" || (cmd == "delete" && !a.files.empty())) {
    if (a.files.empty()) return usage_error("apply needs -f FILE|DIR");
    if (a.words.size() > 1) return usage_error(cmd + " -f takes no other operand: '" + a.words[1] + "'");
  } else if (cmd == "delete") {
    if (a.words.size() != 3) return usage_error("delete needs -f FILE, or KIND [NAMESPACE/]NAME");
    std::optional<Resource> r = ctl::parse_resource(a.words[1]);
    if (!r) return usage_error("unknown kind '" + a.words[1] + "'");
    kind = *r;
    name = a.words[2];
    std::size_t slash = name.find('/');
    if (slash != std::string::npos) {
      if (!a.ns.empty() && a.ns != name.substr(0, slash)) return usage_error("-n disagrees with " + name);
      ns = name.substr(0, slash);
      name = name.substr(slash + 1);
    }
    if (kind == Resource::Namespace) ns = "";
    if (name.empty() || name.find('/') != std::string::npos)
      return usage_error("bad name '" + a.words[2] + "'");
  } else {
    if (!a.files.empty()) return usage_error("get takes no -f");
    for (std::size_t i = 1; i < a.words.size(); ++i) {
      std::optional<Resource> r = ctl::parse_resource(a.words[i]);
      if (!r) return usage_error("unknown kind '" + a.words[i] + "'");
      kinds.push_back(*r);
    }
    if (kinds.empty()) kinds.assign(discovery::etcd::kResources.begin(), discovery::etcd::kResources.end());
  }

  discovery::etcd::ClientOptions options;
  options.endpoints = split_urls(a.etcd);
  options.tls = {a.cacert, a.cert, a.key};
  options.connect_timeout = std::chrono::seconds(a.timeout_s);
  options.request_timeout = std::chrono::seconds(a.timeout_s);
  try {
    discovery::etcd::Client client(options);
    ctl::Context ctx{client, discovery::etcd::Layout(a.prefix)};
    if (cmd == "apply") return ctl::apply(ctx, a.files);
    if (cmd == "delete" && !a.files.empty()) return ctl::delete_manifests(ctx, a.files);
    if (cmd == "delete") return ctl::delete_object(ctx, kind, ns, name);
    return ctl::get(ctx, kinds, a.ns);
  } catch (const std::invalid_argument& e) {
    return usage_error(std::string("--etcd: ") + e.what());
  } catch (const discovery::etcd::EtcdError& e) {
    // One endpoint: "etcd URL: what"; several: "no etcd endpoint answered: URL: what; URL: what".
    std::fprintf(stderr, "clusterdnsctl: %s%s\n", e.endpoint().empty() ? "" : "etcd ", e.what());
    return 1;
  }
}
