// Regressions of the adversarial review (issue 11): the LKG promise at its
// edges. Each case names the defect it pins down; each failed on the code
// before the fix.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/digest.hpp"
#include "gate_fixture.hpp"
#include "helpers.hpp"
#include "process.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using test::Fixture;
using test::contains;

namespace {

// Files in `dir` whose names contain `part`.
std::vector<std::string> named(const std::string& dir, const std::string& part) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (contains(e.path().filename().string(), part)) out.push_back(e.path().filename().string());
  return out;
}

// Runs `invar ARGS...`, ended by SIGALRM after `seconds`.
test::Run invar_within(const std::vector<std::string>& args, unsigned seconds) { return test::run({}, args, {}, seconds); }

// Peak RSS (KiB) of `invar ARGS...`, from wait4(2).
long peak_rss_kb(const std::vector<std::string>& args, int* exit_code) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    test::exec_invar(args);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("11.2 publication: staging never follows a planted link, stale staging files go", "[hardening][gate]") {
  Fixture f;
  std::string victim = f.tmp / "victim.txt";
  test::spit(victim, "precious\n");
  // invar 0.1 staged at OUT.invar-tmp-<pid>: links for the next pids redirected a root gate's write.
  pid_t next = fork();
  if (next == 0) _exit(0);
  waitpid(next, nullptr, 0);
  for (int i = 1; i <= 400; ++i)
    fs::create_symlink(victim, f.out + ".invar-tmp-" + std::to_string(next + i));
  test::spit(f.tmp / ".publish.json.invar-stage-0123456789abcdef01234567", "left by a killed gate");
  test::spit(f.out + ".invar-tmp-1", "left by a killed invar 0.1 gate");
  auto r = f.gate(f.artifact(1));
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(test::slurp(victim) == "precious\n");
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(!fs::exists(f.tmp / ".publish.json.invar-stage-0123456789abcdef01234567"));
  CHECK(!fs::exists(f.out + ".invar-tmp-1"));
  CHECK(named(f.tmp.path, "invar-stage").empty());
  CHECK(fs::is_symlink(f.out + ".invar-tmp-" + std::to_string(next + 1)));  // links are not ours to remove
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("11.2 publication: bytes that are not the decision's are never reported as published",
          "[hardening][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  // Another writer truncates --out right after the rename.
  auto r = f.gate(f.artifact(2), {}, {"INVAR_FAULT=publish:renamed"});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "the published file does not hold the decided artifact sha256:"));
  CHECK(contains(r.out, "gate the same artifact again to publish it"));
}
#endif

TEST_CASE("11.2 publication: two streams publishing to one --out are serialised", "[hardening][gate]") {
  Fixture f;
  // Each gate in a PID namespace of its own, where both are pid 1 (as in two
  // containers): invar 0.1 staged both at the same name.
  std::vector<std::string> prefix;
  if (geteuid() == 0 && fs::exists("/usr/bin/unshare") &&
      std::system("/usr/bin/unshare --pid --fork true >/dev/null 2>&1") == 0)
    prefix = {"/usr/bin/unshare", "--pid", "--fork", INVAR_CLI};
  else
    WARN("PID namespaces are not available: the gates run with distinct pids");
  for (std::string stream : {"a", "b"})
    REQUIRE(test::invar({"init", "--state", f.state, "--stream", stream, "--contract", f.contract, "--by", "t"}).exit == 0);
  std::vector<pid_t> workers;
  for (std::string stream : {"a", "b"}) {
    pid_t pid = fork();
    if (pid == 0) {
      int bad = 0;
      for (int g = 1; g <= 15; ++g) {
        std::string artifact = f.tmp / (stream + std::to_string(g) + ".json");
        test::spit(artifact, "{\"generation\": " + std::to_string(g) + ", \"items\": [\"" + stream + "\"]}");
        std::vector<std::string> args = {"gate", "--contract", f.contract, "--stream", stream, "--state", f.state,
                                         "--out", f.out, artifact};
        auto r = prefix.empty() ? test::invar(args) : test::run(prefix, args);
        if (r.exit != 0) ++bad;
      }
      _exit(bad);
    }
    workers.push_back(pid);
  }
  for (pid_t pid : workers) {
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // every gate verified what it published
  }
  std::string last = test::slurp(f.out);
  CHECK((last == test::slurp(f.tmp / "a15.json") || last == test::slurp(f.tmp / "b15.json")));
  CHECK(named(f.tmp.path, "invar-stage").empty());
}

TEST_CASE("11.3 state: no symbolic link inside the state is followed", "[hardening][state]") {
  for (std::string target : {"objects", "journal.jsonl", "lock", "lkg.json", "streams"}) {
    INFO(target);
    Fixture f;
    REQUIRE(f.gate(f.artifact(1)).exit == 0);
    std::string elsewhere = f.tmp / "elsewhere";
    fs::create_directory(elsewhere);
    test::spit(elsewhere + "/keep.json", "not invar's");
    std::string path = target == "streams" ? f.state + "/streams" : f.stream_file(target);
    std::string dangling = f.tmp / "created-through-a-link";
    fs::remove_all(path);
    if (target == "objects" || target == "streams") fs::create_directory_symlink(elsewhere, path);
    else fs::create_symlink(dangling, path);
    auto r = f.gate(f.artifact(2));
    INFO(r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "symbolic link"));
    CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));  // nothing new published
    CHECK(test::slurp(elsewhere + "/keep.json") == "not invar's");
    CHECK(!fs::exists(dangling));
    CHECK(test::invar({"status", "--state", f.state, "s"}).exit == 3);
  }
}

TEST_CASE("11.3 state: a state others can write is refused unless trusted explicitly", "[hardening][state]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  fs::permissions(f.state + "/streams/s", fs::perms::others_write, fs::perm_options::add);
  auto r = f.gate(f.artifact(2));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "streams/s: is writable by others; invar will not trust it"));
  CHECK(test::invar({"status", "--state", f.state, "s"}).exit == 3);
  CHECK(f.gate(f.artifact(2), {"--trust-shared-state"}).exit == 0);
  fs::permissions(f.state + "/streams/s", fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(f.state, fs::perms::group_write, fs::perm_options::add);
  r = f.gate(f.artifact(3));
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "is writable by its group"));
  fs::permissions(f.state, fs::perms::group_write, fs::perm_options::remove);
  if (geteuid() == 0) {
    REQUIRE(chown((f.state + "/streams/s/objects").c_str(), 65534, 65534) == 0);
    r = f.gate(f.artifact(3));
    CHECK(r.exit == 3);
    CHECK(contains(r.out, "objects: is owned by uid 65534, not by this user (uid 0) or root"));
  } else {
    WARN("not root: the foreign-owner case is skipped (chown needs root)");
  }
}

TEST_CASE("11.3 state: pruning deletes only the object files it recognises", "[hardening][state]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string objects = f.state + "/streams/s/objects";
  test::spit(objects + "/README", "an operator's note");
  test::spit(objects + "/abc.json", "not a digest name");
  fs::create_directory(objects + "/sub");
  for (int g = 2; g <= 4; ++g) REQUIRE(f.gate(f.artifact(g), {"--keep", "1"}).exit == 0);
  CHECK(fs::exists(objects + "/README"));
  CHECK(fs::exists(objects + "/abc.json"));
  CHECK(fs::exists(objects + "/sub"));
  std::string lkg_hex = invar::digest::sha256_hex(test::slurp(f.artifact(4)));
  CHECK(named(objects, ".json").size() == 3);  // the LKG, its measures, abc.json
  CHECK(fs::exists(objects + "/" + lkg_hex + ".json"));
}

TEST_CASE("11.4 disk full: at every fill level exit 3 changes nothing, and the stream recovers", "[hardening][disk]") {
  test::TempDir tmp;
  std::string mnt = tmp / "small";
  fs::create_directory(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k") != 0) {
    WARN("mounting a tmpfs is not permitted here (" << std::strerror(errno) << "): the disk-full test is skipped");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Fixture f;
  f.state = mnt + "/state";
  int generation = 1;
  REQUIRE(f.gate(f.artifact(generation, 40)).exit == 0);
  std::string filler = mnt + "/filler";
  int exit3 = 0, accepted = 0;
  for (int free_kb = 0; free_kb <= 40; free_kb += 4) {
    INFO("free KiB: " << free_kb);
    // Fill the file system, then give back `free_kb`.
    fs::remove(filler);
    {
      std::ofstream fill(filler, std::ios::binary);
      std::string block(4096, 'x');
      while (fill.write(block.data(), block.size())) {
      }
    }
    fs::resize_file(filler, fs::file_size(filler) > static_cast<uintmax_t>(free_kb) * 1024
                                ? fs::file_size(filler) - static_cast<uintmax_t>(free_kb) * 1024
                                : 0);
    std::string lkg = test::slurp(f.stream_file("lkg.json"));
    std::string published = test::slurp(f.out);
    // A rejected candidate first: only the journal grows (a torn append here
    // used to leave the stream unusable for good).
    auto pin = f.gate(f.artifact(generation + 1, 0));
    INFO(pin.out);
    CHECK((pin.exit == 2 || pin.exit == 3));
    CHECK(!contains(pin.out, ": Success"));
    CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);
    CHECK(test::slurp(f.out) == published);
    auto r = f.gate(f.artifact(generation + 1, 40));
    INFO(r.out);
    CHECK((r.exit == 0 || r.exit == 3));
    CHECK(!contains(r.out, ": Success"));  // a short write names the full device
    if (r.exit == 3) {
      ++exit3;
      CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);  // exit 3: nothing changed
      CHECK(test::slurp(f.out) == published);                 // ... and nothing published
    } else {
      ++accepted;
      ++generation;
      CHECK(test::slurp(f.out) == test::slurp(f.artifact(generation, 40)));
    }
    // Space back: the stream is usable again, whatever the failure left.
    fs::remove(filler);
    auto st = test::invar({"status", "--state", f.state, "s"});
    INFO(st.out);
    CHECK(st.exit == test::status_exit(f.status()));  // readable: 0, or 2 when the last candidate pinned
    auto next = f.gate(f.artifact(generation + 1, 40));
    INFO(next.out);
    CHECK(next.exit == 0);
    ++generation;
    CHECK(f.status()["lkg"]["generation"] == std::to_string(generation));
  }
  CHECK(exit3 > 0);  // the fill levels did reach the failures
  CHECK(accepted > 0);
  // Every decision that happened is journaled, in order, with no torn line left.
  auto journal = f.journal();
  std::string lkg;
  for (const auto& d : journal) {
    CHECK(d["lkg_before"] == lkg);
    lkg = d["lkg_after"];
  }
}

TEST_CASE("11.5 --out: inside the state, or a directory, is refused before anything changes", "[hardening][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string lkg = test::slurp(f.stream_file("lkg.json"));
  auto r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out",
                        f.stream_file("lkg.json"), f.artifact(2)});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--out is inside the state directory"));
  CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);
  std::string dir = f.tmp / "a-directory";
  fs::create_directory(dir);
  r = test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out", dir, f.artifact(2)});
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "--out names an existing directory"));
  CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);  // the LKG did not advance
  CHECK(f.journal().size() == 1);                         // and no decision was journaled
  CHECK(f.status()["lkg"]["generation"] == "1");
}

TEST_CASE("11.6 inversions: monotonic compares any JSON number and RFC 3339 instant exactly", "[hardening][gate]") {
  struct Case {
    std::string lkg, older, newer;
  };
  const Case cases[] = {
      {"9007199254740993", "9007199254740992.0", "9007199254740993.5"},
      {"0.30000000000000001", "0.3", "0.300000000000000010000001"},
      {"1e300", "9.9999999999999999999e299", "1.0000000000000000001e300"},
      {"\"2025-10-20T06:40:00.0009Z\"", "\"2025-10-20T06:40:00.0001Z\"", "\"2025-10-20T06:40:00.00091Z\""},
      {"\"2025-10-20T06:40:00.5+01:00\"", "\"2025-10-20T05:40:00.49999Z\"", "\"2025-10-20T05:40:00.5000001Z\""},
  };
  for (const auto& c : cases) {
    INFO(c.lkg << " then " << c.older << " then " << c.newer);
    Fixture f;
    test::spit(f.contract, R"({"contract": "m", "invariants": [{"id": "gen", "monotonic": "$.generation"}]})");
    auto art = [&](const std::string& name, const std::string& value) {
      std::string path = f.tmp / name;
      test::spit(path, "{\"generation\": " + value + "}");
      return path;
    };
    REQUIRE(f.gate(art("lkg.json", c.lkg)).exit == 0);
    auto older = f.gate(art("older.json", c.older));
    INFO(older.out);
    CHECK(older.exit == 2);
    CHECK(contains(older.out, "is older than the baseline's"));
    CHECK(f.gate(art("same.json", c.lkg)).exit == 0);  // not strict: equal is fine
    CHECK(f.gate(art("newer.json", c.newer)).exit == 0);
  }
}

TEST_CASE("11.6 inversions: an LKG the new contract cannot read pins, and the change is reported", "[hardening][gate]") {
  Fixture f;
  std::string lkg = f.tmp / "deep.json";
  test::spit(lkg, R"({"generation": 5, "items": [[0]]})");
  REQUIRE(f.gate(lkg).exit == 0);
  // The new contract renames the monotonic id and cannot read the LKG (depth 3 > 2).
  std::string renamed = f.tmp / "renamed.contract.json";
  test::spit(renamed, R"({"contract": "race", "artifact": {"limits": {"max_depth": 2}},
    "invariants": [{"id": "generation", "monotonic": "$.generation", "strict": true}]})");
  std::string older = f.tmp / "older.json";
  test::spit(older, R"({"generation": 1})");
  auto r = test::invar({"gate", "--contract", renamed, "--stream", "s", "--state", f.state, "--out", f.out, older});
  INFO(r.out);
  CHECK(r.exit == 2);
  CHECK(contains(r.out, "cannot be read under this contract"));
  CHECK(contains(r.out, "nothing new is accepted (fail closed)"));
  CHECK(contains(r.out, "the contract changed: the LKG was accepted under race (sha256:"));
  CHECK(!contains(r.out, "no LKG yet"));
  CHECK(test::slurp(f.out) == test::slurp(lkg));
  CHECK(f.journal().back()["failed"] == json::array({"baseline.unreadable"}));
}

TEST_CASE("11.6 inversions: a stream whose LKG record is gone is corrupt, not new", "[hardening][state]") {
  Fixture f;
  for (int g = 1; g <= 3; ++g) REQUIRE(f.gate(f.artifact(g)).exit == 0);
  fs::remove(f.stream_file("lkg.json"));
  auto r = f.gate(f.artifact(1));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "lkg.json: is missing, but"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(3)));
  auto st = test::invar({"status", "--state", f.state, "s"});
  CHECK(st.exit == 3);
  CHECK(!contains(st.out, "LKG: none"));
}

// Issue 28: the decision is one fenced unit.
TEST_CASE("28.11 rollback: an LKG record older than the journal is refused by the gate and by a restarted watcher",
          "[hardening][state]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string backup = f.tmp / "lkg-1.json";
  fs::copy_file(f.stream_file("lkg.json"), backup);
  for (int g = 2; g <= 3; ++g) REQUIRE(f.gate(f.artifact(g)).exit == 0);
  std::string served = f.tmp / "served.json";
  std::vector<std::string> watch = {"watch", "--state", f.state, "--stream", "s", "--out", served, "--once"};
  REQUIRE(test::invar(watch).exit == 0);
  REQUIRE(test::slurp(served) == test::slurp(f.artifact(3)));
  // lkg.json put back from a backup of sequence 1: the journal says 3.
  fs::copy_file(backup, f.stream_file("lkg.json"), fs::copy_options::overwrite_existing);
  auto r = f.gate(f.artifact(2));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "is older than its journal says"));
  CHECK(contains(r.out, "records the LKG at sequence 3"));
  CHECK(contains(r.out, "rolled back"));
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(3)));  // nothing published
  CHECK(f.journal().size() == 3);                             // nothing judged
  // A watcher started again keeps serving sequence 3 and says why.
  auto w = test::invar(watch);
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "is older than the one already served (sequence 3)"));
  CHECK(test::slurp(served) == test::slurp(f.artifact(3)));
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("28.1 init: a seed is committed with its stream, or not at all when a gate created it meanwhile",
          "[hardening][state]") {
  Fixture f;
  std::vector<std::string> init = {"init", "--state", f.state, "--stream", "s", "--contract", f.contract, "--by",
                                   "test", "--reason", "the plan in service", f.artifact(1)};
  auto paused = test::invar_paused_at("init:judged", init);  // the seed judged, not committed
  REQUIRE(paused.stopped);
  std::vector<std::string> gate = {"gate", "--contract", f.contract, "--stream", "s", "--state", f.state,
                                   "--out", f.out, f.artifact(2)};
  auto early = test::invar(gate);
  CHECK(early.exit == 3);  // no stream yet: it appears whole, with its seed
  CHECK(contains(early.out, "streams are created on purpose"));
  gate.push_back("--create");
  REQUIRE(test::invar(gate).exit == 0);  // created meanwhile, generation 2 accepted
  auto r = paused.resume();
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "was created while this init ran"));
  CHECK(contains(r.out, "an LKG appeared: sequence 1"));
  CHECK(contains(r.out, "this init changed nothing"));
  f.created = f.state;
  CHECK(f.status()["lkg"]["generation"] == "2");
  CHECK(f.gate(f.artifact(3, 0)).exit == 2);  // a pin publishes generation 2, never the seed
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(2)));
  CHECK(named(f.state + "/streams", "init").empty());  // nothing of the refused init is left
}
#endif

TEST_CASE("28.15 --contract-change is written with the decision: a gate that exits 3 leaves the stream as it was",
          "[hardening][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  const std::string before = test::slurp(f.stream_file("stream.json"));
  std::string renamed = f.tmp / "renamed.contract.json";
  test::spit(renamed, R"j({"contract": "renamed", "invariants": [
    {"id": "gen", "monotonic": "$.generation", "strict": true},
    {"id": "items", "count": "$.items[*]", "min": 1, "max": 100}]})j");
  auto changed = [&](const std::string& out, int generation) {
    return test::invar({"gate", "--contract", renamed, "--stream", "s", "--state", f.state, "--out", out,
                        "--contract-change", f.artifact(generation)});
  };
  auto r = changed(f.tmp / "missing/plan.json", 2);  // its --out directory does not exist
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(test::slurp(f.stream_file("stream.json")) == before);
  auto history = test::invar({"history", "--state", f.state, "s", "--format", "json"});
  CHECK(!contains(history.out, "contract-change"));
  CHECK(f.gate(f.artifact(2)).exit == 0);  // the old contract still gates
  // Decided: the switch and its record are written with the decision.
  r = changed(f.out, 3);
  CHECK(r.exit == 0);
  CHECK(json::parse(test::slurp(f.stream_file("stream.json")))["contract"] == "renamed");
  history = test::invar({"history", "--state", f.state, "s", "--format", "json"});
  CHECK(contains(history.out, "contract-change"));
  CHECK(f.gate(f.artifact(4)).exit == 3);  // and now the old contract needs --contract-change
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("11.6 inversions: a state directory removed during a gate is exit 3, never recreated", "[hardening][state]") {
  Fixture f;
  for (int g = 1; g <= 3; ++g) REQUIRE(f.gate(f.artifact(g)).exit == 0);
  // The gate stops after judging (as a paused VM would); the state goes; it resumes.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    putenv(const_cast<char*>("INVAR_FAULT=gate:judged"));
    putenv(const_cast<char*>("INVAR_FAULT_STOP=1"));
    test::exec_invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out", f.out,
                      f.artifact(1)});
  }
  close(fds[1]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, WUNTRACED) == pid);
  REQUIRE(WIFSTOPPED(status));
  fs::remove_all(f.state);
  kill(pid, SIGCONT);
  std::string out = test::read_all(fds[0]);
  waitpid(pid, &status, 0);
  INFO(out);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(!fs::exists(f.state));  // not silently recreated
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(3)));
}
#endif

TEST_CASE("11.7 waivers: the 30-day cap is on the system clock, actors are names, output is escaped",
          "[hardening][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(2)).exit == 0);
  auto far = test::invar({"waive", "--contract", f.contract, "--stream", "s", "--state", f.state, "--now",
                          "2200-01-01T00:00:00Z", "--reason", "x", "--expires", "30d", "gen"});
  INFO(far.out);
  CHECK(far.exit == 3);
  CHECK(contains(far.out, "a waiver must end within 30d of the system clock"));
  auto forged = test::invar({"waive", "--contract", f.contract, "--stream", "s", "--state", f.state, "--reason", "x",
                             "--expires", "1h", "gen"},
                            {"USER=alice (security-approved)"});
  CHECK(forged.exit == 3);
  CHECK(contains(forged.out, "is not a name"));
  auto hostile = test::invar({"waive", "--contract", f.contract, "--stream", "s", "--state", f.state, "--reason",
                              "line one\nFAKE: accepted\x1b[2J\x1b[31m", "--expires", "1h", "gen"},
                             {"USER=alice"});
  INFO(hostile.out);
  CHECK(hostile.exit == 0);
  CHECK(!contains(hostile.out, "\x1b"));
  CHECK(contains(hostile.out, "line one\\nFAKE: accepted\\x1b[2J\\x1b[31m"));
  auto st = test::invar({"status", "--state", f.state, "s"});
  CHECK(!contains(st.out, "\x1b"));
  CHECK(!contains(st.out, "\nFAKE"));
  auto h = test::invar({"history", "--state", f.state, "s"});
  CHECK(!contains(h.out, "\x1b"));
  // The gate honours the waiver on the real clock, and never after it ends.
  CHECK(f.gate(f.artifact(1)).exit == 0);
}

TEST_CASE("11.8 special files: FIFOs never block a read path, /proc files are read as streams", "[hardening]") {
  Fixture f;
  std::string fifo = f.tmp / "fifo.json";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto r = invar_within({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out", f.out, fifo},
                        10);
  CHECK(r.signal == 0);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "not a regular file"));
  CHECK(invar_within({"check", "--contract", f.contract, fifo}, 10).exit == 3);
  CHECK(invar_within({"check", "--contract", fifo, f.artifact(1)}, 10).exit == 3);
  CHECK(invar_within({"check", "--contract", f.contract, "--baseline", fifo, f.artifact(1)}, 10).exit == 3);
  // The path swapped between a file and a FIFO while gates read it: none blocks.
  std::string flip = f.tmp / "flip.json";
  std::string file = f.artifact(1), pipe_path = f.tmp / "flip.fifo";
  REQUIRE(mkfifo(pipe_path.c_str(), 0600) == 0);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    std::string a = f.tmp / "flip.a", b = f.tmp / "flip.b";
    while (!stop) {
      fs::copy_file(file, a, fs::copy_options::overwrite_existing);
      std::rename(a.c_str(), flip.c_str());
      fs::remove(b);
      mkfifo(b.c_str(), 0600);
      std::rename(b.c_str(), flip.c_str());
    }
  });
  int hung = 0;
  for (int i = 0; i < 100; ++i) {
    auto g = invar_within({"gate", "--dry-run", "--contract", f.contract, "--stream", "s", "--state", f.state, flip}, 10);
    if (g.signal) ++hung;
  }
  stop = true;
  swapper.join();
  CHECK(hung == 0);
  // /proc files say size 0 and have content: read to the end, not judged empty.
  auto proc = test::invar({"check", "--contract", f.contract, "/proc/self/status"});
  CHECK(proc.exit == 1);
  CHECK(contains(proc.out, "artifact.syntax"));
  CHECK(!contains(proc.out, "artifact.empty"));
}

TEST_CASE("11.9 a stored object of absurd size is exit 3 naming the file, not a crash", "[hardening][state]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  std::string object =
      f.stream_file("objects/" + invar::digest::sha256_hex(test::slurp(f.artifact(1))) + ".json");
  std::error_code ec;
  fs::resize_file(object, 100ull << 30, ec);  // sparse
  if (ec) {
    WARN("this file system refuses a 100 GB sparse file: " << ec.message());
    return;
  }
  auto r = f.gate(f.artifact(2));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(r.signal == 0);
  CHECK(contains(r.out, object));
  auto st = test::invar({"status", "--state", f.state, "s"});
  CHECK(st.exit == 3);
  CHECK(contains(st.out, object));
}

TEST_CASE("11.10 clocks: --now is checked to the years 0001-9999 and never wraps", "[hardening]") {
  std::string contract = test::source("rules/dns-plan.contract.json");
  std::string plan = test::source("examples/aws-2025-dns/good.json");
  // 2610 is a valid year: the 2025 plan is 584 years old there, not fresh.
  auto late = test::invar({"check", "--contract", contract, "--now", "2610-05-11T06:19:34Z", plan});
  INFO(late.out);
  CHECK(late.exit == 1);
  CHECK(contains(late.out, "old, over max_age"));
  auto bad = test::invar({"check", "--contract", contract, "--now", "0000-01-01T00:00:00+01:00", plan});
  CHECK(bad.exit == 3);
  CHECK(contains(bad.out, "between 0001-01-01 and 9999-12-31"));
}

TEST_CASE("11.11 memory: budgeted invariants stop at the check's memory budget, whatever the thread count",
          "[hardening]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  WARN("peak RSS is not meaningful under a sanitizer's shadow memory: skipped");
  return;
#endif
  test::TempDir tmp;
  std::string big = tmp / "big.json";
  {
    std::ofstream out(big, std::ios::binary);
    out << "{\"v\": [";
    for (int i = 0; i < 4'000'000; ++i) out << (i ? ",0" : "0");
    out << "]}";
  }
  auto contract = [&](const std::string& name, int uniques) {
    std::string invs;
    for (int i = 0; i < uniques; ++i) invs += std::string(i ? "," : "") + R"({"id": "u)" + std::to_string(i) +
                                            R"(", "unique": "$.v[*]"})";
    if (uniques == 0) invs = R"({"id": "c", "count": "$.v[*]", "min": 1})";
    std::string path = tmp / name;
    test::spit(path, R"({"contract": "m", "artifact": {"limits": {"max_bytes": "64MiB"}}, "invariants": [)" + invs + "]}");
    return path;
  };
  int exit_code = 0;
  long base = peak_rss_kb({"check", "--threads", "2", "--contract", contract("count.json", 0), big}, &exit_code);
  CHECK(exit_code == 0);
  long three = peak_rss_kb({"check", "--threads", "2", "--contract", contract("three.json", 3), big}, &exit_code);
  CHECK(exit_code == 1);  // 4M zeros are not unique
  INFO("peak RSS: count only " << base << " KiB, three unique " << three << " KiB");
  // The invariants' own state: at most max_invariant_bytes (128 MiB) over the parse, plus slack.
  CHECK(three - base < (128 + 48) * 1024);
  auto r = test::invar({"check", "--threads", "2", "--contract", tmp / "three.json", big});
  CHECK(contains(r.out, "0 appears 4000000 times (/v/0, /v/1, /v/2, /v/3, /v/4, ...)"));
}

TEST_CASE("11.11 memory: past max_invariant_bytes an invariant is not evaluated, and says so", "[hardening]") {
  invar::Options options;
  options.limits.max_invariant_bytes = 1 << 20;
  auto contract = invar::Contract::load_string(
      R"({"contract": "m", "invariants": [{"id": "u", "unique": "$.v[*]"}, {"id": "r", "refs": "$.w[*]", "in": "$.v[*]"},
         {"id": "n", "count": "$.v[*]", "max": 1}]})",
      ".", "m.json", options);
  REQUIRE(contract);
  std::string bytes = "{\"w\": [1], \"v\": [";
  for (int i = 0; i < 100'000; ++i) bytes += (i ? "," : "") + std::to_string(i);
  bytes += "]}";
  auto report = contract->check(bytes);
  std::vector<std::string> messages;
  for (const auto& v : report.violations) messages.push_back(v.invariant + ": " + v.message);
  REQUIRE(messages.size() == 3);
  CHECK(messages[0] ==
        "u: the check's memory for invariant state (max_invariant_bytes 1048576) is spent; the invariant was not "
        "evaluated");
  CHECK(messages[1] ==
        "r: the check's memory for invariant state (max_invariant_bytes 1048576) is spent; the invariant was not "
        "evaluated");
  CHECK(messages[2] == "n: count of $.v[*] is 100000, over max 1 by 99999");  // its explanation is what fit
}

TEST_CASE("11.12 dry runs say what they did not do", "[hardening][gate]") {
  Fixture f;
  auto r = f.gate(f.artifact(1), {"--dry-run"});
  INFO(r.out);
  CHECK(r.exit == 0);
  CHECK(contains(r.out, "would become the new LKG (nothing was promoted or published)"));
  CHECK(!contains(r.out, "was published"));
  CHECK(!fs::exists(f.out));
}

TEST_CASE("11.12 the journal rotates, and history, verification and flap detection read across files",
          "[hardening][gate]") {
  Fixture f;
  int generation = 0;
  for (int i = 0; i < 40; ++i) {
    // Alternate accepts and pins: flapping, across the rotations.
    bool good = i % 2 == 0;
    auto r = f.gate(good ? f.artifact(++generation) : f.artifact(generation, 0), {"--journal-rotate", "4KiB"});
    INFO(i << ": " << r.out);
    REQUIRE(r.exit == (good ? 0 : 2));
  }
  CHECK(fs::exists(f.stream_file("journal.1.jsonl")));
  CHECK(fs::exists(f.stream_file("journal.4.jsonl")));
  CHECK(!fs::exists(f.stream_file("journal.5.jsonl")));  // journal_keep bounds the files
  CHECK(fs::file_size(f.stream_file("journal.jsonl")) <= 4096);
  auto st = f.status();
  CHECK(st["flapping"] == true);
  auto journal = f.journal();
  CHECK(journal.size() > 10);
  std::string lkg;
  bool first = true;
  for (const auto& d : journal) {
    if (!first) CHECK(d["lkg_before"] == lkg);
    first = false;
    lkg = d["lkg_after"];
  }
  auto h = test::invar({"history", "--state", f.state, "s"});
  CHECK(contains(h.out, "rotate"));
  CHECK(contains(h.out, "journal.1.jsonl: "));
}

// Issue 28 (hardening, round three): the files invar writes.

namespace {

// Continues a stopped `pid` and waits for its end: its exit code (-1 when killed) and output.
std::pair<int, std::string> resume(pid_t pid, int out) {
  kill(pid, SIGCONT);
  std::string text = test::read_all(out);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

}  // namespace

#ifdef INVAR_TEST_FAULTS
TEST_CASE("28.3 publication: a stopped gate does not block another file of its --out directory",
          "[hardening][gate]") {
  Fixture f;
  f.init();
  REQUIRE(test::invar({"init", "--state", f.state, "--stream", "b", "--contract", f.contract, "--by", "t"}).exit == 0);
  // Stopped after its commit, before its publication (as a paused VM would be).
  auto [pid, out] = test::spawn_invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out",
                                       f.out, f.artifact(1)},
                                      {"INVAR_FAULT=gate:promoted", "INVAR_FAULT_STOP=1"});
  int status = 0;
  REQUIRE(waitpid(pid, &status, WUNTRACED) == pid);
  REQUIRE(WIFSTOPPED(status));
  std::string other = f.tmp / "other.json";
  auto r = invar_within({"gate", "--contract", f.contract, "--stream", "b", "--state", f.state, "--out", other,
                         f.artifact(1)},
                        20);
  INFO(r.out);
  CHECK(r.signal == 0);  // invar 0.2 waited for the stopped gate's flock on the directory, for ever
  CHECK(r.exit == 0);
  CHECK(test::slurp(other) == test::slurp(f.artifact(1)));
  auto [code, text] = resume(pid, out);
  INFO(text);
  CHECK(code == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
}

TEST_CASE("28.3 publication: a gate waiting for the same file gives up after --publish-timeout, naming the holder",
          "[hardening][gate]") {
  Fixture f;
  f.init();
  for (std::string stream : {"b", "c"})
    REQUIRE(test::invar({"init", "--state", f.state, "--stream", stream, "--contract", f.contract, "--by", "t"}).exit == 0);
  // Stopped holding the lock of --out, about to rename.
  auto [pid, out] = test::spawn_invar({"gate", "--contract", f.contract, "--stream", "s", "--state", f.state, "--out",
                                       f.out, f.artifact(1)},
                                      {"INVAR_FAULT=publish:locked", "INVAR_FAULT_STOP=1"});
  int status = 0;
  REQUIRE(waitpid(pid, &status, WUNTRACED) == pid);
  REQUIRE(WIFSTOPPED(status));
  std::string other = f.tmp / "other.json";  // another file of the directory: not blocked
  auto b = invar_within({"gate", "--contract", f.contract, "--stream", "b", "--state", f.state, "--out", other,
                         f.artifact(1)},
                        20);
  INFO(b.out);
  CHECK(b.exit == 0);
  CHECK(test::slurp(other) == test::slurp(f.artifact(1)));
  auto r = invar_within({"gate", "--contract", f.contract, "--stream", "c", "--state", f.state, "--out", f.out,
                         "--publish-timeout", "1s", f.artifact(2)},
                        20);
  INFO(r.out);
  CHECK(r.signal == 0);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "locked by another invar (pid " + std::to_string(pid) + ","));
  CHECK(contains(r.out, "for longer than 1s; nothing was written"));
  CHECK(!fs::exists(f.out));  // nothing published
  auto st = test::invar({"status", "--state", f.state, "c", "--format", "json"});
  INFO(st.out);
  CHECK(json::parse(st.out)["streams"][0]["lkg"].is_null());  // and nothing decided
  auto [code, text] = resume(pid, out);
  INFO(text);
  CHECK(code == 0);
  CHECK(test::slurp(f.out) == test::slurp(f.artifact(1)));
  CHECK(named(f.tmp.path, "invar-stage").empty());
}
#endif

TEST_CASE("28.13 outputs: no option writes into the state, or over a file the command reads", "[hardening][gate]") {
  Fixture f;
  REQUIRE(f.gate(f.artifact(1)).exit == 0);
  REQUIRE(f.gate(f.artifact(2)).exit == 0);
  const std::string lkg = test::slurp(f.stream_file("lkg.json"));
  const std::string accepted = test::slurp(f.stream_file("accepted.json"));
  const std::string contract = test::slurp(f.contract);
  const std::string artifact = test::slurp(f.artifact(3));
  std::string link = f.tmp / "link";  // a symbolic link to a directory of the state
  fs::create_directory_symlink(f.state + "/streams/s", link);
  std::vector<std::string> gate = {"gate", "--contract", f.contract, "--stream", "s", "--state", f.state};
  auto with = [](std::vector<std::string> base, const std::vector<std::string>& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  };
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {with(gate, {"--out", f.out, "--metrics", f.stream_file("lkg.json"), f.artifact(3)}), "--metrics is inside the state directory"},
      {with(gate, {"--out", f.out, "--metrics", link + "/accepted.json", f.artifact(3)}), "--metrics is inside the state directory"},
      {with(gate, {"--out", link + "/lkg.json", f.artifact(3)}), "--out is inside the state directory"},
      {{"status", "--state", f.state, "--metrics", f.stream_file("accepted.json")}, "--metrics is inside the state directory"},
      {{"status", "--state", f.state, "--metrics", link + "/lkg.json"}, "--metrics is inside the state directory"},
      {{"watch", "--once", "--state", f.state, "--stream", "s", "--out", f.stream_file("lkg.json")}, "--out is inside the state directory"},
      {{"suggest", "--state", f.state, "--stream", "s", "--out", f.stream_file("accepted.json")}, "--out is inside the state directory"},
      {with(gate, {"--out", f.artifact(3), f.artifact(3)}), "--out names " + f.artifact(3)},
      {with(gate, {"--out", f.out, "--metrics", f.contract, f.artifact(3)}), "--metrics names " + f.contract},
      {with(gate, {"--out", f.out, "--metrics", f.out, f.artifact(3)}), "--metrics names " + f.out},
      {{"suggest", "--out", f.artifact(3), f.artifact(1), f.artifact(3)}, "--out names " + f.artifact(3)},
      {{"suggest", "--contract", f.contract, "--out", f.contract, f.artifact(1), f.artifact(3)}, "--out names " + f.contract},
  };
  const std::string published = test::slurp(f.out);
  for (const auto& c : cases) {
    auto r = test::invar(c.args);
    INFO(c.args[0] << " " << c.says << "\n" << r.out);
    CHECK(r.exit == 3);
    CHECK(contains(r.out, c.says));
  }
  CHECK(test::slurp(f.stream_file("lkg.json")) == lkg);
  CHECK(test::slurp(f.stream_file("accepted.json")) == accepted);
  CHECK(test::slurp(f.contract) == contract);
  CHECK(test::slurp(f.artifact(3)) == artifact);
  CHECK(test::slurp(f.out) == published);
  CHECK(f.journal().size() == 2);  // nothing was judged
  CHECK(f.status()["lkg"]["sequence"] == 2);
}
