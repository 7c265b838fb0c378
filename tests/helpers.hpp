// Test helpers: parse JSON text with simdjson, load a contract from text.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>

#include "invar/invar.hpp"

namespace test {

// Owns the parser so the returned element stays valid.
struct Doc {
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  simdjson::dom::element root;
};

inline Doc parse(const std::string& text) {
  Doc d;
  auto r = d.parser->parse(text);
  if (r.error()) throw std::runtime_error("test JSON does not parse: " + text);
  d.root = r.value();
  return d;
}

inline std::string source(const std::string& relative) { return std::string(INVAR_SOURCE_DIR) + "/" + relative; }

inline invar::Result<invar::Contract> contract(const std::string& text) {
  return invar::Contract::load_string(text, source("rules"), "test.contract.json");
}

// The failed invariant ids of a report, in order, deduplicated.
inline std::vector<std::string> failed(const invar::Report& r) {
  std::vector<std::string> ids;
  for (const auto& i : r.invariants)
    if (i.outcome == invar::Outcome::fail) ids.push_back(i.id);
  for (const auto& v : r.violations)
    if (v.kind == "artifact") ids.push_back(v.invariant);
  return ids;
}

}  // namespace test
