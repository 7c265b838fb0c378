// Invariants judged over an object's array member read in batches: the
// bounded-memory path of large artifacts (engine/stream.cpp). A batch is a
// document {"<member>": [a run of the member's elements]}, parsed alone; the
// skeleton is the artifact with that array empty, parsed last.
//
// This path only proves that invariants pass. `false` means "not proven": a
// violation, a limit reached, or a repeated hash; the caller then judges the
// whole document as before, for the exact report. So a streamed accept is the
// accept the whole document would get, and every reject is the whole
// document's reject.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string_view>

#include "invariants/invariant.hpp"

namespace invar::invariants {

// Where an invariant of a streamed check is judged.
enum class StreamRole {
  skeleton,  // it never looks into the member: judged on the skeleton alone
  member,    // judged batch by batch (Streamed)
  none,      // it looks across the member's elements in a way batches cannot follow
};

// `inv`'s role when `member` is read in batches and there is no baseline.
// `schema_splits`: for a schema on "$", whether the schema's root splits into a part
// for the skeleton and one for each element (Validator::split_member).
StreamRole stream_role(const Invariant& inv, std::string_view member, bool schema_splits);

class Streamed {
 public:
  virtual ~Streamed() = default;
  // One batch of `bytes` bytes; false as soon as passing is not proven.
  virtual bool batch(simdjson::dom::element root, uint64_t bytes) = 0;
  // Takes in what `other` (the same invariant's judge, fed other batches on
  // another thread) has seen; false when passing is not proven.
  virtual bool merge(Streamed& other) = 0;
  // After the last batch, with the skeleton; false when passing is not proven.
  virtual bool finish(simdjson::dom::element skeleton) = 0;
};

// Memory: each judge charges the check's budget (Limits::max_invariant_bytes)
// at least what the whole-document judge would, so that a check the whole
// document would refuse for its budget is never accepted here.
//
// The batch-by-batch judge of an invariant whose role is `member`. `split`:
// for a schema on "$", its parts. `workers`: how many
// judges of this invariant share the batches (state is sized for a share).
// `ctx` (and what it points to) must outlive the result.
std::unique_ptr<Streamed> streamed(const Invariant& inv, const EvalContext& ctx,
                                   const std::optional<schema::Validator::MemberSplit>& split, std::string_view member,
                                   unsigned workers = 1);

}  // namespace invar::invariants
