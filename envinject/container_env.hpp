// A container's final environment: its own variables over the service variables, with the kubelet's $(VAR)
// expansion (kubelet_pods.go makeEnvironmentVariables, third_party/forked/golang/expansion).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "envinject/service_env.hpp"

namespace clusterdns::envinject {

// Returns the value of a variable, or null when it is unknown.
using EnvLookup = std::function<const std::string*(const std::string& name)>;

// expansion.Expand byte for byte: "$(NAME)" becomes lookup(NAME), or stays "$(NAME)" when unknown; "$$"
// becomes
// "$"; any other "$" and an unterminated "$(" stay literal; a "$" before an invalid UTF-8 byte emits U+FFFD
// for that byte (Go's utf8.DecodeRuneInString). No nesting, no recursion into looked-up values. Pure.
std::string expand(std::string_view input, const EnvLookup& lookup);

// The environment the kubelet starts a container with, from the container's own `env` entries that carry a
// literal `value` (in declaration order; valueFrom entries are resolved by the kubelet and are out of scope)
// and the pod's service variables (service_env). Each own value is expanded against the container's earlier
// variables first, then the service variables; an own variable replaces a service variable of the same name;
// a repeated own name keeps its last value. Sorted by name, names unique. Pure.
std::vector<EnvVar> container_env(const std::vector<EnvVar>& own, const std::vector<EnvVar>& service_vars);

}  // namespace clusterdns::envinject
