// invar keygen and invar verify: signing keys, and the check a distributor
// (or a CI step before a deploy) runs on an artifact and its attestation
// (docs/signing.md).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "common/files.hpp"
#include "common/text.hpp"
#include "invar/sign.hpp"

namespace invar::cli {

namespace {

struct KeygenArgs {
  std::string out;
  std::string id;
  std::string public_out;
  std::string format = "human";
  bool quiet = false;
};

// Creates `path` exclusively (never overwrites) holding `content`.
std::optional<Error> write_new(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return Error{ErrorCode::io, errno == EEXIST ? text::quoted(path) + " exists: keygen never overwrites a file"
                                                : "cannot create " + text::quoted(path) + ": " + std::strerror(errno),
                 {path, "", 0, 0}};
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::io, "cannot write " + text::quoted(path), {path, "", 0, 0}};
  return std::nullopt;
}

int run_keygen(const KeygenArgs& args) {
  if (auto e = check_output(args.out, "--out", nullptr, args.public_out.empty() ? std::vector<std::string>{}
                                                                                : std::vector<std::string>{args.public_out})) {
    print_error(*e, args.format);
    return kCannotJudge;
  }
  auto key = SigningKey::generate(args.id);
  if (!key) {
    print_error(key.error(), args.format);
    return kCannotJudge;
  }
  if (auto e = key->save_file(args.out)) {
    print_error(*e, args.format);
    return kCannotJudge;
  }
  const std::string entry = key->trusted_entry();
  if (!args.public_out.empty()) {
    if (auto e = write_new(args.public_out, "{\"keys\": [\n  " + entry + "\n]}\n")) {
      print_error(*e, args.format);
      return kCannotJudge;
    }
  }
  if (args.format == "json") {
    nlohmann::json out = {{"keyid", key->keyid()}, {"public", key->public_base64()}, {"private_key_file", args.out}};
    if (!args.public_out.empty()) out["trusted_keys_file"] = args.public_out;
    std::printf("%s\n", out.dump().c_str());
    return kAccept;
  }
  std::printf("%s\n", entry.c_str());  // the line for the trusted-keys file
  if (!args.quiet)
    std::fprintf(stderr, "invar: wrote the private key %s (mode 0600, key id %s)%s%s\n",
                 text::printable(args.out).c_str(), key->keyid().c_str(),
                 args.public_out.empty() ? "" : "; a trusted-keys file with its public key: ",
                 text::printable(args.public_out).c_str());
  return kAccept;
}

struct VerifyArgs {
  std::string artifact;
  std::string attestation;
  std::string trusted_keys;
  std::optional<std::string> stream;
  std::optional<std::string> stage;
  uint64_t min_sequence = 0;
  std::string now;
  std::string format = "human";
  bool quiet = false;
};

int run_verify(const VerifyArgs& args) {
  auto now = parse_now(args.now);
  if (!now) {
    print_error(now.error(), args.format);
    return kCannotJudge;
  }
  if (args.artifact == files::kStdin && args.attestation.empty()) {
    print_error(Error{ErrorCode::usage, "verify - (standard input) needs --attestation FILE", {}}, args.format);
    return kCannotJudge;
  }
  const std::string attestation = args.attestation.empty() ? args.artifact + ".intoto.jsonl" : args.attestation;
  auto keys = TrustedKeys::load_file(args.trusted_keys);
  if (!keys) {
    print_error(keys.error(), args.format);
    return kCannotJudge;
  }
  auto envelopes = files::read_file(attestation, kMaxAttestationBytes, "attestation");
  if (!envelopes) {
    print_error(envelopes.error(), args.format);
    return kCannotJudge;
  }
  auto bytes = files::read_file(args.artifact, Limits{}.max_artifact_bytes, "artifact");
  if (!bytes) {
    print_error(bytes.error(), args.format);
    return kCannotJudge;
  }
  VerifyExpectations expect{args.stream, args.stage, args.min_sequence, *now};
  auto verified = verify_envelopes(*envelopes, *bytes, *keys, expect);
  const std::string shown = files::display_name(args.artifact);
  if (args.format == "json") {
    nlohmann::json out = {{"artifact", shown}, {"attestation", files::display_name(attestation)},
                          {"verified", verified.ok()}};
    if (verified) out["statement"] = nlohmann::json::parse(verified_json(*verified));
    else out["reason"] = verified.error().message;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (verified) {
    const Statement& s = verified->statement;
    if (!args.quiet)
      std::printf("verified: %s: stream %s, %s, sequence %llu, %s, signed by %s, expires %s\n",
                  text::printable(shown).c_str(), text::printable(s.stream).c_str(),
                  s.stage.empty() ? "no stage" : ("stage " + text::printable(s.stage)).c_str(),
                  static_cast<unsigned long long>(s.sequence), s.verdict.c_str(),
                  text::printable(verified->keyid).c_str(), text::format_rfc3339(s.expires_ms).c_str());
  } else {
    std::printf("refused: %s: %s\n", text::printable(shown).c_str(), text::printable(verified.error().message).c_str());
  }
  return verified ? kAccept : kReject;  // an envelope over a limit is refused too
}

}  // namespace

std::function<int()> add_keygen(CLI::App& app) {
  auto args = std::make_shared<KeygenArgs>();
  auto* cmd = app.add_subcommand("keygen", "Make an Ed25519 key for signing decisions (docs/signing.md)");
  cmd->footer("Prints the key's entry for a trusted-keys file. The key id is \"ed25519:\" and the first 16 hex digits "
              "of the SHA-256 of the public key, unless --id names one.\n\nExit codes: 0 written, 3 not written "
              "(the file exists, bad usage)\n");
  cmd->add_option("--out", args->out, "The private key file to create (mode 0600; an existing file is never overwritten)")
      ->required();
  cmd->add_option("--id", args->id, "The key id (1-128 characters of A-Z a-z 0-9 . _ : @ / + -); default: derived from the key");
  cmd->add_option("--public-out", args->public_out,
                  "Also create this trusted-keys file holding the public key ({\"keys\": [...]})");
  add_plain_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: no note on stderr, only the trusted-keys entry");
  return [args] { return run_keygen(*args); };
}

std::function<int()> add_verify(CLI::App& app) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand("verify", "Verify an artifact's signed decision before deploying it (docs/signing.md)");
  cmd->footer("Checks, in order: a DSSE envelope, its payloadType, a signature by a trusted key in force, the "
              "in-toto Statement and its predicate, the subject's SHA-256 against the bytes, the stream, the stage, "
              "the sequence (rollback), the expiry (freeze). One envelope of the attestation file that verifies "
              "suffices.\n\nExit codes: 0 verified, 1 refused (the check that failed is printed), 3 cannot verify "
              "(unreadable files, a bad trusted-keys file, bad usage)\n");
  cmd->add_option("artifact", args->artifact, "The artifact's file (- for standard input)")->required();
  cmd->add_option("--attestation", args->attestation,
                  "Its attestation: DSSE envelopes, one a line (default: ARTIFACT.intoto.jsonl)");
  cmd->add_option("--trusted-keys", args->trusted_keys, "The trusted-keys file ({\"keys\": [{\"keyid\", \"public\", "
                                                        "\"not_after\"}]})")
      ->required();
  cmd->add_option("--stream", args->stream, "The stream the artifact must have been accepted for (default: any)");
  cmd->add_option("--stage", args->stage, "The stage it must be in service at (\"\": a stream without stages; default: any)");
  cmd->add_option("--min-sequence", args->min_sequence,
                  "The highest sequence served so far: a lower one is refused as a rollback (default 0)");
  cmd->add_option("--now", args->now, "The clock for expiry and keys' not_after (RFC 3339; default: the system clock)");
  add_plain_format(cmd, args->format);
  add_quiet(cmd, args->quiet, "Human format: print nothing when verified");
  return [args] { return run_verify(*args); };
}

}  // namespace invar::cli
