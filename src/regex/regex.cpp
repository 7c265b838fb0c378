#include "regex/regex.hpp"

#include "regex/ecma.hpp"

namespace invar::regex {

std::unique_ptr<RE2> compile_re2(std::string_view pattern, int64_t max_mem, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(max_mem);
  options.set_never_capture(true);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (re->ok()) return re;
  error = re->error();
  if (re->error_code() == RE2::ErrorPatternTooLarge)
    error = "pattern too large for regex_max_mem " + std::to_string(max_mem) + " bytes";
  return nullptr;
}

CompileOutcome compile(std::string_view pattern, Anchoring anchoring, int64_t max_mem) {
  CompileOutcome out;
  auto compiled = std::make_unique<Pattern>();
  compiled->anchoring_ = anchoring;
  compiled->sequence_ = Sequence::parse(pattern);
  if (!compiled->sequence_) compiled->sequence_ = Sequence::parse_from_end(pattern);
  if (compiled->sequence_ && anchoring == Anchoring::anywhere && !compiled->sequence_->can_match_anywhere())
    compiled->sequence_.reset();
  if (!compiled->sequence_) compiled->alternation_ = Alternation::parse(pattern);
  if (!compiled->sequence_ && !compiled->alternation_) {
    compiled->suffixed_ = SuffixAlternation::parse(pattern);
    if (compiled->suffixed_ && anchoring == Anchoring::anywhere && !compiled->suffixed_->anchored())
      compiled->suffixed_.reset();
  }
  if (!compiled->sequence_ && !compiled->alternation_ && !compiled->suffixed_ &&
      !(compiled->re_ = compile_re2(pattern, max_mem, out.error)))
    return out;
  out.pattern = std::move(compiled);
  return out;
}

Pattern::Pattern() = default;
Pattern::~Pattern() = default;

CompileOutcome compile_ecma(std::string_view pattern, int64_t max_mem, bool allow_fallback) {
  using Status = ecma::Translation::Status;
  using Failure = CompileOutcome::Failure;
  CompileOutcome out;
  ecma::Translation t = ecma::translate(pattern);
  if (t.status == Status::ok) return compile(t.re2, Anchoring::anywhere, max_mem);
  if (t.status != Status::unsupported || !allow_fallback) {
    out.failure = t.status == Status::syntax_error ? Failure::syntax
                  : t.status == Status::too_large  ? Failure::too_large
                                                   : Failure::unsupported;
    out.error = std::move(t.message);
    out.offset = t.offset;
    return out;
  }
  auto compiled = std::make_unique<Pattern>();
  compiled->fallback_ = Fallback::compile(t.pcre2, pattern, out.error);
  if (!compiled->fallback_) {
    out.failure = Failure::fallback;
    return out;
  }
  out.pattern = std::move(compiled);
  return out;
}

std::string excerpt(std::string_view pattern, size_t max_chars) {
  if (pattern.size() <= max_chars) return std::string(pattern);
  size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(pattern[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return std::string(pattern.substr(0, cut)) + "...";
}

}  // namespace invar::regex
