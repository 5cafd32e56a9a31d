// build/envinject: prints (or runs a command with) the service variables a new pod would get from the
// kubelet.
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <csignal>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "discovery/files/manifest_parser.hpp"
#include "discovery/objects/yaml_guard.hpp"
#include "discovery/source.hpp"
#include "envinject/json_input.hpp"
#include "envinject/pod_patch.hpp"
#include "envinject/service_env.hpp"
#include "envinject/yaml_json.hpp"
#include "ops/runtime/logging.hpp"

using namespace clusterdns;
using nlohmann::json;

namespace {

constexpr const char* kUsage = R"(usage: envinject --source SPEC [options] [-- COMMAND [ARG...]]

Prints the service environment variables the kubelet gives a new pod (NAME_SERVICE_HOST, NAME_SERVICE_PORT,
NAME_PORT_<port>_<PROTO>..., sorted by name), computed from the same registry the DNS server reads.

  --source SPEC         registry: file:PATH (a manifest file or directory), or any source the server takes
  --namespace NS        the pod's namespace (default: default; with --pod, used when the pod names none)
  --no-service-links    as spec.enableServiceLinks: false (only default/kubernetes)
  --format FMT          env (KEY=value, the default), shell (export KEY='value') or json ([{name,value}])
  --pod FILE            print FILE's Pod (YAML or JSON; - for stdin) as JSON with the variables added to
                        every container and initContainer; the pod's own env, metadata.namespace and
                        spec.enableServiceLinks are respected
  --patch               with --pod: print the RFC 6902 JSON Patch instead of the Pod
  --timeout SECONDS     wait this long for a non-file source to sync (default 30)
  -v, --verbose         log what was left out and why
  -h, --help            this text
  -- COMMAND [ARG...]   run COMMAND with the current environment plus the variables (a variable already
                        set in the environment is kept: the container's own env wins, as in the kubelet)

Exit status: 0 ok, 1 source or input problem, 2 bad flag; with -- COMMAND, the command's status (126/127
when it cannot be run).
)";

// --pod input: a Pod manifest is a few kB; these bounds keep a hostile file from exhausting the stack or RAM.
constexpr envinject::JsonLimits kPodLimits{16u << 20, 64};

struct Options {
  std::string source;
  std::optional<std::string> ns;
  bool no_links = false;
  std::optional<std::string> format;
  std::string pod_file;
  bool patch = false;
  int timeout_s = 30;
  bool verbose = false;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "envinject: %s (see --help)\n", message.c_str());
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      o.command.assign(argv + i + 1, argv + argc);
      if (o.command.empty()) usage_error("'--' must be followed by a command");
      break;
    }
    std::optional<std::string> inline_value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    auto no_value = [&] {
      if (inline_value) usage_error(arg + " takes no value");
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--source") {
      o.source = value();
    } else if (arg == "--namespace" || arg == "-n") {
      o.ns = value();
      if (o.ns->empty()) usage_error("--namespace must not be empty");
    } else if (arg == "--no-service-links") {
      no_value();
      o.no_links = true;
    } else if (arg == "--format") {
      o.format = value();
      if (*o.format != "env" && *o.format != "shell" && *o.format != "json")
        usage_error("--format must be env, shell or json, not '" + *o.format + "'");
    } else if (arg == "--pod") {
      o.pod_file = value();
    } else if (arg == "--patch") {
      no_value();
      o.patch = true;
    } else if (arg == "--timeout") {
      const std::string v = value();
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), o.timeout_s);
      if (ec != std::errc() || end != v.data() + v.size() || o.timeout_s < 1)
        usage_error("--timeout must be a positive number of seconds, not '" + v + "'");
    } else if (arg == "-v" || arg == "--verbose") {
      no_value();
      o.verbose = true;
    } else {
      usage_error("unknown flag '" + arg + "'");
    }
  }
  if (o.source.empty()) usage_error("--source is required");
  if (!o.pod_file.empty() && !o.command.empty()) usage_error("--pod and -- COMMAND cannot be combined");
  if (!o.pod_file.empty() && o.format) usage_error("--format does not apply to --pod (the output is JSON)");
  if (!o.pod_file.empty() && o.no_links)
    usage_error("--no-service-links does not apply to --pod (its spec.enableServiceLinks decides)");
  if (o.patch && o.pod_file.empty()) usage_error("--patch needs --pod");
  return o;
}

// The registry's services; exits 1 with the reason when the source cannot be read.
discovery::ObjectTable<discovery::Service> load_services(const Options& o) {
  auto log = spdlog::get("envinject");
  const std::string file_scheme = "file:";
  if (o.source.rfind(file_scheme, 0) == 0) {
    // One-shot parse (no watcher thread) so that the errors that reject the input can be shown.
    discovery::ParseResult parsed = discovery::parse_manifests(o.source.substr(file_scheme.size()));
    for (const auto& w : parsed.warnings)
      log->info("{}", w.to_string());
    if (!parsed.errors.empty()) {
      std::fprintf(stderr, "envinject: --source %s rejected: %s", o.source.c_str(),
                   parsed.errors.front().to_string().c_str());
      if (parsed.errors.size() > 1) std::fprintf(stderr, " (and %zu more)", parsed.errors.size() - 1);
      std::fputc('\n', stderr);
      std::exit(1);
    }
    return std::move(parsed.state.services);
  }
  std::string error;
  auto source = discovery::make_source(o.source, error);
  if (!source) {
    std::fprintf(stderr, "envinject: --source: %s\n", error.c_str());
    std::exit(1);
  }
  source->start([] {});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.timeout_s);
  while (!source->has_synced() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto state = source->state();
  source->stop();
  if (!state) {
    std::fprintf(stderr, "envinject: --source %s did not sync within %d s\n", source->name().c_str(),
                 o.timeout_s);
    std::exit(1);
  }
  return state->services;
}

void log_skipped(const std::vector<envinject::SkipNote>& skipped) {
  for (const auto& s : skipped)
    spdlog::get("envinject")->warn("service {}/{} left out: {}", s.ns, s.service, s.reason);
}

// POSIX shell word: bare when only safe characters, else single-quoted with ' as '\''.
std::string shell_quote(const std::string& v) {
  const bool safe = !v.empty() && v.find_first_not_of(
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789@%+=:,./_-") == std::string::npos;
  if (safe) return v;
  std::string out = "'";
  for (char c : v)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

json read_pod(const std::string& file) {
  std::stringstream text;
  if (file == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(file);
    if (!in) {
      std::fprintf(stderr, "envinject: --pod %s: %s\n", file.c_str(), std::strerror(errno));
      std::exit(1);
    }
    text << in.rdbuf();
  }
  const std::string s = text.str();
  json pod;
  try {
    if (auto first = s.find_first_not_of(" \t\r\n"); first != std::string::npos && s[first] == '{') {
      envinject::JsonInput input = envinject::parse_json_input(s, kPodLimits);
      if (!input.error.empty()) {
        std::fprintf(stderr, "envinject: --pod %s: %s\n", file.c_str(), input.error.c_str());
        std::exit(1);
      }
      return std::move(input.value);
    }
    // libyaml vets the text first: yaml-cpp loops on some malformed input, and yaml_to_json expands every
    // alias (a 1 KB "billion laughs" would take minutes and gigabytes).
    if (auto problem = discovery::check_yaml(s)) {
      std::string reason = problem->reason;
      if (reason.rfind("invalid YAML: ", 0) == 0) reason.erase(0, 14);
      std::fprintf(stderr, "envinject: --pod %s:%d: not YAML: %s\n", file.c_str(), problem->line,
                   reason.c_str());
      std::exit(1);
    }
    pod = envinject::yaml_to_json(YAML::Load(s));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "envinject: --pod %s: not YAML or JSON: %s\n", file.c_str(), e.what());
    std::exit(1);
  }
  // A tree converted from YAML: bounded and valid UTF-8 before it is copied or printed.
  if (const std::string why = envinject::check_json_tree(pod, kPodLimits.max_depth); !why.empty()) {
    std::fprintf(stderr, "envinject: --pod %s: %s\n", file.c_str(), why.c_str());
    std::exit(1);
  }
  return pod;
}

int run_command(const std::vector<std::string>& command, const std::vector<envinject::EnvVar>& vars) {
  for (const auto& v : vars)
    setenv(v.name.c_str(), v.value.c_str(), 0);  // 0: the environment's own value wins
  std::vector<char*> args;
  for (const auto& a : command)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  signal(SIGPIPE, SIG_DFL);  // a Kubernetes source ignored it; ignored dispositions survive exec
  execvp(args[0], args.data());
  const int err = errno;
  std::fprintf(stderr, "envinject: cannot run '%s': %s\n", command[0].c_str(), std::strerror(err));
  return err == ENOENT ? 127 : 126;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  auto log = spdlog::stderr_color_mt("envinject");
  log->set_formatter(ops::make_log_formatter("envinject: %l: %q"));  // names from the registry, escaped
  spdlog::set_level(o.verbose ? spdlog::level::info : spdlog::level::warn);
  if (!spdlog::get("discovery"))
    spdlog::stderr_color_mt("discovery")->set_formatter(ops::make_log_formatter("envinject: %l: [%n] %q"));

  const discovery::ObjectTable<discovery::Service> services = load_services(o);

  if (!o.pod_file.empty()) {
    const json pod = read_pod(o.pod_file);
    envinject::PodPatch r = envinject::build_pod_patch(pod, services, o.ns.value_or(""));
    if (!r.error.empty()) {
      std::fprintf(stderr, "envinject: --pod %s: %s\n", o.pod_file.c_str(), r.error.c_str());
      return 1;
    }
    log_skipped(r.skipped);
    log->info("added {} variables over all containers", r.added);
    std::cout << (o.patch ? r.patch : r.pod).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return std::cout.good() ? 0 : 1;
  }

  std::vector<envinject::SkipNote> skipped;
  const auto vars = envinject::service_env(o.ns.value_or("default"), !o.no_links, services, &skipped);
  log_skipped(skipped);
  if (!o.command.empty()) {
    std::fflush(stdout);
    return run_command(o.command, vars);
  }
  const std::string format = o.format.value_or("env");
  if (format == "json") {
    json out = json::array();
    for (const auto& v : vars)
      out.push_back({{"name", v.name}, {"value", v.value}});
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& v : vars) {
      if (format == "shell")
        std::cout << "export " << v.name << "=" << shell_quote(v.value) << "\n";
      else
        std::cout << v.name << "=" << v.value << "\n";
    }
  }
  return std::cout.good() ? 0 : 1;
}
