// invar watch: a distributor's side of the gate. Follows a stream's LKG and
// writes each newly promoted one to --out (verified against its digest,
// atomically), then runs --exec. On etcd it is woken by etcd's watch stream
// (Follower::wait) and reads the LKG then, or every --interval at the
// latest; on a directory it reads every --interval. Each read is of the
// current LKG: it cannot miss the latest promotion across restarts, lost
// connections or etcd compactions,
// may skip intermediate ones, and never goes back to an older sequence: the
// sequence it served is kept beside --out (.NAME.invar-watch), and an LKG
// older than it (a rolled-back state) is refused, the newer one kept.
// With --trusted-keys it serves only an LKG whose attestation verifies
// (docs/signing.md), and writes the attestation beside --out first.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "common/files.hpp"
#include "common/text.hpp"

namespace invar::cli {

namespace {

struct WatchArgs {
  StoreFlags store;
  std::string stream;
  std::string stage;  // "": the last stage (or the LKG, without stages)
  std::string out;
  std::string exec;
  std::string interval = "1s";
  std::string trusted_keys;  // "": serve what the store holds, unsigned or not
  std::string now;           // the clock for expiry ("": the system clock)
  bool once = false;
  bool poll = false;  // read every --interval only, without etcd's watch stream
  bool quiet = false;
};

// Runs `command` with the LKG in its environment; its exit status is reported, not fatal.
void run_exec(const std::string& command, const std::string& out, const LkgRecord& lkg, const std::string& stage) {
  pid_t pid = fork();
  if (pid == 0) {
    setenv("INVAR_STAGE", stage.c_str(), 1);
    setenv("INVAR_LKG_FILE", out.c_str(), 1);
    setenv("INVAR_LKG_DIGEST", lkg.digest.c_str(), 1);
    setenv("INVAR_LKG_SEQUENCE", std::to_string(lkg.sequence).c_str(), 1);
    setenv("INVAR_LKG_GENERATION", lkg.generation.c_str(), 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    std::fprintf(stderr, "invar watch: warning: --exec did not succeed for sequence %llu\n",
                 static_cast<unsigned long long>(lkg.sequence));
}

// Where a watcher keeps what it served to `out`: beside it, hidden.
std::string served_file(const std::string& out) {
  std::filesystem::path p(out);
  return (p.parent_path() / ("." + p.filename().string() + ".invar-watch")).string();
}

// The sequence served to `out` by an earlier watcher of `stream` and
// `stage` (0: none): a stage's sequences are its own, so another stage
// (or stream) is refused.
Result<uint64_t> served_before(const std::string& out, const std::string& stream, const std::string& stage) {
  std::string path = served_file(out);
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::symlink_status(path, ec))) return uint64_t{0};
  auto text = files::read_file(path, 64 << 10, "watch state");
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("sequence") || !j["sequence"].is_number_unsigned() || !j.contains("stream") ||
      !j["stream"].is_string())
    return Error{ErrorCode::state, "not a watcher's state (remove it only if --out was never served)", {path, {}}};
  if (j["stream"] != stream)
    return Error{ErrorCode::usage, "--out was served from stream " + text::quoted(j["stream"].get<std::string>()) +
                                       " (give another --out)", {path, {}}};
  std::string was = j.contains("stage") && j["stage"].is_string() ? j["stage"].get<std::string>() : "";
  if (was != stage)
    return Error{ErrorCode::usage, "--out was served from " + (was.empty() ? std::string("the last stage") : "stage " +
                                   text::quoted(was)) + " (give another --out)", {path, {}}};
  return j["sequence"].get<uint64_t>();
}

// What became of one new LKG.
enum class Served { written, refused, failed };

// Verifies (with trusted keys) and writes one new LKG to --out, its
// attestation first, then the sequence served; a refusal leaves --out as it was.
Served serve(const WatchArgs& args, const TrustedKeys* keys, std::optional<Time> now, Follower& follower,
             const Follower::Change& change, std::string& last_refusal) {
  const LkgRecord& lkg = change.lkg;
  if (keys) {
    auto verified = verify_lkg(lkg, *change.artifact, *keys, change.stage, follower.sequence(), now);
    if (!verified) {
      std::string message = "refused sequence " + std::to_string(lkg.sequence) + " " + lkg.digest + ": " +
                            verified.error().message + "; " +
                            (follower.sequence() ? "still serving sequence " + std::to_string(follower.sequence())
                                                 : std::string("nothing served yet"));
      if (message != last_refusal || args.once)  // said once, not at every poll
        std::fprintf(stderr, "invar watch: %s\n", message.c_str());
      last_refusal = message;
      return Served::refused;
    }
    std::string envelopes = lkg.attestation;
    if (envelopes.back() != '\n') envelopes += '\n';
    if (auto e = write_file_atomically(args.out + ".intoto.jsonl", envelopes)) {
      std::fprintf(stderr, "invar watch: cannot write the attestation beside --out: %s (retrying)\n",
                   e->to_string().c_str());
      return Served::failed;
    }
  }
  last_refusal.clear();
  if (auto e = write_file_atomically(args.out, *change.artifact)) {
    std::fprintf(stderr, "invar watch: cannot write --out: %s (retrying)\n", e->to_string().c_str());
    return Served::failed;
  }
  follower.served(lkg.sequence);
  nlohmann::json kept = {{"stream", args.stream}, {"sequence", lkg.sequence}, {"digest", lkg.digest}};
  if (!args.stage.empty()) kept["stage"] = args.stage;
  if (auto e = write_file_atomically(served_file(args.out), kept.dump() + "\n"))
    std::fprintf(stderr, "invar watch: warning: cannot keep the sequence served: %s\n", e->to_string().c_str());
  if (!args.quiet) {
    std::printf("watch: sequence %llu %s%s written to %s\n", static_cast<unsigned long long>(lkg.sequence),
                lkg.digest.substr(0, 19).c_str(),
                lkg.generation.empty() ? "" : (" (generation " + lkg.generation + ")").c_str(), args.out.c_str());
    std::fflush(stdout);
  }
  if (!args.exec.empty()) run_exec(args.exec, args.out, lkg, args.stage);
  return Served::written;
}

int run_watch(const WatchArgs& args) {
  auto interval = parse_duration_ms(args.interval, "--interval");
  if (!interval || *interval <= 0) {
    print_error(interval ? Error{ErrorCode::usage, "--interval must be positive", {}} : interval.error(), "human");
    return kCannotJudge;
  }
  if (auto e = check_output(args.out, "--out", &args.store)) {
    print_error(*e, "human");
    return kCannotJudge;
  }
  auto now = parse_now(args.now);
  if (!now) {
    print_error(now.error(), "human");
    return kCannotJudge;
  }
  std::optional<TrustedKeys> keys;
  if (!args.trusted_keys.empty()) {
    auto loaded = TrustedKeys::load_file(args.trusted_keys);
    if (!loaded) {
      print_error(loaded.error(), "human");
      return kCannotJudge;
    }
    keys = std::move(loaded.value());
  }
  auto store = open_store(args.store);
  if (!store) {
    print_error(store.error(), "human");
    return kCannotJudge;
  }
  handle_stop_signals();
  auto served = served_before(args.out, args.stream, args.stage);
  if (!served) {
    print_error(served.error(), "human");
    return kCannotJudge;
  }
  Follower follower(std::move(store.value()), args.stream, *served, args.stage);  // never an older sequence
  bool first = true;
  std::string last_refusal;
  while (!stop_requested()) {
    auto change = follower.poll();
    if (!change && args.once) {
      print_error(change.error(), "human");
      return kCannotJudge;
    }
    if (!change) {
      // A usage error (no such stream) is final on the first look; anything
      // else (etcd unreachable, a state being repaired) is waited out.
      if (first && change.error().code == ErrorCode::usage) {
        print_error(change.error(), "human");
        return kCannotJudge;
      }
      std::fprintf(stderr, "invar watch: %s (retrying)\n", change.error().to_string().c_str());
    } else if (change.value() &&
               serve(args, keys ? &*keys : nullptr, *now, follower, *change.value(), last_refusal) == Served::refused &&
               args.once) {
      return kCannotJudge;
    }
    first = false;
    if (args.once) return follower.sequence() ? kAccept : kCannotJudge;
    if (args.poll) {
      if (wait_or_stop(*interval)) break;
    } else {
      follower.wait(*interval, stop_requested);  // etcd: woken by its watch stream; else the whole interval
      if (stop_requested()) break;
    }
  }
  return kAccept;
}

}  // namespace

std::function<int()> add_watch(CLI::App& app) {
  auto args = std::make_shared<WatchArgs>();
  auto* cmd = app.add_subcommand("watch", "Follow a stream's LKG: write each new one to a file, then run a command");
  cmd->footer("Runs until SIGTERM/SIGINT (exit 0); 3 on bad usage or an unknown stream. --once: one look, exit 0 when "
              "an LKG was written, 3 when there is none or (--trusted-keys) it was refused.\n");
  add_store_flags(cmd, args->store, true, false);
  cmd->add_option("--stream", args->stream, "The stream")->required();
  cmd->add_option("--stage", args->stage,
                  "The stage followed, for a stream with stages (docs/rollout.md); default: the last one");
  cmd->add_option("--out", args->out, "Where each new LKG is written (atomically, after verifying its digest)")->required();
  cmd->add_option("--exec", args->exec,
                  "Run after each write (sh -c; INVAR_LKG_FILE, INVAR_LKG_DIGEST, INVAR_LKG_SEQUENCE, "
                  "INVAR_LKG_GENERATION, INVAR_STAGE in its environment)");
  cmd->add_option("--interval", args->interval,
                  "How often the LKG is read (default 1s); on etcd the watch stream wakes the watcher at each change, "
                  "and this is the longest it goes without a read");
  cmd->add_option("--trusted-keys", args->trusted_keys,
                  "Serve only an LKG whose attestation a key of this file signed, for these bytes, this stream and "
                  "stage, not older than what was served, not expired (docs/signing.md); also writes OUT.intoto.jsonl");
  cmd->add_option("--now", args->now, "The clock for expiry and keys' not_after (RFC 3339; default: the system clock)");
  cmd->add_flag("--once", args->once, "Write the current LKG once and exit");
  cmd->add_flag("--poll", args->poll,
                "Read every --interval only, without etcd's watch stream (such as behind a proxy that buffers "
                "streamed answers)");
  add_quiet(cmd, args->quiet, "No line per LKG written; problems (on stderr) only");
  return [args] { return run_watch(*args); };
}

}  // namespace invar::cli
