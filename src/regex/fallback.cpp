#include "regex/fallback.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace invar::regex {

namespace {

// One match context for every pattern: PCRE2 only reads it while matching.
pcre2_match_context* limits() {
  static pcre2_match_context* context = [] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(c, kFallbackMatchLimit);
    pcre2_set_depth_limit(c, kFallbackDepthLimit);
    pcre2_set_heap_limit(c, kFallbackHeapLimitKiB);
    return c;
  }();
  return context;
}

// Per thread: room for the whole match only (an answer is all that is asked).
pcre2_match_data* match_data() {
  struct Owned {
    pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
    ~Owned() { pcre2_match_data_free(data); }
  };
  thread_local Owned owned;
  return owned.data;
}

}  // namespace

std::string undecided_reason(Match m) {
  switch (m) {
    case Match::match_limit: return "regex_fallback_match_limit " + std::to_string(kFallbackMatchLimit);
    case Match::depth_limit: return "regex_fallback_depth_limit " + std::to_string(kFallbackDepthLimit);
    case Match::heap_limit: return "regex_fallback_heap_limit " + std::to_string(kFallbackHeapLimitKiB) + " KiB";
    case Match::failed: return "regex fallback: the text is not valid UTF-8";
    case Match::no:
    case Match::yes: break;
  }
  return {};
}

std::unique_ptr<Fallback> Fallback::compile(std::string_view translated, std::string_view source, std::string& error) {
  // ECMA-262's meaning: UTF-8 code points, $ at the very end only, a
  // backreference to a group that did not take part matches the empty
  // string; no UCP (\d, \w and \b stay ASCII), no \C.
  const uint32_t options =
      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_UNSET_BACKREF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C;
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(), options,
                                       &code, &offset, nullptr);
  if (!compiled) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    error = reinterpret_cast<const char*>(message);
    return nullptr;
  }
  return std::unique_ptr<Fallback>(new Fallback(compiled, source));
}

Fallback::~Fallback() { pcre2_code_free(code_); }

Match Fallback::match(std::string_view s) const {
  int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, match_data(), limits());
  if (rc >= 0) return Match::yes;  // 0: matched, the groups not recorded
  switch (rc) {
    case PCRE2_ERROR_NOMATCH: return Match::no;
    case PCRE2_ERROR_MATCHLIMIT: return Match::match_limit;
    case PCRE2_ERROR_DEPTHLIMIT: return Match::depth_limit;
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_NOMEMORY: return Match::heap_limit;
    default: return Match::failed;
  }
}

}  // namespace invar::regex
