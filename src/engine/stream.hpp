// The bounded-memory path of large artifacts: check_file() reads one array
// member of the root in batches of whole elements (artifact/split.hpp),
// parses each batch alone with a reused parser, and judges the invariants
// batch by batch (invariants/streamed.hpp); the rest of the root (the
// skeleton) is parsed and judged last. Memory is the batch's parser and the
// invariants' own state (unique's and refs' hashes), not the file.
//
// It proves accepts only: whatever is not proven to pass (a violation, a
// warning, a limit, a repeated hash, bytes the split cannot follow, a strict
// reading problem) is judged again on the whole document, which writes the
// report. So both paths give the same report; the fuzz target fuzz_stream
// and tests/test_stream.cpp compare them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/plan.hpp"
#include "invariants/streamed.hpp"

namespace invar::engine {

struct StreamLayout {
  std::string member;  // the root's array member read in batches; "": the root (NDJSON's records)
  std::vector<invariants::StreamRole> roles;                      // per invariant: skeleton or member
  std::vector<std::optional<schema::Validator::MemberSplit>> splits;  // per invariant: a schema on "$", split
};

// The layout for `plan` reading `format`: the member most of its selectors go
// through (NDJSON: the records), when every invariant can be judged in
// batches of it; else null.
std::shared_ptr<const StreamLayout> layout_of(const Plan& plan, ArtifactFormat format);

// The report of the file at `path` read in batches, when the plan has a
// layout, the file is a regular file of at least Options::stream_min_bytes
// (and within max_bytes), there is no baseline, and every invariant passes.
// nullopt: judge the whole document instead.
std::optional<Report> check_streamed(const Plan& plan, const std::string& path, const CheckContext& context);

}  // namespace invar::engine
