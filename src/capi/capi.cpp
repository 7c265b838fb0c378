// The C ABI (include/invar/invar.h) over the C++ API. Every entry point
// catches everything: no exception crosses into C.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "invar/gate.hpp"
#include "invar/report.hpp"
#include "invar/sign.hpp"
#include "invar/invar.h"
#include "invar/invar.hpp"

struct invar_contract {
  invar::Contract contract;
};

struct invar_report {
  invar::Report report;
  std::optional<invar::Decision> decision;  // set for gate and guard decisions
  std::string stream;
  std::vector<invar_violation> views;       // C views of report.violations
};

struct invar_trusted_keys {
  invar::TrustedKeys keys;
};

struct invar_gate {
  invar::Gate gate;
};

struct invar_guard {
  invar::Guard guard;
  // Keeps invar_guard_current's pointer alive; guarded by `mutex` (updates
  // from several threads replace it).
  mutable std::mutex mutex;
  std::shared_ptr<const std::string> current;
  // What refreshes replaced: invar.h promises invar_guard_current's pointers
  // until the next update (or invar_guard_release_replaced, or free).
  std::vector<std::shared_ptr<const std::string>> replaced;
};

namespace {

thread_local std::string last_error;

invar_status fail(invar_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

invar_status ok() {
  last_error.clear();
  return INVAR_OK;
}

invar_status from(const invar::Error& e) {
  invar_status status = INVAR_E_CONTRACT;
  switch (e.code) {
    case invar::ErrorCode::io: status = INVAR_E_IO; break;
    case invar::ErrorCode::limit: status = INVAR_E_LIMIT; break;
    case invar::ErrorCode::state:
    case invar::ErrorCode::conflict: status = INVAR_E_STATE; break;
    case invar::ErrorCode::usage: status = INVAR_E_USAGE; break;
    case invar::ErrorCode::signature: status = INVAR_E_REFUSED; break;
    default: status = INVAR_E_CONTRACT; break;
  }
  return fail(status, e.to_string());
}

// Runs `body`, turning any exception into INVAR_E_INTERNAL.
template <class Body>
invar_status guarded(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(INVAR_E_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(INVAR_E_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(INVAR_E_INTERNAL, "internal error");
  }
}

// now_ms as a clock: 0 is the system clock; outside years 0001-9999 it is
// refused (INVAR_E_ARGUMENT) rather than wrapped.
bool clock_of(int64_t now_ms, std::optional<invar::Time>& out) {
  out.reset();
  if (now_ms == 0) return true;
  out = invar::Time::from_ms(now_ms);
  return out.has_value();
}

#define REQUIRE_CLOCK(now_ms, out, fn) \
  if (!clock_of(now_ms, out))          \
  return fail(INVAR_E_ARGUMENT, fn ": now_ms is outside the years 0001-9999")

// A trusted-keys file that is not JSON is malformed as any other (INVAR_E_USAGE), not a contract error.
invar::Error keys_error(invar::Error e) {
  if (e.code == invar::ErrorCode::syntax) e.code = invar::ErrorCode::usage;
  return e;
}

invar_report* make_report(invar::Report report, std::optional<invar::Decision> decision, std::string stream) {
  auto r = std::make_unique<invar_report>();
  r->report = std::move(report);
  r->decision = std::move(decision);
  r->stream = std::move(stream);
  for (const auto& v : r->report.violations) {
    r->views.push_back({v.invariant.c_str(), v.kind.c_str(), v.family.c_str(),
                        v.severity == invar::Severity::error ? "error" : "warn", v.message.c_str(), v.pointer.c_str(),
                        v.expected.c_str(), v.actual.c_str(), v.baseline.c_str(), v.why.c_str()});
  }
  return r.release();
}

char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) return nullptr;
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

#define REQUIRE_ARG(cond, what) \
  if (!(cond)) return fail(INVAR_E_ARGUMENT, what)

// invar_check and invar_check_trials (`trials`: run the contract's trials).
invar_status check_with(const std::string& fn, bool trials, const invar_contract* contract, const char* bytes,
                        size_t len, const char* baseline, size_t baseline_len, int64_t now_ms, invar_report** out) {
  return guarded([&] {
    REQUIRE_ARG(out, fn + ": out is NULL");
    *out = nullptr;
    REQUIRE_ARG(contract, fn + ": contract is NULL");
    REQUIRE_ARG(bytes || len == 0, fn + ": bytes is NULL");
    REQUIRE_ARG(baseline || baseline_len == 0, fn + ": baseline is NULL but baseline_len is not 0");
    invar::CheckContext ctx;
    if (!clock_of(now_ms, ctx.now)) return fail(INVAR_E_ARGUMENT, fn + ": now_ms is outside the years 0001-9999");
    std::optional<invar::Baseline> base;
    if (baseline) {
      auto b = invar::Baseline::measure(contract->contract, std::string_view(baseline, baseline_len), "<baseline>");
      if (!b) return from(b.error());
      base = std::move(b.value());
      ctx.baseline = &*base;
      if (trials) ctx.trial_baseline = std::string_view(baseline, baseline_len);
    }
    ctx.run_trials = trials;
    *out = make_report(contract->contract.check(std::string_view(bytes ? bytes : "", len), ctx), std::nullopt, "");
    return ok();
  });
}

// invar_gate_init and invar_gate_init_staged (`rollout_file` NULL: no stages).
invar_status init_stream(const std::string& fn, invar_gate* gate, const char* stream, const char* seed, size_t seed_len,
                         const char* reason, const char* by, const char* rollout_file, invar_report** out) {
  return guarded([&] {
    if (out) *out = nullptr;
    REQUIRE_ARG(gate, fn + ": gate is NULL");
    REQUIRE_ARG(stream, fn + ": stream is NULL");
    REQUIRE_ARG(seed || seed_len == 0, fn + ": seed is NULL but seed_len is not 0");
    invar::InitOptions options;
    if (seed) options.seed = std::string_view(seed, seed_len);
    options.reason = reason ? reason : "";
    options.by = by ? by : "";
    if (rollout_file) options.rollout_file = rollout_file;
    auto d = gate->gate.init(stream, options);
    if (!d) return from(d.error());
    if (out && d.value()) {
      invar::Report report = d.value()->report;
      *out = make_report(std::move(report), std::move(*d.value()), stream);
    }
    return ok();
  });
}

// One rollout command on `location`, its report as JSON in `json_out`.
template <class F>
invar_status rollout_command(const char* what, const char* location, const char* stream, int64_t now_ms,
                             char** json_out, F&& command) {
  return guarded([&] {
    if (json_out) *json_out = nullptr;
    REQUIRE_ARG(location, std::string(what) + ": location is NULL");
    REQUIRE_ARG(stream, std::string(what) + ": stream is NULL");
    std::optional<invar::Time> now;
    if (!clock_of(now_ms, now)) return fail(INVAR_E_ARGUMENT, std::string(what) + ": now_ms is outside the years 0001-9999");
    auto store = invar::StateStore::open(location);
    if (!store) return from(store.error());
    invar::Rollout::Options options;
    options.now = now;
    auto report = command(invar::Rollout(std::move(store.value())), options);
    if (!report) return from(report.error());
    if (json_out) *json_out = copy_string(invar::render_rollout_json(*report, now.value_or(invar::Time::now()).ms()));
    return ok();
  });
}

}  // namespace

extern "C" {

const char* invar_last_error(void) { return last_error.c_str(); }
const char* invar_version(void) { return "0.1.0"; }
void invar_string_free(char* s) { std::free(s); }

invar_status invar_contract_load(const char* path, invar_contract** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_contract_load: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(path, "invar_contract_load: path is NULL");
    auto c = invar::Contract::load_file(path);
    if (!c) return from(c.error());
    *out = new invar_contract{std::move(c.value())};
    return ok();
  });
}

invar_status invar_contract_load_string(const char* text, size_t len, const char* base_dir, invar_contract** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_contract_load_string: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(text || len == 0, "invar_contract_load_string: text is NULL");
    auto c = invar::Contract::load_string(std::string_view(text ? text : "", len), base_dir ? base_dir : ".",
                                          "<string>");
    if (!c) return from(c.error());
    *out = new invar_contract{std::move(c.value())};
    return ok();
  });
}

void invar_contract_free(invar_contract* contract) { delete contract; }

invar_status invar_check(const invar_contract* contract, const char* bytes, size_t len, const char* baseline,
                         size_t baseline_len, int64_t now_ms, invar_report** out) {
  return check_with("invar_check", false, contract, bytes, len, baseline, baseline_len, now_ms, out);
}

invar_status invar_check_trials(const invar_contract* contract, const char* bytes, size_t len, const char* baseline,
                                size_t baseline_len, int64_t now_ms, invar_report** out) {
  return check_with("invar_check_trials", true, contract, bytes, len, baseline, baseline_len, now_ms, out);
}

invar_status invar_gate_open(const invar_contract* contract, const char* state_dir, invar_gate** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_gate_open: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(contract, "invar_gate_open: contract is NULL");
    REQUIRE_ARG(state_dir, "invar_gate_open: state_dir is NULL");
    auto store = invar::StateStore::open(state_dir);
    if (!store) return from(store.error());
    *out = new invar_gate{invar::Gate(contract->contract, std::move(store.value()))};
    return ok();
  });
}

invar_status invar_gate_submit(invar_gate* gate, const char* stream, const char* bytes, size_t len, int64_t now_ms,
                               invar_report** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_gate_submit: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(gate, "invar_gate_submit: gate is NULL");
    REQUIRE_ARG(stream, "invar_gate_submit: stream is NULL");
    REQUIRE_ARG(bytes || len == 0, "invar_gate_submit: bytes is NULL");
    invar::SubmitOptions options;
    REQUIRE_CLOCK(now_ms, options.now, "invar_gate_submit");
    auto d = gate->gate.submit(stream, std::string_view(bytes ? bytes : "", len), options);
    if (!d) return from(d.error());
    invar::Report report = d->report;
    *out = make_report(std::move(report), std::move(d.value()), stream);
    return ok();
  });
}

invar_status invar_gate_init(invar_gate* gate, const char* stream, const char* seed, size_t seed_len,
                             const char* reason, const char* by, invar_report** out) {
  return init_stream("invar_gate_init", gate, stream, seed, seed_len, reason, by, nullptr, out);
}

invar_status invar_gate_init_staged(invar_gate* gate, const char* stream, const char* seed, size_t seed_len,
                                    const char* reason, const char* by, const char* rollout_file, invar_report** out) {
  if (!rollout_file) return fail(INVAR_E_ARGUMENT, "invar_gate_init_staged: rollout_file is NULL");
  return init_stream("invar_gate_init_staged", gate, stream, seed, seed_len, reason, by, rollout_file, out);
}

void invar_gate_free(invar_gate* gate) { delete gate; }

invar_status invar_rollout_step(const char* location, const char* stream, int64_t now_ms, char** json_out) {
  return rollout_command("invar_rollout_step", location, stream, now_ms, json_out,
                         [&](const invar::Rollout& r, invar::Rollout::Options& o) { return r.step(stream, o); });
}

invar_status invar_rollout_veto(const char* location, const char* stream, const char* digest, const char* reason,
                                const char* by, int64_t now_ms, char** json_out) {
  return rollout_command("invar_rollout_veto", location, stream, now_ms, json_out,
                         [&](const invar::Rollout& r, invar::Rollout::Options& o) -> invar::Result<invar::RolloutReport> {
                           if (!digest) return invar::Error{invar::ErrorCode::usage, "invar_rollout_veto: digest is NULL", {}};
                           o.reason = reason ? reason : "";
                           o.by = by ? by : "";
                           return r.veto(stream, digest, o);
                         });
}

invar_status invar_guard_new(const invar_contract* contract, const char* state_dir, const char* stream,
                             invar_guard** out) {
  return invar_guard_new_staged(contract, state_dir, stream, nullptr, out);
}

invar_status invar_guard_new_staged(const invar_contract* contract, const char* state_dir, const char* stream,
                                    const char* stage, invar_guard** out) {
  return invar_guard_new_verified(contract, state_dir, stream, stage, nullptr, out);
}

invar_status invar_guard_new_verified(const invar_contract* contract, const char* state_dir, const char* stream,
                                      const char* stage, const invar_trusted_keys* keys, invar_guard** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_guard_new: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(contract, "invar_guard_new: contract is NULL");
    REQUIRE_ARG((state_dir == nullptr) == (stream == nullptr),
                "invar_guard_new: give both state_dir and stream, or neither");
    REQUIRE_ARG(!keys || state_dir, "invar_guard_new_verified: trusted keys verify what a persistent guard follows: "
                                    "give state_dir and stream");
    if (!state_dir) {
      *out = new invar_guard{invar::Guard(contract->contract), {}, nullptr, {}};
      return ok();
    }
    auto store = invar::StateStore::open(state_dir);
    if (!store) return from(store.error());
    invar::GateOptions options;
    if (keys) options.trusted_keys = std::make_shared<const invar::TrustedKeys>(keys->keys);  // a copy: keys may be freed
    auto guard = invar::Guard::persistent(contract->contract, std::move(store.value()), stream, options,
                                          stage ? stage : "");
    if (!guard) return from(guard.error());
    auto current = guard->current();
    *out = new invar_guard{std::move(guard.value()), {}, std::move(current), {}};
    return ok();
  });
}

invar_status invar_guard_update(invar_guard* guard, const char* bytes, size_t len, int64_t now_ms,
                                invar_report** decision) {
  return guarded([&] {
    if (decision) *decision = nullptr;
    REQUIRE_ARG(guard, "invar_guard_update: guard is NULL");
    REQUIRE_ARG(bytes || len == 0, "invar_guard_update: bytes is NULL");
    std::optional<invar::Time> now;
    REQUIRE_CLOCK(now_ms, now, "invar_guard_update");
    auto u = guard->guard.update(std::string_view(bytes ? bytes : "", len), {}, now);
    {
      std::lock_guard<std::mutex> lock(guard->mutex);
      guard->current = u.artifact;
      guard->replaced.clear();
    }
    if (decision) {
      invar::Report report = u.decision.report;
      *decision = make_report(std::move(report), std::move(u.decision), "");
    }
    return ok();
  });
}

invar_status invar_guard_seed(invar_guard* guard, const char* bytes, size_t len, int64_t now_ms,
                              invar_report** decision) {
  return guarded([&] {
    if (decision) *decision = nullptr;
    REQUIRE_ARG(guard, "invar_guard_seed: guard is NULL");
    REQUIRE_ARG(bytes || len == 0, "invar_guard_seed: bytes is NULL");
    std::optional<invar::Time> now;
    REQUIRE_CLOCK(now_ms, now, "invar_guard_seed");
    auto d = guard->guard.seed(std::string_view(bytes ? bytes : "", len), now);
    if (!d) return from(d.error());
    if (d->action == invar::Action::accept) {
      std::lock_guard<std::mutex> lock(guard->mutex);
      guard->current = d->artifact;
    }
    if (decision) {
      invar::Report report = d->report;
      *decision = make_report(std::move(report), std::move(d.value()), "");
    }
    return ok();
  });
}

invar_status invar_guard_current(const invar_guard* guard, const char** bytes, size_t* len) {
  return guarded([&] {
    REQUIRE_ARG(bytes && len, "invar_guard_current: bytes or len is NULL");
    *bytes = nullptr;
    *len = 0;
    REQUIRE_ARG(guard, "invar_guard_current: guard is NULL");
    std::lock_guard<std::mutex> lock(guard->mutex);
    if (guard->current) {
      *bytes = guard->current->data();
      *len = guard->current->size();
    }
    return ok();
  });
}

invar_status invar_guard_refresh(invar_guard* guard, int* changed) {
  return guarded([&] {
    if (changed) *changed = 0;
    REQUIRE_ARG(guard, "invar_guard_refresh: guard is NULL");
    auto lkg = guard->guard.refresh();
    if (!lkg) return from(lkg.error());
    if (lkg.value()) {
      std::lock_guard<std::mutex> lock(guard->mutex);
      if (guard->current) guard->replaced.push_back(std::move(guard->current));
      guard->current = guard->guard.current();
      if (changed) *changed = 1;
    }
    return ok();
  });
}

invar_status invar_guard_release_replaced(invar_guard* guard) {
  return guarded([&] {
    REQUIRE_ARG(guard, "invar_guard_release_replaced: guard is NULL");
    std::lock_guard<std::mutex> lock(guard->mutex);
    guard->replaced.clear();
    return ok();
  });
}

void invar_guard_free(invar_guard* guard) { delete guard; }

invar_verdict invar_report_verdict(const invar_report* report) {
  if (!report) return INVAR_REJECT;
  if (report->decision) {
    switch (report->decision->action) {
      case invar::Action::accept: return INVAR_ACCEPT;
      case invar::Action::unchanged: return INVAR_UNCHANGED;
      case invar::Action::pin: return INVAR_PIN;
      case invar::Action::reject: return INVAR_REJECT;
    }
  }
  return report->report.verdict == invar::Verdict::accept ? INVAR_ACCEPT : INVAR_REJECT;
}

size_t invar_report_violation_count(const invar_report* report) { return report ? report->views.size() : 0; }

invar_status invar_report_violation(const invar_report* report, size_t index, invar_violation* out) {
  return guarded([&] {
    REQUIRE_ARG(report && out, "invar_report_violation: report or out is NULL");
    REQUIRE_ARG(index < report->views.size(), "invar_report_violation: index out of range");
    *out = report->views[index];
    return ok();
  });
}

invar_status invar_report_artifact(const invar_report* report, const char** bytes, size_t* len) {
  return guarded([&] {
    REQUIRE_ARG(bytes && len, "invar_report_artifact: bytes or len is NULL");
    *bytes = nullptr;
    *len = 0;
    REQUIRE_ARG(report, "invar_report_artifact: report is NULL");
    if (report->decision && report->decision->artifact) {
      *bytes = report->decision->artifact->data();
      *len = report->decision->artifact->size();
    }
    return ok();
  });
}

char* invar_report_json(const invar_report* report) {
  if (!report) return nullptr;
  try {
    if (report->decision) return copy_string(invar::render_decision_json(*report->decision, report->stream));
    return copy_string(invar::render_json({report->report}));
  } catch (...) {
    return nullptr;
  }
}

char* invar_report_render(const invar_report* report, const char* format) {
  if (!report || !format) {
    fail(INVAR_E_ARGUMENT, "invar_report_render: report or format is NULL");
    return nullptr;
  }
  try {
    const invar::ReportFormat* f = invar::find_report_format(format);
    if (!f) {
      fail(INVAR_E_ARGUMENT, std::string("invar_report_render: unknown format \"") + format + "\" (valid: " +
                                 invar::report_format_names() + ")");
      return nullptr;
    }
    ok();
    if (report->decision) return copy_string(invar::render_decision(*f, *report->decision, report->stream));
    return copy_string(f->render({report->report}, {}));
  } catch (...) {
    fail(INVAR_E_IO, "invar_report_render: out of memory");
    return nullptr;
  }
}

invar_status invar_report_violation_location(const invar_report* report, size_t index, uint64_t* line,
                                             uint64_t* column) {
  return guarded([&] {
    REQUIRE_ARG(line && column, "invar_report_violation_location: line or column is NULL");
    *line = *column = 0;
    REQUIRE_ARG(report, "invar_report_violation_location: report is NULL");
    REQUIRE_ARG(index < report->report.violations.size(), "invar_report_violation_location: index out of range");
    *line = report->report.violations[index].line;
    *column = report->report.violations[index].column;
    return ok();
  });
}

char* invar_report_text(const invar_report* report) {
  if (!report) return nullptr;
  try {
    if (report->decision) return copy_string(invar::render_decision_human(*report->decision));
    return copy_string(invar::render_human(report->report));
  } catch (...) {
    return nullptr;
  }
}

void invar_report_free(invar_report* report) { delete report; }

invar_status invar_trusted_keys_load(const char* path, invar_trusted_keys** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_trusted_keys_load: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(path, "invar_trusted_keys_load: path is NULL");
    auto keys = invar::TrustedKeys::load_file(path);
    if (!keys) return from(keys_error(keys.error()));
    *out = new invar_trusted_keys{std::move(keys.value())};
    return ok();
  });
}

invar_status invar_trusted_keys_load_string(const char* text, size_t len, invar_trusted_keys** out) {
  return guarded([&] {
    REQUIRE_ARG(out, "invar_trusted_keys_load_string: out is NULL");
    *out = nullptr;
    REQUIRE_ARG(text || len == 0, "invar_trusted_keys_load_string: text is NULL");
    auto keys = invar::TrustedKeys::load_string(std::string_view(text ? text : "", len));
    if (!keys) return from(keys_error(keys.error()));
    *out = new invar_trusted_keys{std::move(keys.value())};
    return ok();
  });
}

void invar_trusted_keys_free(invar_trusted_keys* keys) { delete keys; }

invar_status invar_verify_attestation(const invar_trusted_keys* keys, const char* envelopes, size_t envelopes_len,
                                      const char* bytes, size_t len, const char* stream, const char* stage,
                                      uint64_t min_sequence, int64_t now_ms, char** verified_json) {
  return guarded([&] {
    if (verified_json) *verified_json = nullptr;
    REQUIRE_ARG(keys, "invar_verify_attestation: keys is NULL");
    REQUIRE_ARG(envelopes || envelopes_len == 0, "invar_verify_attestation: envelopes is NULL");
    REQUIRE_ARG(bytes || len == 0, "invar_verify_attestation: bytes is NULL");
    invar::VerifyExpectations expect;
    REQUIRE_CLOCK(now_ms, expect.now, "invar_verify_attestation");
    if (stream) expect.stream = stream;
    if (stage) expect.stage = stage;
    expect.min_sequence = min_sequence;
    auto verified = invar::verify_envelopes(std::string_view(envelopes ? envelopes : "", envelopes_len),
                                            std::string_view(bytes ? bytes : "", len), keys->keys, expect);
    if (!verified) return from(verified.error());
    if (verified_json) {
      *verified_json = copy_string(invar::verified_json(*verified));
      if (!*verified_json) return fail(INVAR_E_INTERNAL, "out of memory");
    }
    return ok();
  });
}

}  // extern "C"
