// All matching in invar is RE2 (linear time). Patterns are compiled once, at
// contract or schema load, with log_errors(false) and an explicit memory budget.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace invar::regex {

struct CompileOutcome {
  std::unique_ptr<RE2> re;  // set on success
  std::string error;        // RE2's reason on failure
};

// Compiles `pattern` as RE2 syntax (UTF-8, no captures kept).
CompileOutcome compile(std::string_view pattern, int64_t max_mem);

// JSON Schema patterns are ECMA-262: rewrites the escapes RE2 spells
// differently (\uXXXX and surrogate pairs -> \x{...}) and compiles. ECMA-only
// constructs RE2 cannot run (backreferences, lookaround) fail to compile.
CompileOutcome compile_ecma(std::string_view pattern, int64_t max_mem);

// For messages: the pattern, shortened.
std::string excerpt(std::string_view pattern, size_t max_chars = 60);

}  // namespace invar::regex
