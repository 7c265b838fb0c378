#include "invar/gate.hpp"
#include "invar/rollout.hpp"
namespace invar {
std::string_view to_string(HealthResult::State s) { return s == HealthResult::State::healthy ? "healthy" : s == HealthResult::State::unhealthy ? "unhealthy" : "unknown"; }
HealthResult evaluate_health(const HealthCheck& c, const HealthContext&) { return {c.id, HealthResult::State::unknown, std::nullopt, "stub"}; }
std::string render_rollout_human(const RolloutReport& r, int64_t) { std::string o; for (auto& a : r.actions) o += a + "\n"; for (auto& s : r.stages) o += s.name + " " + s.state + " " + s.detail + "\n"; return o + r.stopped + "\n"; }
std::string render_rollout_json(const RolloutReport&, int64_t) { return "{}\n"; }
}
