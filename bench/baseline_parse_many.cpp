// Baseline: only parse an NDJSON file with simdjson's document stream
// (parse_many, 1 MiB batches), touching each record. usage: baseline_parse_many FILE
#include <simdjson.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  simdjson::padded_string bytes;
  if (auto error = simdjson::padded_string::load(argv[1]).get(bytes)) {
    std::fprintf(stderr, "%s\n", simdjson::error_message(error));
    return 1;
  }
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  if (auto error = parser.parse_many(bytes, 1 << 20).get(stream)) {
    std::fprintf(stderr, "%s\n", simdjson::error_message(error));
    return 1;
  }
  size_t records = 0;
  for (auto doc : stream) {
    if (doc.error()) {
      std::fprintf(stderr, "%s\n", simdjson::error_message(doc.error()));
      return 1;
    }
    ++records;
  }
  std::printf("%zu\n", records);
  return records ? 0 : 1;
}
