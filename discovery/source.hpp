// The one interface every registry (manifest files, Kubernetes API, etcd) implements.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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
};

// Builds a source from a --source value ("file:PATH"; later "kubernetes", "kubeconfig:…", "etcd:…").
// Returns null and sets error to a one-line reason when the value is not understood.
std::unique_ptr<RegistrySource> make_source(const std::string& spec, std::string& error);

}  // namespace clusterdns::discovery
