#include "rollout/state.hpp"

#include <algorithm>

#include "common/text.hpp"
#include "store/records.hpp"

namespace invar::rollout {

Result<Now> read_now(store::Store& store, const std::string& stream) {
  Now out;
  auto record = store.rollout_record(stream);
  if (!record) return record.error();
  out.fence.rollout_version = record->version;
  if (!record->text.empty()) {
    auto state = store::decode_rollout(record->text, stream + "/rollout");
    if (!state) return state.error();
    if (state->stream != stream)
      return store::state_error(stream + "/rollout", "the rollout record names another stream; invar will not use it");
    out.state = std::move(state.value());
  }
  auto control = store.control_record(stream);
  if (!control) return control.error();
  out.fence.control_version = control->version;
  out.control = control->text;
  auto freeze = store.freeze_record();
  if (!freeze) return freeze.error();
  out.fence.freeze_version = freeze->version;
  if (!freeze->text.empty()) {
    auto f = store::decode_freeze(freeze->text, "freeze");
    if (!f) return f.error();
    out.location = std::move(f.value());
  }
  return out;
}

std::string stopped(const Now& now, int64_t now_ms) {
  auto frozen = [&](const Freeze& f, const char* what) {
    return std::string(what) + " by " + f.by + " since " + text::format_rfc3339(f.at_ms) +
           (f.expires_ms ? " until " + text::format_rfc3339(f.expires_ms) : "") + ": " + f.reason;
  };
  if (now.location && now.location->active(now_ms)) return frozen(*now.location, "every stream is frozen");
  if (!now.state) return "";
  if (now.state->frozen && now.state->frozen->active(now_ms)) return frozen(*now.state->frozen, "the stream is frozen");
  if (const auto& h = now.state->halted)
    return "the stream is halted since " + text::format_rfc3339(h->at_ms) + " (" + h->by + " reverted " +
           h->digest.substr(0, 19) + ": " + h->reason + "); `invar resume` lifts it";
  return "";
}

bool vetoed(const Now& now, const std::string& digest) {
  if (!now.state) return false;
  const auto& v = now.state->vetoed;
  return std::find(v.begin(), v.end(), digest) != v.end();
}

Result<size_t> stage_index(const RolloutState& state, const std::string& name) {
  if (state.stages.empty()) return Error{ErrorCode::usage, "the stream has no stages (no rollout)", {}};
  if (name.empty()) return state.stages.size() - 1;
  std::string names;
  for (size_t i = 0; i < state.stages.size(); ++i) {
    if (state.stages[i].name == name) return i;
    names += (i ? ", " : "") + state.stages[i].name;
  }
  return Error{ErrorCode::usage, "the stream has no stage " + text::quoted(name) + " (its stages: " + names + ")", {}};
}

}  // namespace invar::rollout
