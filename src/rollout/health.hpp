// Health checks of a rollout stage (docs/health.md): a Prometheus instant
// query judged against bounds, or a command's exit status. The pieces that
// decide are here apart from the I/O, for the tests.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "invar/rollout.hpp"

namespace invar::rollout {

// A Prometheus answer larger than this is unknown (not read further).
inline constexpr size_t kMaxPrometheusAnswer = size_t(1) << 20;
// The output of an exec check kept for its detail: the last bytes only.
inline constexpr size_t kExecOutputTail = 2048;

// `query` with "$stage" and "$stream" (not followed by a name character)
// replaced by the context's names; false when a name has a character other
// than [A-Za-z0-9._-] (it could break out of a PromQL string literal).
bool expand_query(std::string_view query, const HealthContext& context, std::string& out);

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s);

// Judges a Prometheus /api/v1/query answer (its HTTP status and body)
// against the check's bounds.
HealthResult judge_prometheus_answer(const HealthCheck& check, long http_status, std::string_view body);

HealthResult evaluate_prometheus(const HealthCheck& check, const HealthContext& context);
HealthResult evaluate_exec(const HealthCheck& check, const HealthContext& context);

// The last `capacity` bytes appended, in at most twice that memory.
class OutputTail {
 public:
  explicit OutputTail(size_t capacity = kExecOutputTail) : capacity_(capacity) {}
  void append(std::string_view bytes);
  bool truncated() const { return dropped_; }
  std::string text() const;  // the kept bytes
  std::string last_line() const;  // the last non-blank line of text()

 private:
  size_t capacity_;
  std::string buffer_;
  bool dropped_ = false;
};

}  // namespace invar::rollout
