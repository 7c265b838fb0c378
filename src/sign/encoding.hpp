// What keys and envelopes share: libsodium's start, base64, key ids, and the
// strict reading of a small JSON file into located errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "invar/invar.hpp"

namespace invar::sign {

// sodium_init() once; false when libsodium cannot start (no entropy source).
bool sodium_ready();

// Standard base64, padded (what invar writes).
std::string base64_encode(std::string_view bytes);
// Standard or URL-safe base64 (DSSE allows both), padded or not, nothing
// else: no whitespace, no non-zero trailing bits. nullopt when malformed or
// when the decoded bytes would exceed `max_bytes`.
std::optional<std::string> base64_decode(std::string_view text, size_t max_bytes);

// A key id: 1-kMaxKeyIdBytes of [A-Za-z0-9._:@/+-].
bool valid_keyid(std::string_view keyid);

// Errors of one small JSON document, located (line, column) at the end.
class Notes {
 public:
  Notes(ErrorCode code, std::string file) : code_(code), file_(std::move(file)) {}
  void note(const std::string& pointer, const std::string& message);
  bool empty() const { return errors_.empty(); }
  // The first error with the others in `also`, each located in `text`.
  Error error(std::string_view text) const;

 private:
  ErrorCode code_;
  std::string file_;
  std::vector<Error> errors_;
};

// Notes each key of `object` (at `pointer`) that is not in `known`.
void unknown_keys(const nlohmann::json& object, const std::string& pointer, const std::vector<std::string_view>& known,
                  Notes& notes);

}  // namespace invar::sign
