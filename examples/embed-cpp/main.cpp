// A config distributor that gates each newly generated feature file before
// publishing it: invar decides accept (publish it), pin (publish the
// last-known-good again) or reject (publish nothing), and the state
// directory remembers the LKG across runs.
//
// usage: embed-cpp CONTRACT STATE_DIR PUBLISH_FILE CANDIDATE...
// Exits 0 when the last candidate was published, 2 when the LKG was, 1 when
// nothing could be, 3 when it could not judge.
#include <invar/gate.hpp>
#include <invar/invar.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s CONTRACT STATE_DIR PUBLISH_FILE CANDIDATE...\n", argv[0]);
    return 3;
  }
  auto contract = invar::Contract::load_file(argv[1]);
  if (!contract) {
    std::fprintf(stderr, "contract: %s\n", contract.error().to_string().c_str());
    return 3;
  }
  auto store = invar::StateStore::open_directory(argv[2]);
  if (!store) {
    std::fprintf(stderr, "state: %s\n", store.error().to_string().c_str());
    return 3;
  }
  invar::Gate gate(*contract, *store);
  // Streams are created on purpose: the first run creates it.
  if (!store->lkg_artifact("bot-features")) {
    invar::InitOptions init;
    init.by = "embed-cpp";
    if (auto created = gate.init("bot-features", init); !created) {
      std::fprintf(stderr, "state: %s\n", created.error().to_string().c_str());
      return 3;
    }
  }
  auto publisher = invar::file_publisher(argv[3]);
  int code = 3;
  for (int i = 4; i < argc; ++i) {
    invar::SubmitOptions options;
    options.publisher = publisher.get();
    auto decision = gate.submit_file("bot-features", argv[i], options);
    if (!decision) {
      std::printf("%s: cannot judge, nothing published: %s\n", argv[i], decision.error().to_string().c_str());
      code = 3;
      continue;
    }
    switch (decision->action) {
      case invar::Action::accept:
        std::printf("%s: accepted and published (sequence %llu)\n", argv[i],
                    static_cast<unsigned long long>(decision->lkg_after->sequence));
        code = 0;
        break;
      case invar::Action::pin:
        std::printf("%s: rejected; the last-known-good was published again\n", argv[i]);
        code = 2;
        break;
      case invar::Action::reject:
        std::printf("%s: rejected; nothing to publish yet\n", argv[i]);
        code = 1;
        break;
    }
    for (const auto& v : decision->report.violations)
      if (v.severity == invar::Severity::error) {
        std::printf("  %s: %s\n", v.invariant.c_str(), v.message.c_str());
        break;
      }
    if (decision->flapping) std::printf("  the stream is flapping\n");
  }
  return code;
}
