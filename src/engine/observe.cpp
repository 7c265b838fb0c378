#include "engine/observe.hpp"

#include <cmath>

namespace invar::engine {

using invariants::Kind;

namespace {

// What a delta's limits allow: value bounds around the baseline, and, for
// percentages, bounds on value / baseline (the same at every baseline).
void delta_bounds(const invariants::Invariant& inv, Observation& o) {
  auto allowance = [](const text::Amount& a, double base) { return a.percent ? base * a.value : a.value; };
  if (inv.max_increase) {
    if (o.baseline) o.max = *o.baseline + allowance(*inv.max_increase, *o.baseline);
    if (inv.max_increase->percent) o.ratio_max = 1.0 + inv.max_increase->value;
  }
  if (inv.max_decrease) {
    if (o.baseline) o.min = *o.baseline - allowance(*inv.max_decrease, *o.baseline);
    if (inv.max_decrease->percent) o.ratio_min = 1.0 - inv.max_decrease->value;
  }
}

}  // namespace

std::vector<Observation> observe(const Plan& plan, simdjson::dom::element root, const invariants::Measures& measures,
                                 const invariants::Measures* baseline, int64_t now_ms) {
  std::vector<Observation> out;
  auto base_of = [&](const invariants::Invariant& inv) -> const invariants::Measure* {
    if (!baseline) return nullptr;
    auto it = baseline->find(inv.id);
    return it == baseline->end() || it->second.definition != inv.definition ? nullptr : &it->second;
  };
  for (const auto& inv : plan.invariants) {
    Observation o{inv.id, std::string(invariants::kind_name(inv.kind)), "", 0, std::nullopt};
    auto measured = measures.find(inv.id);
    const invariants::Measure* m = measured == measures.end() ? nullptr : &measured->second;
    switch (inv.kind) {
      case Kind::count: {
        if (inv.each) continue;
        selector::Path path;
        o.measure = "count";
        o.value = static_cast<double>(inv.target.count(root, path));
        if (inv.min) o.min = static_cast<double>(*inv.min);
        if (inv.effective_max) o.max = static_cast<double>(*inv.effective_max);
        break;
      }
      case Kind::delta:
        if (!m) continue;
        o.measure = inv.measure == invariants::DeltaMeasure::bytes ? "bytes"
                    : inv.measure == invariants::DeltaMeasure::sum ? "sum"
                                                                   : "count";
        o.value = m->number;
        if (auto b = base_of(inv)) o.baseline = b->number;
        delta_bounds(inv, o);
        break;
      case Kind::churn:
        if (!m) continue;
        o.measure = "keys";
        o.value = static_cast<double>(m->keys.size());
        if (auto b = base_of(inv)) o.baseline = static_cast<double>(b->keys.size());
        break;
      case Kind::monotonic: {
        if (!m || !m->present) continue;
        char* end = nullptr;
        double v = std::strtod(m->value_text.c_str(), &end);
        if (end == m->value_text.c_str() || *end != '\0' || !std::isfinite(v)) continue;  // a timestamp
        o.measure = "value";
        o.value = v;
        break;
      }
      case Kind::freshness: {
        if (inv.each) continue;
        selector::Path path;
        std::optional<int64_t> ts;
        uint64_t n = 0;
        inv.target.select(root, path, [&](simdjson::dom::element e, const selector::Path&) {
          if (++n == 1) ts = invariants::timestamp_ms(e);
        });
        if (n != 1 || !ts) continue;
        o.measure = "age_seconds";
        o.value = static_cast<double>(now_ms - *ts) / 1000.0;
        if (inv.max_age_ms > 0) o.max = static_cast<double>(inv.max_age_ms) / 1000.0;
        break;
      }
      default: continue;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace invar::engine
