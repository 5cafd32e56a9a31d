// --source none: a registry that is synced at once and always empty (node-local mode, static zones only).
#pragma once

#include <memory>
#include <string>

#include "discovery/source.hpp"

namespace clusterdns::ops {

class EmptySource final : public discovery::RegistrySource {
 public:
  EmptySource() : state_(std::make_shared<const discovery::RegistryState>()) {}
  void start(Listener) override {}
  void stop() override {}
  bool has_synced() const override { return true; }
  std::shared_ptr<const discovery::RegistryState> state() const override { return state_; }
  uint64_t generation() const override { return 1; }
  std::string name() const override { return "none"; }

 private:
  std::shared_ptr<const discovery::RegistryState> state_;
};

}  // namespace clusterdns::ops
