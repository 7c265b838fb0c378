// Safe accessors for simdjson DOM elements whose type is already known.
// (Ranging over `get_object().value_unsafe()` of a temporary result dangles;
// these copy the small handle out first.)
#pragma once

#include <simdjson.h>

#include <string_view>

namespace invar::sj {

inline simdjson::dom::object object_of(simdjson::dom::element e) {
  simdjson::dom::object o;
  auto error = e.get(o);
  (void)error;
  return o;
}
inline simdjson::dom::array array_of(simdjson::dom::element e) {
  simdjson::dom::array a;
  auto error = e.get(a);
  (void)error;
  return a;
}
inline std::string_view string_of(simdjson::dom::element e) {
  std::string_view s;
  auto error = e.get(s);
  (void)error;
  return s;
}

}  // namespace invar::sj
