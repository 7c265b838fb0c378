// Shared by the invariant evaluators: a bounded violation collector and the
// short rendering of values in messages.
#pragma once

#include <simdjson.h>

#include <string>
#include <vector>

#include "invariants/invariant.hpp"

namespace invar::invariants {

// Collects violations for one invariant, keeping at most `cap` of them.
class Sink {
 public:
  Sink(const Invariant& inv, std::vector<Violation>& out, uint64_t cap) : inv_(inv), out_(out), cap_(cap) {}

  bool full() const { return kept_ >= cap_; }
  uint64_t total() const { return total_; }

  Violation* add(std::string pointer, std::string message, std::string expected = {}, std::string actual = {}) {
    ++total_;
    if (full()) return nullptr;
    ++kept_;
    Violation v;
    v.invariant = inv_.id;
    v.kind = std::string(kind_name(inv_.kind));
    v.family = std::string(family_of(inv_.kind));
    v.severity = inv_.severity;
    v.why = inv_.why;
    v.pointer = std::move(pointer);
    v.message = std::move(message);
    v.expected = std::move(expected);
    v.actual = std::move(actual);
    out_.push_back(std::move(v));
    return &out_.back();
  }

 private:
  const Invariant& inv_;
  std::vector<Violation>& out_;
  uint64_t cap_;
  uint64_t kept_ = 0, total_ = 0;
};

// A value for messages: quoted strings, other values as JSON cut at 80 chars.
std::string value_text(simdjson::dom::element e);

// The identity of a value for unique/refs/churn: strings by content, others
// by their minified JSON (so "1" and 1 differ, as they should).
std::string identity(simdjson::dom::element e);

}  // namespace invar::invariants
