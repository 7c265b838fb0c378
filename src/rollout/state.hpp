// A stream's rollout state as a decision reads it (the stream's rollout
// record and the location's freeze), and what it says about admitting or
// promoting an artifact now. Shared by the gate, rollout steps, vetoes and
// the followers of a stage.
#pragma once

#include <optional>
#include <string>

#include "invar/rollout.hpp"
#include "store/store.hpp"

namespace invar::rollout {

struct Now {
  // The versions read (a decision is written only if they hold); a gate
  // drops rollout_version (promotions do not refuse its writes).
  store::RolloutFence fence;
  std::string control;                // the control record as read
  std::optional<RolloutState> state;  // nullopt: the stream has no rollout record (one implicit stage)
  std::optional<Freeze> location;     // a freeze of every stream
};

// Reads both records (under the stream's lock, for a decision); an Error
// when either fails its checks.
Result<Now> read_now(store::Store& store, const std::string& stream);

// Why nothing may be admitted or promoted on the stream at `now_ms` (a
// halt, a freeze in force), or "" when it may.
std::string stopped(const Now& now, int64_t now_ms);

bool vetoed(const Now& now, const std::string& digest);

// The index of stage `name` (the last stage when `name` is empty), or an
// Error (ErrorCode::usage) naming the stages there are.
Result<size_t> stage_index(const RolloutState& state, const std::string& name);

}  // namespace invar::rollout
