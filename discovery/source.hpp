// The one interface every registry (manifest files, Kubernetes API, etcd) implements.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/model.hpp"

namespace clusterdns::discovery {

class RegistrySource {
 public:
  // Called on the source's own thread after each new state is published. Must be cheap (mark dirty, notify).
  using Listener = std::function<void()>;

  virtual ~RegistrySource() = default;
  // Starts watching; the first state may be published before start returns. Call once.
  virtual void start(Listener on_change) = 0;
  // Stops watching and joins the source's threads. Idempotent.
  virtual void stop() = 0;
  // True once a complete state has been published at least once.
  virtual bool has_synced() const = 0;
  // The last good state (never a half-applied one); null before the first sync. Thread-safe.
  virtual std::shared_ptr<const RegistryState> state() const = 0;
  // Increments with every published state. Thread-safe.
  virtual uint64_t generation() const = 0;
  // For logs and /ready: "file:examples/", "etcd:http://…".
  virtual std::string name() const = 0;

  // For /metrics: how often the source had to start over. Thread-safe.
  struct Restarts {
    uint64_t watches = 0;  // watch streams started (a new one after every failure, timeout or compaction)
    uint64_t relists = 0;  // complete re-reads after the first (410 Gone, compaction, a re-sync)
  };
  virtual Restarts restarts() const { return {}; }

  // For /metrics and operators: whether what the source serves is what its input says. Thread-safe.
  struct Health {
    uint64_t rejected = 0;             // inputs (objects, files, events) refused so far
    int64_t last_applied_unix_ms = 0;  // when the served state last took in a change (0: never)
    bool stale = false;  // the newest input is refused, or a watch is down: an older state is served
    // A watch heard nothing (no event, no bookmark or progress notification) for longer than its idle
    // timeout, or could not be re-established since: the served state may be arbitrarily old. /ready fails.
    bool silent = false;
  };
  virtual Health health() const { return {}; }
};

// What the consumer needs from a source beyond its spec. File and etcd registries always carry pods and
// every namespace (they are small); the Kubernetes API is where watching less matters.
struct SourceOptions {
  bool pods = false;                    // watch Pods (--pods verified, --autopath)
  std::vector<std::string> namespaces;  // only these namespaces (empty = all); Kubernetes only
  std::string label_selector;           // only services matching it ("" = all); Kubernetes only
  // Watch ServiceImports (--clusterset-zone); Kubernetes only, where they are a custom resource a cluster
  // may not have. Files and etcd read them always.
  bool service_imports = false;
};

// Network sources call this when they start: OpenSSL writes (a close_notify to a peer that hung up) raise
// SIGPIPE, whose default action ends the process. Leaves a disposition the program chose alone.
void ignore_sigpipe_unless_handled();

// Builds a source from a --source value: "file:PATH", "etcd:URL[,…]", "kubernetes", "kubeconfig:PATH[#ctx]".
// Returns null and sets error to a one-line reason when the value is not understood.
std::unique_ptr<RegistrySource> make_source(const std::string& spec, std::string& error,
                                            const SourceOptions& options = {});

}  // namespace clusterdns::discovery
