// What every RegistrySource keeps for its readers: the last good state and how many states it published
// (RegistrySource::state, generation and has_synced). Thread-safe.
#pragma once

#include "base/published.hpp"
#include "discovery/model.hpp"

namespace clusterdns::discovery {

class PublishedState : public base::Published<RegistryState> {
 public:
  std::shared_ptr<const RegistryState> state() const { return load(); }
  bool synced() const { return published(); }  // generation() is 1 after the first state
};

}  // namespace clusterdns::discovery
