// What `invar suggest` learns of a series of artifacts: per field path
// (a JSONPath with [*] for array elements), how many nodes each artifact
// has there, what values they hold, whether they are unique within an
// artifact, how keys churn from one artifact to the next, and which fields
// always resolve into another field's keys.
//
// Bounded: at most max_fields paths, at most kMaxTrackedValues value hashes
// per artifact (past it a field stops being tracked for unique/refs/churn:
// `tracked` is false), enum values up to max_enum_values + 1 per field.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace invar::learn {

inline constexpr uint64_t kMaxTrackedValues = 4'000'000;

struct Field {
  std::string selector;    // "$.records[*].type"
  std::string array;       // its innermost "[*]" selector ("$.records[*]"), "" outside arrays
  int wildcards = 0;       // "[*]" in the selector
  std::vector<uint64_t> counts;  // nodes per sample (0 where absent)
  uint64_t strings = 0, integers = 0, numbers = 0, others = 0;  // numbers: non-integers
  bool timestamps = true;                 // every string is an RFC 3339 date-time (see is_timestamps)
  std::map<std::string, uint64_t> values; // distinct strings and their counts, while few
  bool many_values = false;               // more than max_enum_values distinct strings
  bool tracked = true;                    // its value hashes fit the budget
  bool unique = true;                     // no value twice within any one sample
  std::vector<std::string> singular;      // per sample: the value's text when exactly one (no wildcards)
  // Key churn between consecutive samples, as fractions of the earlier one's keys
  // (only for unique fields, and only where that one had at least 10 keys).
  std::vector<double> added, removed;

  // Working state of the current sample.
  std::vector<uint64_t> hashes;    // value identities, sorted at the sample's end
  std::vector<uint64_t> previous;  // the previous sample's (unique fields)
  bool has_previous = false;
};

// Strings, and every one an RFC 3339 date-time.
inline bool is_timestamps(const Field& f) { return f.strings > 0 && f.timestamps; }

// A reference candidate: every value of `from` is among the values of `to`
// (a unique field of another array) in every sample so far.
struct Ref {
  size_t from = 0, to = 0;
  bool holds = true;
};

class Profile {
 public:
  Profile(size_t max_fields, unsigned max_enum_values) : max_fields_(max_fields), max_enum_(max_enum_values) {}

  // Adds the next sample (oldest first).
  void add(simdjson::dom::element root, uint64_t bytes);

  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<Ref>& refs() const { return refs_; }
  const std::vector<uint64_t>& bytes() const { return bytes_; }
  size_t samples() const { return bytes_.size(); }
  bool truncated() const { return truncated_; }  // more paths than max_fields
  bool budget_spent() const { return budget_spent_; }

 private:
  void visit(simdjson::dom::element e, size_t field);
  size_t field(size_t parent, std::string_view step, bool element);
  void finish_sample();

  size_t max_fields_;
  unsigned max_enum_;
  std::vector<Field> fields_;
  // (parent field, step) -> field: children found without building paths
  std::map<std::pair<size_t, std::string>, size_t, std::less<>> children_;
  std::vector<Ref> refs_;
  bool refs_started_ = false;
  std::vector<uint64_t> bytes_;
  std::vector<size_t> touched_;  // fields seen in the current sample
  uint64_t tracked_values_ = 0;
  bool truncated_ = false;
  bool budget_spent_ = false;
};

// A selector step for an object member: ".name", or "['na me']".
std::string member_step(std::string_view name);

}  // namespace invar::learn
