// RFC 9535 filter expressions ("[?@.weight > 0]"), compiled once into a
// small postfix program and evaluated with an explicit stack (no recursion
// over the expression; nested filters recurse once per nesting level, at
// most kMaxFilterNesting).
//
//   @.a, $.a               existence test (the query selects something)
//   ==  !=  <  <=  >  >=   comparisons of singular queries, literals and
//                          length()/count()/value(), as RFC 9535 section 2.3.5.2
//   &&  ||  !  ( )         logic, with the usual precedence
//   length(v) count(q) value(q) match(v, "re") search(v, "re")
//
// Limits beyond the RFC, each refused at compile time with a column:
//   - the regex of match()/search() is a string literal (compiled once, RE2);
//   - inside a filter, "$" queries are singular (no wildcard or filter), so
//     evaluating a filter costs at most the size of the current node's subtree
//     times the nesting, never the document per node;
//   - in a relative selector ("@..."), a filter's queries start with "@".
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "invar/invar.hpp"

namespace invar::regex {
class Pattern;
}

namespace invar::selector {

class Selector;

// Filters nested in filters' queries, at most.
inline constexpr int kMaxFilterNesting = 8;
// Parentheses and '!' nested in one filter expression, at most.
inline constexpr int kMaxExpressionNesting = 64;

class Filter {
 public:
  ~Filter();
  Filter(Filter&&) noexcept;

  // Parses the expression after "[?" in `text`, from `at` (moved past it,
  // onto the closing ']'). `nesting`: filters enclosing this one.
  // `relative`: the enclosing selector starts with "@".
  static Result<std::shared_ptr<const Filter>> parse(std::string_view text, size_t& at, int nesting, bool relative);

  // Whether `current` (a child of the node the filter applies to) passes;
  // `root` is what "$" refers to.
  bool test(simdjson::dom::element current, simdjson::dom::element root) const;

  struct Op;
  struct Operand;

 private:
  Filter();
  std::vector<Op> program_;
  std::vector<Operand> literals_;
  std::vector<std::unique_ptr<Selector>> queries_;
  std::vector<std::unique_ptr<regex::Pattern>> patterns_;
  std::vector<std::string> strings_;  // string literals, by index
  friend class FilterParser;
};

}  // namespace invar::selector
