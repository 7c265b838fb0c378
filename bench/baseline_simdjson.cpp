// Baseline: only parse the file with simdjson's DOM parser (what reading the
// bytes costs). usage: baseline_simdjson FILE
#include <simdjson.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto error = parser.load(argv[1]).get(doc);
  if (error) {
    std::fprintf(stderr, "%s\n", simdjson::error_message(error));
    return 1;
  }
  return doc.is_object() ? 0 : 1;
}
