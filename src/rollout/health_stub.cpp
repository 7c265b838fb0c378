// TEMPORARY (h-render): stands in for src/rollout/health.cpp until it is merged.
#include "invar/rollout.hpp"

namespace invar {

std::string_view to_string(HealthResult::State state) {
  switch (state) {
    case HealthResult::State::healthy: return "healthy";
    case HealthResult::State::unhealthy: return "unhealthy";
    case HealthResult::State::unknown: break;
  }
  return "unknown";
}

HealthResult evaluate_health(const HealthCheck& check, const HealthContext&) {
  return HealthResult{check.id, HealthResult::State::unknown, std::nullopt, "not evaluated (stub)"};
}

}  // namespace invar
