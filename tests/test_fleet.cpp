// invar on a fleet (issue 13): gate replicas sharing one stream in a real
// 3-member etcd cluster on loopback. Every case drives the CLI as processes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/digest.hpp"
#include "common/text.hpp"
#include "etcd_cluster.hpp"
#include "invar/gate.hpp"
#include "gate_fixture.hpp"
#include "process.hpp"
#include "store/deflate.hpp"
#include "store/etcd_client.hpp"
#include "store/store.hpp"
#include "store/watch_scan.hpp"

using nlohmann::json;
using test::contains;

namespace {

// The fleet's view of one stream: a contract, numbered artifacts, and the
// state in etcd at `url`.
struct Fleet {
  test::Fixture files;  // the contract and the artifacts
  std::string url;

  explicit Fleet(const std::string& state_url) : url(state_url) {
    auto r = test::invar({"init", "--state", url, "--stream", "s", "--contract", files.contract, "--by", "test"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
  }

  std::vector<std::string> gate_args(const std::string& state, const std::string& artifact, const std::string& out) {
    return {"gate", "--contract", files.contract, "--stream", "s", "--state", state, "--out", out, "--state-timeout",
            "2s", artifact};
  }

  json status(const std::string& state) {
    auto r = test::invar({"status", "--state", state, "s", "--format", "json"});
    INFO(r.out);
    auto stream = json::parse(r.out)["streams"][0];
    REQUIRE(r.exit == test::status_exit(stream));
    return stream;
  }

  std::vector<json> decisions(const std::string& state) {
    auto r = test::invar({"history", "--state", state, "s", "--format", "json", "--limit", "100000"});
    REQUIRE(r.exit == 0);
    std::vector<json> out;
    json history = json::parse(r.out);
    for (const auto& rec : history["records"])
      if (rec["event"] == "decision") out.push_back(rec);
    std::reverse(out.begin(), out.end());
    return out;
  }
};

test::EtcdCluster* cluster_or_skip() {
  auto* c = test::shared_etcd();
  if (!c) {
    if (test::etcd_installed()) FAIL("the etcd cluster did not answer (three starts on fresh ports; see the members' logs)");
    if (std::getenv("CI")) FAIL("etcd is not installed (scripts/install-deps installs etcd-server)");
    WARN("etcd is not installed: the fleet tests were skipped");
  }
  return c;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("fleet: three gate replicas on three members race, the LKG only ever rises", "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("race");
  Fleet fleet(etcd->url(prefix));
  std::mt19937 rng(7);
  for (int round = 0; round < 4; ++round) {
    std::vector<pid_t> gates;
    for (int replica = 0; replica < 3; ++replica) {
      std::vector<int> generations;
      for (int g = 1; g <= 6; ++g) generations.push_back(round * 6 + g);
      std::shuffle(generations.begin(), generations.end(), rng);
      // Each replica submits its six, one after another, against its own member.
      std::string script;
      for (int g : generations) {
        std::string out = fleet.files.tmp / ("out-" + std::to_string(replica));
        std::string cmd;
        for (const auto& a : fleet.gate_args(etcd->url_from(replica, prefix), fleet.files.artifact(g), out))
          cmd += " '" + a + "'";
        script += std::string(INVAR_CLI) + cmd + " >> " + (fleet.files.tmp / ("log-" + std::to_string(replica))) +
                  " 2>&1; echo \"$?\" >> " + (fleet.files.tmp / ("codes-" + std::to_string(replica))) + "\n";
      }
      pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      gates.push_back(pid);
    }
    for (pid_t pid : gates) REQUIRE(wait_exit(pid) == 0);
    for (int replica = 0; replica < 3; ++replica) {
      std::string codes = test::slurp(fleet.files.tmp / ("codes-" + std::to_string(replica)));
      INFO(test::slurp(fleet.files.tmp / ("log-" + std::to_string(replica))));
      CHECK(codes.find('3') == std::string::npos);  // every gate could judge
    }
    auto status = fleet.status(etcd->url(prefix));
    CHECK(status["lkg"]["generation"] == std::to_string(round * 6 + 6));
  }
  // Every accept raised the generation: no older plan was ever promoted after a newer one.
  int last = 0, accepts = 0;
  auto decisions = fleet.decisions(etcd->url(prefix));
  INFO(decisions.size() << " decisions; the last: " << (decisions.empty() ? json() : decisions.back()).dump());
  for (const auto& d : decisions) {
    if (d["verdict"] != "accept") continue;
    int g = std::stoi(d["generation"].get<std::string>());
    CHECK(g > last);
    last = g;
    ++accepts;
  }
  CHECK(last == 24);
  CHECK(accepts >= 4);
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: the delayed Enactor: a gate paused after judging finds its commit refused and pins",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  for (const char* point : {"gate:judged", "etcd:objects-written"}) {
    INFO(point);
    std::string prefix = test::fresh_prefix("enactor");
    Fleet fleet(etcd->url(prefix));
    std::string state_a = etcd->url_from(0, prefix), state_b = etcd->url_from(1, prefix),
                state_c = etcd->url_from(2, prefix);
    REQUIRE(test::invar(fleet.gate_args(state_b, fleet.files.artifact(1), fleet.files.tmp / "b.json")).exit == 0);
    // A judges generation 2 against 1, and stops there (a paused host). It
    // publishes on its own host: another directory than B's and C's.
    std::filesystem::create_directory(fleet.files.tmp / "host-a");
    std::string out_a = fleet.files.tmp / "host-a/plan.json";
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t a = fork();
    if (a == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      setenv("INVAR_FAULT", point, 1);
      setenv("INVAR_FAULT_STOP", "1", 1);
      test::exec_invar(fleet.gate_args(state_a, fleet.files.artifact(2), out_a));
    }
    close(fds[1]);
    int status = 0;
    REQUIRE(waitpid(a, &status, WUNTRACED) == a);
    REQUIRE(WIFSTOPPED(status));
    // Meanwhile B and C promote 3 and 4.
    REQUIRE(test::invar(fleet.gate_args(state_b, fleet.files.artifact(3), fleet.files.tmp / "b.json")).exit == 0);
    REQUIRE(test::invar(fleet.gate_args(state_c, fleet.files.artifact(4), fleet.files.tmp / "c.json")).exit == 0);
    kill(a, SIGCONT);
    std::string out = test::read_all(fds[0]);
    waitpid(a, &status, 0);
    INFO(out);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);  // pin: generation 2 is older than the LKG 4
    CHECK(contains(out, "judged 2 times: 1 write(s) refused because another writer changed the stream meanwhile"));
    CHECK(test::slurp(out_a) == test::slurp(fleet.files.artifact(4)));  // A published the LKG 4, never 2
    CHECK(fleet.status(state_b)["lkg"]["generation"] == "4");
  }
}

TEST_CASE("fleet: a gate killed at any point of an etcd promotion leaves the old LKG or the new, verified",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  for (const char* point : {"gate:judged", "etcd:objects-written", "gate:promoted"}) {
    INFO(point);
    std::string prefix = test::fresh_prefix("kill");
    Fleet fleet(etcd->url(prefix));
    REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.tmp / "o.json")).exit == 0);
    auto killed = test::run({}, fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.tmp / "o.json"),
                            {std::string("INVAR_FAULT=") + point});
    CHECK(killed.signal == SIGKILL);
    auto status = fleet.status(fleet.url);  // verifies every record and artifact
    std::string generation = status["lkg"]["generation"];
    CHECK((generation == "1" || generation == "2"));
    if (std::string(point) == "gate:promoted") CHECK(generation == "2");  // killed after its commit
    // A later gate decides as usual.
    CHECK(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(3), fleet.files.tmp / "o.json")).exit == 0);
    CHECK(fleet.status(fleet.url)["lkg"]["generation"] == "3");
  }
}

TEST_CASE("fleet: init with a seed is one fenced unit: a gate that accepted while the seed uploaded keeps its LKG",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("seed");
  Fleet fleet(etcd->url(prefix));
  // Over 512 KiB: its chunks are written before the commit, as a 30 MB seed's are.
  std::string seed = fleet.files.tmp / "seed.json";
  test::spit(seed, "{\"generation\": 1, \"items\": [1], \"pad\": \"" + std::string(600 << 10, 'x') + "\"}");
  auto paused = test::invar_paused_at("init:judged", {"init", "--state", fleet.url, "--stream", "t", "--contract",
                                                      fleet.files.contract, "--by", "test", "--reason", "in service",
                                                      seed});
  REQUIRE(paused.stopped);
  std::string out = fleet.files.tmp / "t.json";
  std::vector<std::string> gate = {"gate", "--contract", fleet.files.contract, "--stream", "t", "--state", fleet.url,
                                   "--out", out, "--create", fleet.files.artifact(2)};
  REQUIRE(test::invar(gate).exit == 0);  // generation 2, accepted and published meanwhile
  auto r = paused.resume();
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "was created while this init ran"));
  CHECK(contains(r.out, "an LKG appeared: sequence 1"));
  auto st = test::invar({"status", "--state", fleet.url, "t", "--format", "json"});
  REQUIRE(st.exit == 0);
  CHECK(json::parse(st.out)["streams"][0]["lkg"]["generation"] == "2");
  gate[gate.size() - 1] = fleet.files.artifact(3, 0);  // no items: pinned
  CHECK(test::invar(gate).exit == 2);
  CHECK(test::slurp(out) == test::slurp(fleet.files.artifact(2)));  // the LKG in service, never the seed
}
#endif

TEST_CASE("fleet: an LKG record rolled back in etcd is refused by the gate and by a restarted watcher", "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("rollback");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  const std::string lkg_key = prefix + "/streams/s/r/lkg";
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
  auto first = raw.get(lkg_key);
  REQUIRE(first);
  REQUIRE(first.value());
  for (int g = 2; g <= 3; ++g)
    REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(g), fleet.files.out)).exit == 0);
  std::string served = fleet.files.tmp / "served.json";
  std::vector<std::string> watch = {"watch", "--state", fleet.url, "--stream", "s", "--out", served, "--once"};
  REQUIRE(test::invar(watch).exit == 0);
  REQUIRE(test::slurp(served) == test::slurp(fleet.files.artifact(3)));
  REQUIRE_FALSE(raw.put(lkg_key, first.value()->value));  // the record of sequence 1, written again
  auto w = test::invar(watch);  // a watcher started again
  INFO(w.out);
  CHECK(w.exit == 3);
  CHECK(contains(w.out, "is older than the one already served (sequence 3)"));
  CHECK(test::slurp(served) == test::slurp(fleet.files.artifact(3)));
  auto r = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.out));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "is older than its journal says"));
  CHECK(test::slurp(fleet.files.out) == test::slurp(fleet.files.artifact(3)));
  CHECK(fleet.decisions(fleet.url).size() == 3);
}

TEST_CASE("fleet: losing one member of three changes nothing, losing two is exit 3 with the LKG intact",
          "[fleet]") {
  if (!cluster_or_skip()) return;
  auto own = test::EtcdCluster::start();  // its own: members are stopped here
  REQUIRE(own);
  test::EtcdCluster& etcd = *own;
  Fleet fleet(etcd.url("loss"));
  std::string out = fleet.files.tmp / "o.json";
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), out)).exit == 0);
  etcd.stop(0, SIGKILL);
  CHECK(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), out)).exit == 0);
  CHECK(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(3), out)).exit == 0);
  etcd.stop(1, SIGKILL);
  test::spit(out, "untouched");
  auto r = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(4), out));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(contains(r.out, "etcd is unreachable"));
  CHECK(test::slurp(out) == "untouched");  // nothing published
  etcd.restart(0);
  etcd.restart(1);
  REQUIRE(etcd.ready());
  CHECK(fleet.status(fleet.url)["lkg"]["generation"] == "3");  // intact
  CHECK(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(4), out)).exit == 0);
  CHECK(test::slurp(out) == test::slurp(fleet.files.artifact(4)));
}

TEST_CASE("fleet: bad locations, unreachable members and foreign keys are exit 3, nothing published", "[fleet]") {
  test::Fixture f;
  auto gate = [&](const std::string& state) {
    test::spit(f.out, "untouched");
    return test::invar({"gate", "--contract", f.contract, "--stream", "s", "--state", state, "--out", f.out,
                        "--state-timeout", "1s", f.artifact(1)});
  };
  for (const char* bad : {"etcd://", "etcd://host", "etcd://127.0.0.1:99999/p", "etcd://:2379/p", "http://127.0.0.1:2379"}) {
    INFO(bad);
    auto r = gate(bad);
    CHECK(r.exit == 3);
    CHECK(test::slurp(f.out) == "untouched");
  }
  CHECK(contains(gate("etcd://127.0.0.1/p").out, "is not HOST:PORT (expected etcd://HOST:PORT[,HOST:PORT...][/PREFIX])"));
  // watch: an unknown stream, a bad interval.
  CHECK(test::invar({"watch", "--state", f.state, "--stream", "s", "--out", f.out, "--once"}).exit == 3);
  CHECK(test::invar({"watch", "--state", f.state, "--stream", "s", "--out", f.out, "--interval", "0s"}).exit == 3);
  auto unreachable = gate("etcd://127.0.0.1:" + std::to_string(test::free_port()) + "/p");
  CHECK(unreachable.exit == 3);
  CHECK(contains(unreachable.out, "etcd is unreachable"));
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  // Keys that are not invar's records where they should be.
  std::string prefix = test::fresh_prefix("foreign");
  invar::StoreOptions options;
  invar::store::EtcdClient client({{etcd->member(0)}, prefix + "/"}, options);
  REQUIRE_FALSE(client.put(prefix + "/invar-state", "not a record"));
  auto r = gate(etcd->url(prefix));
  INFO(r.out);
  CHECK(r.exit == 3);
  CHECK(test::slurp(f.out) == "untouched");
  std::string other = test::fresh_prefix("corrupt");
  Fleet fleet(etcd->url(other));
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
  invar::store::EtcdClient raw({{etcd->member(0)}, other + "/"}, options);
  REQUIRE_FALSE(raw.put(other + "/streams/s/r/lkg", "{\"format\": \"invar-lkg\"}"));
  test::spit(fleet.files.out, "untouched");
  auto corrupt = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.out));
  CHECK(corrupt.exit == 3);
  CHECK(test::slurp(fleet.files.out) == "untouched");
  // An LKG key deleted is not a new stream: the journal shows there was one.
  REQUIRE_FALSE(raw.remove_prefix(other + "/streams/s/r/lkg"));
  auto gone = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.out));
  CHECK(gone.exit == 3);
  CHECK(contains(gone.out, "is missing, but the journal records an LKG"));
  CHECK(test::slurp(fleet.files.out) == "untouched");
}

TEST_CASE("fleet: chunks of a gate killed before its commit are collected by a later gate or status --repair",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("orphans");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  auto stored = [&] { return raw.count(prefix + "/streams/s/meta/objects/").value(); };
  // Over 1 MiB: its chunks are written before the commit (a small one commits with them).
  auto large = [&](int generation) {
    std::string path = fleet.files.tmp / ("large" + std::to_string(generation) + ".json");
    test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"items\": [1], \"pad\": \"" +
                         std::string(1200 << 10, 'x') + "\"}");
    return path;
  };
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
  auto killed = test::run({}, fleet.gate_args(fleet.url, large(2), fleet.files.out), {"INVAR_FAULT=etcd:objects-written"});
  REQUIRE(killed.signal == SIGKILL);
  CHECK(stored() == 2);  // the LKG and the orphan
  // Younger than the grace period (10 minutes by default): kept, a gate may be about to commit it.
  auto args = fleet.gate_args(fleet.url, fleet.files.artifact(3), fleet.files.out);
  REQUIRE(test::invar(args).exit == 0);
  CHECK(stored() == 3);
  // A later gate past the grace collects it (and keeps the retained ones).
  args = fleet.gate_args(fleet.url, fleet.files.artifact(4), fleet.files.out);
  args.insert(args.end() - 1, {"--orphan-grace", "0s"});
  REQUIRE(test::invar(args).exit == 0);
  CHECK(stored() == 3);  // generations 1, 3 and 4
  CHECK(raw.count(prefix + "/streams/s/objects/" + invar::digest::sha256(test::slurp(large(2))).substr(7) + "/").value() == 0);
  // status --repair does the same, and journals it.
  killed = test::run({}, fleet.gate_args(fleet.url, large(5), fleet.files.out), {"INVAR_FAULT=etcd:objects-written"});
  REQUIRE(killed.signal == SIGKILL);
  CHECK(stored() == 4);
  auto repaired = test::invar({"status", "--state", fleet.url, "s", "--repair", "--orphan-grace", "0s"});
  INFO(repaired.out);
  CHECK(repaired.exit == 0);
  CHECK(contains(repaired.out, "invar: repaired s: collected 1 stored object(s) outside the LKG and the retention list"));
  CHECK(stored() == 3);
  CHECK(fleet.status(fleet.url)["lkg"]["generation"] == "4");
}

namespace {

// An artifact of about `kib` KiB that the race contract accepts, its bytes
// varied (each chunk of it differs).
std::string large_artifact(test::Fixture& files, int generation, size_t kib) {
  std::string path = files.tmp / ("many" + std::to_string(generation) + ".json");
  std::string pad;
  pad.reserve(kib << 10);
  std::mt19937 rng(static_cast<uint32_t>(generation));
  while (pad.size() < (kib << 10)) pad += static_cast<char>('a' + rng() % 26);
  test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"items\": [1], \"pad\": \"" + pad + "\"}");
  return path;
}

}  // namespace

TEST_CASE("etcd wire: base64 round-trips every length and refuses what is not base64, deflate refuses a wrong size",
          "[fleet]") {
  using invar::store::base64_decode;
  using invar::store::base64_encode;
  std::mt19937 rng(7);
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes += static_cast<char>(rng() & 0xff);
    auto text = base64_encode(bytes);
    CHECK(text.size() == (n + 2) / 3 * 4);
    CHECK(base64_decode(text) == std::optional<std::string>(bytes));
  }
  CHECK(base64_encode("hello world") == "aGVsbG8gd29ybGQ=");
  for (const char* bad : {"A", "ABC", "A===", "=AAA", "AB=C", "AB\nC", "aGVsbG8gd29ybGQ=AAAA", "AA-_"}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad));
  }
  std::string plan(300 << 10, 'p');
  auto deflated = invar::store::deflate_bytes(plan);
  REQUIRE(deflated);
  CHECK(deflated->size() < plan.size() / 10);
  std::string why;
  CHECK(invar::store::inflate_bytes(*deflated, plan.size(), &why) == std::optional<std::string>(plan));
  CHECK_FALSE(invar::store::inflate_bytes(*deflated, plan.size() - 1, &why));  // never more than the record says
  CHECK(contains(why, "does not inflate to the size its record says (corrupted)"));
  CHECK_FALSE(invar::store::inflate_bytes(*deflated, plan.size() + 1, &why));
  CHECK_FALSE(invar::store::inflate_bytes("not zlib data", 10, &why));
  CHECK_FALSE(invar::store::deflate_bytes("short"));  // not smaller: stored as it is
}

TEST_CASE("etcd wire: answers of another shape are read as absent, never thrown, and the watch scan says why", "[fleet]") {
  using nlohmann::json;
  json odd = json::parse(R"({"succeeded": "yes", "created": {"code": 14}, "message": ["x"], "count": -3,
                             "revision": "12", "written": 5, "responses": 7})");
  CHECK_FALSE(invar::store::etcd_flag(odd, "succeeded"));
  CHECK_FALSE(invar::store::etcd_flag(odd, "created"));
  CHECK(invar::store::etcd_text(odd, "message", "none") == "none");
  CHECK(invar::store::etcd_number(odd, "count") == 0);
  CHECK(invar::store::etcd_number(odd, "revision") == 12);
  CHECK(invar::store::etcd_number(json{{"written", int64_t{5}}}, "written") == 5);  // signed, as built in memory
  CHECK(invar::store::etcd_field(odd, "responses") == json(7));
  CHECK(invar::store::etcd_field(json::array(), "responses").is_null());
  CHECK(invar::store::etcd_number(json("text"), "count") == 0);

  // What fuzz_watch found: a "created" that is not a boolean ended the process.
  invar::store::WatchScan scan;
  scan.feed(R"({"result": {"header": {"revision": "10"}, "created": {"grpc_code": 14}}})" "\n");
  CHECK_FALSE(scan.created);
  CHECK(scan.why.empty());
  scan.feed(R"({"result": {"header": {"revision": "11"}, "events": [{"kv": {"key": "eA==", "mod_revision": "11"}}]}})");
  CHECK(scan.newest == 11);
  scan.feed(R"({"error": {"grpc_code": 14}, "code": 14, "message": 7})");
  CHECK(scan.why == "error 14");
  CHECK(scan.over());
}

TEST_CASE("fleet: an artifact of many chunks, over one transaction, is written at once and served verified",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("many-chunks");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  // 5 MiB of letters, deflated to about 3 MiB: chunks of 768 KiB, several requests in flight, over
  // etcd's 1.5 MiB request limit.
  std::string big = large_artifact(fleet.files, 2, 5 << 10);
  std::string bytes = test::slurp(big);
  std::string hex = invar::digest::sha256(bytes).substr(7);
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
  auto accepted = test::invar(fleet.gate_args(fleet.url, big, fleet.files.out));
  INFO(accepted.out);
  REQUIRE(accepted.exit == 0);
  CHECK(test::slurp(fleet.files.out) == bytes);
  auto stored = raw.get(prefix + "/streams/s/meta/objects/" + hex);
  REQUIRE(stored);
  REQUIRE(stored.value());
  json meta = json::parse(stored.value()->value);
  const uint64_t chunks = meta["chunks"];
  CHECK(chunks >= 3);
  CHECK(meta["bytes"] == bytes.size());
  CHECK(meta["deflated"] < bytes.size());
  CHECK(raw.count(prefix + "/streams/s/objects/" + hex + "/c/").value() == chunks);
  // Read back through the library: the bytes and their digest.
  auto store = invar::StateStore::open(fleet.url);
  REQUIRE(store);
  auto lkg = store->lkg_artifact("s");
  REQUIRE(lkg);
  REQUIRE(lkg.value());
  CHECK(**lkg == bytes);
  CHECK(invar::digest::sha256(**lkg) == "sha256:" + hex);
  // An older candidate pins: the LKG's bytes are read, verified, published.
  test::spit(fleet.files.out, "untouched");
  auto pinned = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out));
  CHECK(pinned.exit == 2);
  CHECK(test::slurp(fleet.files.out) == bytes);
  // A chunk changed behind invar's back is never served: the pin reads it and refuses it.
  std::string chunk = prefix + "/streams/s/objects/" + hex + "/c/000001";
  auto original = raw.get(chunk);
  REQUIRE(original);
  REQUIRE(original.value());
  std::string changed = original.value()->value;
  changed[100] = changed[100] == 'a' ? 'b' : 'a';
  REQUIRE_FALSE(raw.put(chunk, changed));
  test::spit(fleet.files.out, "untouched");
  auto corrupt = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out));
  INFO(corrupt.out);
  CHECK(corrupt.exit == 3);
  CHECK(contains(corrupt.out, "(corrupted); invar will not use it"));
  CHECK(test::slurp(fleet.files.out) == "untouched");
  // A chunk missing is refused before anything is judged, even by a gate that would accept.
  REQUIRE_FALSE(raw.remove_prefix(chunk));
  auto missing = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(3), fleet.files.out));
  INFO(missing.out);
  CHECK(missing.exit == 3);
  CHECK(contains(missing.out, "the artifact has " + std::to_string(chunks - 1) + " chunks, its record says " +
                                  std::to_string(chunks)));
  CHECK(test::slurp(fleet.files.out) == "untouched");
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: a gate killed while its chunks are written leaves no record naming them, the next gate promotes",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  for (const char* point : {"etcd:chunk-written", "etcd:chunks-written"}) {
    INFO(point);
    std::string prefix = test::fresh_prefix("killed-chunks");
    Fleet fleet(etcd->url(prefix));
    invar::StoreOptions options;
    invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
    REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
    std::string big = large_artifact(fleet.files, 2, 4 << 10);
    std::string hex = invar::digest::sha256(test::slurp(big)).substr(7);
    auto killed = test::run({}, fleet.gate_args(fleet.url, big, fleet.files.out), {std::string("INVAR_FAULT=") + point});
    REQUIRE(killed.signal == SIGKILL);
    // Some or all of its chunks, never its meta: nothing can name them, the LKG is the old one, verified.
    CHECK(raw.count(prefix + "/streams/s/objects/" + hex + "/c/").value() >= 1);
    CHECK(raw.count(prefix + "/streams/s/meta/objects/" + hex).value() == 0);
    auto status = fleet.status(fleet.url);
    CHECK(status["lkg"]["generation"] == "1");
    CHECK(test::slurp(fleet.files.out) == test::slurp(fleet.files.artifact(1)));
    // The same artifact again: written whole, promoted, served verified.
    auto again = test::invar(fleet.gate_args(fleet.url, big, fleet.files.out));
    INFO(again.out);
    REQUIRE(again.exit == 0);
    CHECK(fleet.status(fleet.url)["lkg"]["generation"] == "2");
    auto store = invar::StateStore::open(fleet.url);
    REQUIRE(store);
    auto lkg = store->lkg_artifact("s");
    REQUIRE(lkg);
    REQUIRE(lkg.value());
    CHECK(**lkg == test::slurp(big));
  }
}
#endif

TEST_CASE("fleet: an artifact over the etcd limit is exit 3 naming it, or goes to a shared blob directory, verified",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  Fleet fleet(etcd->url(test::fresh_prefix("blobs")));
  std::string blobs = fleet.files.tmp / "blobs";
  std::filesystem::create_directory(blobs);
  auto big = [&](int generation) {
    std::string path = fleet.files.tmp / ("big" + std::to_string(generation) + ".json");
    test::spit(path, "{\"generation\": " + std::to_string(generation) + ", \"items\": [1], \"pad\": \"" +
                         std::string(300 << 10, 'y') + "\"}");
    return path;
  };
  auto gate = [&](const std::string& artifact, std::vector<std::string> extra) {
    auto args = fleet.gate_args(fleet.url, artifact, fleet.files.out);
    args.insert(args.end() - 1, {"--etcd-max-artifact", "100KiB"});
    args.insert(args.end() - 1, extra.begin(), extra.end());
    return test::invar(args);
  };
  test::spit(fleet.files.out, "untouched");
  auto refused = gate(big(1), {});
  CHECK(refused.exit == 3);
  CHECK(contains(refused.out, "bytes is over the 102400 bytes the etcd backend stores (StoreOptions::max_artifact_bytes, "
                              "--etcd-max-artifact); give a shared blob directory (--blobs DIR) to store larger ones"));
  CHECK(test::slurp(fleet.files.out) == "untouched");
  REQUIRE(gate(big(1), {"--blobs", blobs}).exit == 0);
  REQUIRE(gate(fleet.files.artifact(2), {"--blobs", blobs}).exit == 0);  // small: in etcd
  CHECK(test::slurp(fleet.files.out) == test::slurp(fleet.files.artifact(2)));
  std::string hex = invar::digest::sha256(test::slurp(big(1))).substr(7);
  std::string blob = blobs + "/s/objects/" + hex;
  CHECK(test::slurp(blob) == test::slurp(big(1)));
  // Readers need the directory too; with it they verify the blob.
  auto status = test::invar({"status", "--state", fleet.url, "s", "--blobs", blobs});
  CHECK(status.exit == 0);
  auto blind = test::invar({"status", "--state", fleet.url, "s"});
  CHECK(blind.exit == 3);
  CHECK(contains(blind.out, "the object is stored in a blob directory: give it (--blobs DIR, StoreOptions::blobs_dir)"));
  REQUIRE(gate(big(3), {"--blobs", blobs}).exit == 0);
  CHECK(test::invar({"watch", "--state", fleet.url, "--stream", "s", "--out", fleet.files.tmp / "w.json", "--once",
                     "--blobs", blobs}).exit == 0);
  CHECK(test::slurp(fleet.files.tmp / "w.json") == test::slurp(big(3)));
  // A blob changed behind invar's back is never used: a pin cannot publish it, so nothing is.
  std::string hex3 = invar::digest::sha256(test::slurp(big(3))).substr(7);
  std::string text = test::slurp(blobs + "/s/objects/" + hex3);
  text[text.size() / 2] = 'z';
  test::spit(blobs + "/s/objects/" + hex3, text);
  test::spit(fleet.files.out, "untouched");
  auto corrupt = gate(fleet.files.artifact(2), {"--blobs", blobs});  // older: would pin to the corrupt LKG
  INFO(corrupt.out);
  CHECK(corrupt.exit == 3);
  CHECK(contains(corrupt.out, "does not match its SHA-256 (corrupted); invar will not use it"));
  CHECK(test::slurp(fleet.files.out) == "untouched");
}

TEST_CASE("fleet: a Guard fed by the stream in etcd serves each promotion, verified, and what its consumer can use",
          "[fleet][api]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  Fleet fleet(etcd->url(test::fresh_prefix("guard")));
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out)).exit == 0);
  auto contract = invar::Contract::load_file(fleet.files.contract);
  REQUIRE(contract);
  auto store = invar::StateStore::open(fleet.url);
  REQUIRE(store);
  auto guard = invar::Guard::persistent(*contract, *store, "s");
  REQUIRE(guard);
  REQUIRE(guard->current());
  CHECK(*guard->current() == test::slurp(fleet.files.artifact(1)));  // it starts with the LKG in service
  CHECK(guard->refresh().value() == std::nullopt);
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.out)).exit == 0);
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(3), fleet.files.out)).exit == 0);
  auto next = guard->refresh();
  REQUIRE(next);
  REQUIRE(next.value());
  CHECK(next.value()->sequence == 3);  // the newest: intermediate ones may be skipped
  CHECK(*guard->current() == test::slurp(fleet.files.artifact(3)));
  // A rejected candidate is never served; an LKG its consumer cannot use is not either, until it can.
  CHECK(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(4, 0), fleet.files.out)).exit == 2);
  CHECK(guard->refresh().value() == std::nullopt);
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(5), fleet.files.out)).exit == 0);
  auto refused = guard->refresh([](std::string_view) { return std::optional<std::string>("too new for me"); });
  REQUIRE_FALSE(refused);
  CHECK(contains(refused.error().message, "the consumer cannot use LKG sequence 4"));
  CHECK(contains(refused.error().message, "too new for me; the guard keeps serving what it had"));
  CHECK(*guard->current() == test::slurp(fleet.files.artifact(3)));
  auto later = guard->refresh();
  REQUIRE(later);
  REQUIRE(later.value());
  CHECK(later.value()->sequence == 4);
  CHECK(*guard->current() == test::slurp(fleet.files.artifact(5)));
  // Its own accepted update counts as served: it does not go back.
  auto u = guard->update(test::slurp(fleet.files.artifact(6)));
  CHECK(u.decision.action == invar::Action::accept);
  CHECK(guard->refresh().value() == std::nullopt);
  CHECK(*guard->current() == test::slurp(fleet.files.artifact(6)));
}

TEST_CASE("fleet: etcd with authentication: wrong or missing credentials are exit 3, the right ones gate",
          "[fleet]") {
  if (!cluster_or_skip()) return;
  auto own = test::EtcdCluster::start({"--auth-token-ttl", "1"});  // its own: authentication is enabled on it
  REQUIRE(own);
  test::EtcdCluster& etcd = *own;
  std::string ctl = "etcdctl --endpoints " + etcd.member(0);
  REQUIRE(std::system((ctl + " user add root --new-user-password=s3cret >/dev/null").c_str()) == 0);
  REQUIRE(std::system((ctl + " role add root >/dev/null && " + ctl + " user grant-role root root >/dev/null").c_str()) == 0);
  REQUIRE(std::system((ctl + " auth enable >/dev/null").c_str()) == 0);
  test::Fixture files;
  std::string url = etcd.url("auth");
  auto init = [&](std::vector<std::string> extra, std::vector<std::string> env) {
    std::vector<std::string> args = {"init", "--state", url, "--stream", "s", "--contract", files.contract, "--by", "t"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::run({}, args, env);
  };
  auto none = init({}, {});
  CHECK(none.exit == 3);
  auto wrong = init({"--etcd-user", "root"}, {"INVAR_ETCD_PASSWORD=guess"});
  INFO(wrong.out);
  CHECK(wrong.exit == 3);
  CHECK(contains(wrong.out, "authentication failed"));
  auto unset = init({"--etcd-user", "root"}, {});
  CHECK(unset.exit == 3);
  CHECK(contains(unset.out, "--etcd-user needs the password in INVAR_ETCD_PASSWORD"));
  REQUIRE(init({"--etcd-user", "root"}, {"INVAR_ETCD_PASSWORD=s3cret"}).exit == 0);
  auto gate = [&](const std::string& artifact, std::vector<std::string> env) {
    return test::run({}, {"gate", "--contract", files.contract, "--stream", "s", "--state", url, "--out", files.out,
                          "--etcd-user", "root", artifact}, env);
  };
  test::spit(files.out, "untouched");
  CHECK(gate(files.artifact(1), {"INVAR_ETCD_PASSWORD=guess"}).exit == 3);
  CHECK(test::slurp(files.out) == "untouched");
  CHECK(gate(files.artifact(1), {"INVAR_ETCD_PASSWORD=s3cret"}).exit == 0);
  CHECK(test::slurp(files.out) == test::slurp(files.artifact(1)));
  // A follower outlives its token (1 s here; 5 min by default): it authenticates again.
  invar::StoreOptions options;
  options.user = "root";
  options.password = "s3cret";
  auto store = invar::StateStore::open(url, options);
  REQUIRE(store);
  invar::Follower follower(*store, "s");
  auto first = follower.poll();
  REQUIRE(first);
  REQUIRE(first.value());
  follower.served(first.value()->lkg.sequence);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the token's lifetime passing, not synchronisation
  CHECK(gate(files.artifact(2), {"INVAR_ETCD_PASSWORD=s3cret"}).exit == 0);
  auto after = follower.poll();
  INFO((after ? std::string() : after.error().to_string()));
  REQUIRE(after);
  REQUIRE(after.value());
  CHECK(*after.value()->artifact == test::slurp(files.artifact(2)));
}

TEST_CASE("fleet: the journal in etcd keeps the newest N records, and none past the age limit but the newest 64",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("journal");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  const std::string journal = prefix + "/streams/s/journal/";
  auto count = [&] { return raw.count(journal).value(); };
  // 100 records of 60 days ago (repairs, appended as an older gate would have).
  const int64_t days_ago_60 = invar::Time::now().ms() - 60ll * 86'400'000;
  auto store = invar::store::open_etcd_store(etcd->url(prefix), options);
  REQUIRE(store);
  for (int i = 0; i < 100; ++i) {
    invar::JournalRecord r;
    r.event = "repair";
    r.stream = "s";
    r.time_ms = days_ago_60 + i * 1000;
    r.detail = "old " + std::to_string(i);
    REQUIRE_FALSE((*store)->append("s", r));
  }
  REQUIRE(count() == 101);  // and the init record
  // Under both limits (10000 records, 90 days) nothing goes.
  auto first = test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out));
  INFO(first.out);
  REQUIRE(first.exit == 0);
  CHECK(count() == 102);
  // Past the age limit: the old ones go, but the newest 64 stay.
  auto args = fleet.gate_args(fleet.url, fleet.files.artifact(2), fleet.files.out);
  args.insert(args.end() - 1, {"--journal-max-age", "30d"});
  REQUIRE(test::invar(args).exit == 0);
  CHECK(count() == 65);  // the init record, created before the old ones, is not old: it stays too
  auto history = fleet.decisions(fleet.url);
  REQUIRE(history.size() == 2);
  // Past the record limit: exactly the newest N stay, whatever their age.
  args = fleet.gate_args(fleet.url, fleet.files.artifact(3), fleet.files.out);
  args.insert(args.end() - 1, {"--journal-keep", "10"});
  REQUIRE(test::invar(args).exit == 0);
  CHECK(count() == 10);
  CHECK(fleet.decisions(fleet.url).size() == 3);
  // The stream still verifies and gates on.
  CHECK(fleet.status(fleet.url)["lkg"]["sequence"] == 3);
  CHECK(test::invar({"gate", "--contract", fleet.files.contract, "--stream", "s", "--state", fleet.url, "--out",
                     fleet.files.out, "--journal-keep", "0", fleet.files.artifact(4)}).exit == 3);
}

namespace {

// Polls (up to 30 s) until `done` holds: waiting on processes, not timing them.
template <class F>
bool eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace

TEST_CASE("fleet: followers see each promotion in order, never a rejected one, across a restart and a compaction",
          "[fleet]") {
  if (!cluster_or_skip()) return;
  auto own = test::EtcdCluster::start();  // its own: it is restarted here
  REQUIRE(own);
  test::EtcdCluster& etcd = *own;
  Fleet fleet(etcd.url("follow"));
  std::string out = fleet.files.tmp / "gate.json";
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), out)).exit == 0);
  std::vector<pid_t> watchers;
  for (int i = 0; i < 3; ++i) {
    std::string file = fleet.files.tmp / ("w" + std::to_string(i) + ".json");
    std::string log = fleet.files.tmp / ("w" + std::to_string(i) + ".log");
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      test::exec_invar({"watch", "--state", etcd.url_from(i, "follow"), "--stream", "s", "--out", file, "--interval",
                        "100ms", "--state-timeout", "1s", "--exec",
                        "echo \"$INVAR_LKG_SEQUENCE $INVAR_LKG_DIGEST\" >> '" + log + "'"});
    }
    watchers.push_back(pid);
  }
  auto all_serve = [&](const std::string& artifact) {
    return eventually([&] {
      for (int i = 0; i < 3; ++i)
        if (test::slurp(fleet.files.tmp / ("w" + std::to_string(i) + ".json")) != test::slurp(artifact)) return false;
      return true;
    });
  };
  CHECK(all_serve(fleet.files.artifact(1)));  // they start with the LKG in service
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(2), out)).exit == 0);
  std::string rejected = fleet.files.artifact(3, 0);  // no items: pinned
  REQUIRE(test::invar(fleet.gate_args(fleet.url, rejected, out)).exit == 2);
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(4), out)).exit == 0);
  CHECK(all_serve(fleet.files.artifact(4)));
  // A compaction of everything so far, and a restart of the whole cluster.
  std::string compact = "rev=$(etcdctl --endpoints " + etcd.member(0) +
                        " endpoint status -w json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2) && "
                        "etcdctl --endpoints " + etcd.member(0) + " compact \"$rev\" >/dev/null";
  CHECK(std::system(compact.c_str()) == 0);
  for (int i = 0; i < 3; ++i) etcd.stop(i);
  for (int i = 0; i < 3; ++i) etcd.restart(i);
  REQUIRE(etcd.ready());
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(5), out)).exit == 0);
  CHECK(all_serve(fleet.files.artifact(5)));
  for (pid_t pid : watchers) {
    kill(pid, SIGTERM);
    CHECK(wait_exit(pid) == 0);
  }
  // What each follower wrote: rising sequences, accepted artifacts only.
  std::set<std::string> accepted;
  for (int g : {1, 2, 4, 5}) accepted.insert(invar::digest::sha256(test::slurp(fleet.files.artifact(g))));
  for (int i = 0; i < 3; ++i) {
    std::istringstream log(test::slurp(fleet.files.tmp / ("w" + std::to_string(i) + ".log")));
    uint64_t last = 0, sequence = 0;
    std::string digest;
    int lines = 0;
    while (log >> sequence >> digest) {
      CHECK(sequence > last);
      CHECK(accepted.count(digest) == 1);
      last = sequence;
      ++lines;
    }
    CHECK(last == 4);  // the fourth promotion: generation 5
    CHECK(lines >= 2);
  }
}

namespace {

std::vector<std::string> waive_args(Fleet& fleet, const std::string& state, const std::string& id,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"waive", "--contract", fleet.files.contract, "--stream", "s", "--state", state,
                                   "--reason", "race " + id, "--expires", "1h", "--by", "test", id};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

json waivers_in(const std::string& state) {
  auto r = test::invar({"waivers", "--state", state, "--stream", "s", "--format", "json"});
  INFO(r.out);
  REQUIRE(r.exit == 0);
  return json::parse(r.out)["waivers"];
}

// Starts `invar ARGS` with the fault point `point` set to stop it; returns
// its pid once it has stopped there, and the read end of its output.
std::pair<pid_t, int> stopped_at(const char* point, const std::vector<std::string>& args) {
  auto paused = test::invar_paused_at(point, args);
  REQUIRE(paused.stopped);
  return {paused.pid, paused.out};
}

}  // namespace

TEST_CASE("fleet: racing waivers on etcd: each one recorded is kept (the list is written fenced)",
          "[fleet][waivers]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  // Many bounded races, two waivers of different invariants at once: none is lost.
  std::string prefix = test::fresh_prefix("waive-race");
  Fleet fleet(etcd->url(prefix));
  for (int round = 0; round < 8; ++round) {
    std::vector<pid_t> racers;
    for (int i = 0; i < 2; ++i) {
      pid_t pid = fork();
      if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        test::exec_invar(waive_args(fleet, etcd->url_from(i, prefix), i ? "gen" : "items",
                                    {"--now", "2026-01-01T00:0" + std::to_string(round) + ":00Z"}));
      }
      racers.push_back(pid);
    }
    for (pid_t pid : racers) REQUIRE(wait_exit(pid) == 0);
    json listed = waivers_in(etcd->url(prefix));
    INFO("round " << round << ": " << listed.dump());
    std::set<std::string> created;
    for (const auto& w : listed)
      if (w["created_at"] == "2026-01-01T00:0" + std::to_string(round) + ":00Z") created.insert(w["invariant"]);
    CHECK(created == std::set<std::string>{"gen", "items"});
  }
#ifdef INVAR_TEST_FAULTS
  // Deterministically: A read the list, then stops; B records its waiver; A goes on.
  prefix = test::fresh_prefix("waive-stop");
  Fleet paused(etcd->url(prefix));
  auto [a, out_a] = stopped_at("gate:waivers-read", waive_args(paused, etcd->url_from(0, prefix), "gen"));
  auto b = test::invar(waive_args(paused, etcd->url_from(1, prefix), "items"));
  INFO(b.out);
  CHECK(b.exit == 0);
  kill(a, SIGCONT);
  std::string a_out = test::read_all(out_a);
  INFO(a_out);
  CHECK(wait_exit(a) == 0);
  json listed = waivers_in(etcd->url(prefix));
  INFO(listed.dump());
  REQUIRE(listed.size() == 2);
  // And so does a gate's --waive racing a waive.
  auto [g, out_g] = stopped_at("gate:waivers-read",
                               {"gate", "--contract", paused.files.contract, "--stream", "s", "--state",
                                etcd->url_from(2, prefix), "--out", paused.files.tmp / "g.json", "--waive", "gen",
                                "--for-generation", "1", "--reason", "first", "--expires", "1h", "--by", "test",
                                paused.files.artifact(1)});
  REQUIRE(test::invar(waive_args(paused, etcd->url_from(0, prefix), "items", {"--for-generation", "9"})).exit == 0);
  kill(g, SIGCONT);
  std::string g_out = test::read_all(out_g);
  INFO(g_out);
  CHECK(wait_exit(g) == 0);
  listed = waivers_in(etcd->url(prefix));
  INFO(listed.dump());
  CHECK(listed.size() == 4);
  size_t journaled = 0;
  auto history = test::invar({"history", "--state", etcd->url(prefix), "s", "--format", "json"});
  json records = json::parse(history.out)["records"];
  for (const auto& rec : records) journaled += rec["event"] == "waiver";
  CHECK(journaled == 4);
#endif
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: a waiver revoked while a gate judged with it is not used: its commit is refused, it judges again",
          "[fleet][waivers]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("revoke");
  Fleet fleet(etcd->url(prefix));
  std::string state = etcd->url(prefix);
  REQUIRE(test::invar(fleet.gate_args(state, fleet.files.artifact(5), fleet.files.tmp / "b.json")).exit == 0);
  auto w = test::invar(waive_args(fleet, state, "gen", {"--format", "json"}));
  REQUIRE(w.exit == 0);
  std::string id = json::parse(w.out)["waiver"]["id"];
  // A judges generation 3 with the waiver in force, and stops before its commit.
  std::string out_a = fleet.files.tmp / "a.json";
  auto [a, fd] = stopped_at("gate:judged", fleet.gate_args(etcd->url_from(0, prefix), fleet.files.artifact(3), out_a));
  auto revoked = test::invar({"waive", "--state", etcd->url_from(1, prefix), "--stream", "s", "--revoke", id,
                              "--reason", "wrong stream", "--by", "test"});
  INFO(revoked.out);
  REQUIRE(revoked.exit == 0);
  kill(a, SIGCONT);
  std::string out = test::read_all(fd);
  INFO(out);
  CHECK(wait_exit(a) == 2);  // pin: judged again without the waiver
  CHECK(contains(out, "judged 2 times"));
  CHECK(test::slurp(out_a) == test::slurp(fleet.files.artifact(5)));
  CHECK(fleet.status(state)["lkg"]["generation"] == "5");

  // A scoped waiver is used up by the accept it lets through, in the same transaction.
  REQUIRE(test::invar(waive_args(fleet, state, "gen", {"--for-generation", "4"})).exit == 0);
  REQUIRE(test::invar(fleet.gate_args(state, fleet.files.artifact(4), out_a)).exit == 0);
  CHECK(test::invar(fleet.gate_args(state, fleet.files.artifact(4, 2), out_a)).exit == 2);
  json listed = waivers_in(state);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["state"] == "used");
}
#endif

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: a gate paused after its commit never publishes over a later decision's artifact (issue 28.3)",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("late-publish");
  Fleet fleet(etcd->url(prefix));
  std::string out = fleet.files.tmp / "plan.json";  // both gates run on this host and publish here
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(1), out)).exit == 0);
  // A promotes 2, and stops before publishing it (a paused VM).
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t a = fork();
  if (a == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    setenv("INVAR_FAULT", "gate:promoted", 1);
    setenv("INVAR_FAULT_STOP", "1", 1);
    test::exec_invar(fleet.gate_args(etcd->url_from(0, prefix), fleet.files.artifact(2), out));
  }
  close(fds[1]);
  int status = 0;
  REQUIRE(waitpid(a, &status, WUNTRACED) == a);
  REQUIRE(WIFSTOPPED(status));
  // B promotes 3 and publishes it meanwhile: not blocked by A.
  auto b = test::run({}, fleet.gate_args(etcd->url_from(1, prefix), fleet.files.artifact(3), out), {}, 60);
  INFO(b.out);
  CHECK(b.signal == 0);
  CHECK(b.exit == 0);
  CHECK(test::slurp(out) == test::slurp(fleet.files.artifact(3)));
  kill(a, SIGCONT);
  std::string a_out = test::read_all(fds[0]);
  waitpid(a, &status, 0);
  INFO(a_out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // its accept stands
  CHECK(contains(a_out, "already holds the artifact of a later decision"));
  CHECK(test::slurp(out) == test::slurp(fleet.files.artifact(3)));  // never back to 2
}
#endif

// ---------------------------------------------------------------------------
// Issue 28: the etcd backend's races (items 7-10, 12).

namespace {

// A CLI process stopped at fault point `point` (INVAR_FAULT_STOP), its
// output on `fd`; REQUIREs that it stopped there.
struct Stopped {
  pid_t pid = -1;
  int fd = -1;

  // Continues it and returns its exit code and output.
  std::pair<int, std::string> finish() {
    kill(pid, SIGCONT);
    std::string out = test::read_all(fd);
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }
};

[[maybe_unused]] Stopped stop_at(const char* point, const std::vector<std::string>& args) {
  auto paused = test::invar_paused_at(point, args);
  if (!paused.stopped) {
    INFO("it did not stop at " << point << ": " << test::read_all(paused.out));
    REQUIRE(paused.stopped);
  }
  return {paused.pid, paused.out};
}

std::unique_ptr<invar::store::Store> raw_store(const test::EtcdCluster& etcd, const std::string& prefix) {
  invar::StoreOptions options;
  return std::move(invar::store::open_etcd_store(etcd.url(prefix), options).value());
}

}  // namespace

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: racing gates update the quarantine list fenced, and no quarantined object outlives it",
          "[fleet][quarantine]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("quarantine");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  auto stored = [&] { return raw.count(prefix + "/streams/s/meta/quarantined/").value(); };
  auto gate = [&](const std::string& artifact, std::string out = "") {
    auto args = fleet.gate_args(fleet.url, artifact, out.empty() ? fleet.files.out : out);
    args.insert(args.end() - 1, {"--quarantine", "2"});
    return args;
  };
  REQUIRE(test::invar(gate(fleet.files.artifact(1))).exit == 0);
  // A has read the list and written its candidate's object, then pauses (on
  // its own host: it publishes into another directory than B's and C's);
  // B and C quarantine theirs meanwhile.
  std::string x = fleet.files.artifact(2, 0), y = fleet.files.artifact(3, 0), z = fleet.files.artifact(4, 0);
  std::filesystem::create_directory(fleet.files.tmp / "host-a");
  Stopped a = stop_at("etcd:quarantine-read", gate(x, fleet.files.tmp / "host-a/plan.json"));
  REQUIRE(test::invar(gate(y)).exit == 2);
  REQUIRE(test::invar(gate(z)).exit == 2);
  auto [code, out] = a.finish();
  INFO(out);
  CHECK(code == 2);
  CHECK_FALSE(contains(out, "could not be quarantined"));
  // A's update was refused and made again on the list B and C left: the newest 2, each stored, nothing else.
  auto list = raw_store(*etcd, prefix)->quarantined("s").value();
  REQUIRE(list.size() == 2);
  CHECK(list[0].digest == invar::digest::sha256(test::slurp(z)));
  CHECK(list[1].digest == invar::digest::sha256(test::slurp(x)));
  CHECK(stored() == 2);
  // A gate killed between writing its candidate's object and the list leaves an
  // object no list names: collected past the grace (by status --repair, and by gates).
  auto killed = test::run({}, gate(fleet.files.artifact(5, 0)), {"INVAR_FAULT=etcd:quarantine-read"});
  REQUIRE(killed.signal == SIGKILL);
  CHECK(stored() == 3);
  CHECK(test::invar({"status", "--state", fleet.url, "s", "--repair"}).exit == 2);  // pinned; within the grace: kept
  CHECK(stored() == 3);
  auto repaired = test::invar({"status", "--state", fleet.url, "s", "--repair", "--orphan-grace", "0s"});
  INFO(repaired.out);
  CHECK(repaired.exit == 2);  // repaired, and still pinned
  CHECK(contains(repaired.out, "collected 1 stored object(s)"));
  CHECK(stored() == 2);
  killed = test::run({}, gate(fleet.files.artifact(6, 0)), {"INVAR_FAULT=etcd:quarantine-read"});
  REQUIRE(killed.signal == SIGKILL);
  CHECK(stored() == 3);
  auto args = gate(fleet.files.artifact(7));
  args.insert(args.end() - 1, {"--orphan-grace", "0s"});
  REQUIRE(test::invar(args).exit == 0);  // an accept's prune
  CHECK(stored() == 2);
  CHECK(raw_store(*etcd, prefix)->quarantined("s").value().size() == 2);
}
#endif

TEST_CASE("fleet: an etcd error names etcd's reason, not unreachable", "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("txn-limit");
  invar::StoreOptions options;
  invar::store::EtcdClient client({{etcd->member(0), etcd->member(1)}, prefix + "/"}, options);
  std::vector<invar::store::TxnOp> ops;
  for (int i = 0; i < 200; ++i) ops.push_back({invar::store::TxnOp::put, prefix + "/k" + std::to_string(i), "v"});
  auto refused = client.txn({}, ops);
  REQUIRE_FALSE(refused);
  INFO(refused.error().message);
  CHECK(contains(refused.error().message, "etcd refused the request"));
  CHECK(contains(refused.error().message, "too many operations in txn request"));
  CHECK_FALSE(contains(refused.error().message, "unreachable"));
}

TEST_CASE("fleet: lowering --keep deletes what leaves retention over several bounded commits", "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("keep");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  auto stored = [&] { return raw.count(prefix + "/streams/s/meta/objects/").value(); };
  {  // 36 promotions kept (in process: quicker than 36 CLI gates)
    auto contract = invar::Contract::load_file(fleet.files.contract);
    REQUIRE(contract);
    invar::GateOptions gate_options;
    gate_options.keep = 36;
    invar::Gate gate(*contract, invar::StateStore::open(fleet.url).value(), gate_options);
    for (int g = 1; g <= 36; ++g) REQUIRE(gate.submit("s", test::slurp(fleet.files.artifact(g))).value().action == invar::Action::accept);
  }
  REQUIRE(stored() == 36);
  // Back to --keep 2: 35 objects leave retention, 140 deletions: more than one transaction may hold.
  auto args = fleet.gate_args(fleet.url, fleet.files.artifact(37), fleet.files.out);
  args.insert(args.end() - 1, {"--keep", "2"});
  auto lowered = test::invar(args);
  INFO(lowered.out);
  REQUIRE(lowered.exit == 0);
  CHECK(test::slurp(fleet.files.out) == test::slurp(fleet.files.artifact(37)));
  CHECK(stored() < 36);  // some deleted by the commit, the rest collected once past the grace
  CHECK(stored() > 2);
  args = fleet.gate_args(fleet.url, fleet.files.artifact(38), fleet.files.out);
  args.insert(args.end() - 1, {"--keep", "2"});
  args.insert(args.end() - 1, {"--orphan-grace", "0s"});
  REQUIRE(test::invar(args).exit == 0);
  CHECK(stored() == 2);
  auto status = fleet.status(fleet.url);
  CHECK(status["lkg"]["generation"] == "38");
}

TEST_CASE("fleet: the journal is trimmed in creation order, never the current LKG's accept, whatever a clock says",
          "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("skew");
  Fleet fleet(etcd->url(prefix));
  invar::StoreOptions options;
  invar::store::EtcdClient raw({{etcd->member(0)}, prefix + "/"}, options);
  auto count = [&] { return raw.count(prefix + "/streams/s/journal/").value(); };
  auto store = raw_store(*etcd, prefix);
  auto filler = [&](int n) {
    for (int i = 0; i < n; ++i) {
      invar::JournalRecord r;
      r.event = "repair";
      r.stream = "s";
      r.time_ms = invar::Time::now().ms();
      r.detail = "filler " + std::to_string(i);
      REQUIRE_FALSE(store->append("s", r));
    }
  };
  auto accepted_generation_1 = [&] {
    for (const auto& d : fleet.decisions(fleet.url))
      if (d["verdict"] == "accept" && d["generation"] == "1") return true;
    return false;
  };
  filler(70);
  // A gate whose clock is 100 days behind accepts generation 1 ...
  auto args = fleet.gate_args(fleet.url, fleet.files.artifact(1), fleet.files.out);
  const std::string behind = invar::text::format_rfc3339(invar::Time::now().ms() - 100ll * 86'400'000);
  args.insert(args.end() - 1, {"--now", behind});
  auto skewed = test::invar(args);
  INFO(skewed.out);
  REQUIRE(skewed.exit == 0);
  // ... and the next gate (past the journal's 64 newest, so a trim is due) keeps its record: it is among the newest.
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(0), fleet.files.out)).exit == 2);
  CHECK(accepted_generation_1());
  CHECK(count() == 73);  // init, 70, the accept, the pin: nothing is older than 90 days by creation
  // The record limit keeps the newest N by creation, and the current LKG's accept even when older.
  filler(12);
  args = fleet.gate_args(fleet.url, fleet.files.artifact(0), fleet.files.out);
  args.insert(args.end() - 1, {"--journal-keep", "10"});
  REQUIRE(test::invar(args).exit == 2);
  CHECK(count() == 11);
  CHECK(accepted_generation_1());
  auto status = test::invar({"status", "--state", fleet.url, "s"});
  CHECK(status.exit == 2);  // pinned by the last gate
  CHECK_FALSE(contains(status.out, "has no journal record"));
}

#ifdef INVAR_TEST_FAULTS
TEST_CASE("fleet: status, show and a watcher's first read see one revision while gates promote", "[fleet]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("revision");
  Fleet fleet(etcd->url(prefix));
  auto gate = [&](int generation) {
    auto args = fleet.gate_args(fleet.url, fleet.files.artifact(generation), fleet.files.out);
    args.insert(args.end() - 1, {"--keep", "1"});
    REQUIRE(test::invar(args).exit == 0);
  };
  gate(1);
  gate(2);
  const std::string g2 = invar::digest::sha256(test::slurp(fleet.files.artifact(2)));
  // Each reader pauses right after its first read (the stream's records, LKG 2);
  // two promotions meanwhile delete LKG 2's bytes from the current revision.
  std::string watched = fleet.files.tmp / "watched.json";
  Stopped status = stop_at("etcd:snapshot-read", {"status", "--state", fleet.url, "s", "--format", "json"});
  Stopped show = stop_at("etcd:snapshot-read", {"show", "--state", fleet.url, "--stream", "s", g2.substr(7, 12)});
  Stopped watch = stop_at("etcd:snapshot-read", {"watch", "--state", fleet.url, "--stream", "s", "--out", watched, "--once"});
  gate(3);
  gate(4);
  auto [status_code, status_out] = status.finish();
  INFO(status_out);
  REQUIRE(status_code == 0);
  CHECK(json::parse(status_out)["streams"][0]["lkg"]["generation"] == "2");  // as of its revision
  auto [show_code, show_out] = show.finish();
  INFO(show_out);
  CHECK(show_code == 0);
  CHECK(show_out == test::slurp(fleet.files.artifact(2)));
  auto [watch_code, watch_out] = watch.finish();
  INFO(watch_out);
  CHECK(watch_code == 0);
  CHECK(test::slurp(watched) == test::slurp(fleet.files.artifact(2)));
}
#endif

TEST_CASE("fleet: one Gate over etcd shared by 32 threads: every submit is judged", "[fleet][api]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("threads");
  Fleet fleet(etcd->url(prefix));
  REQUIRE(test::invar(fleet.gate_args(fleet.url, fleet.files.artifact(5), fleet.files.out)).exit == 0);
  auto contract = invar::Contract::load_file(fleet.files.contract);
  REQUIRE(contract);
  invar::GateOptions options;
  options.quarantine = 0;
  const invar::Gate gate(*contract, invar::StateStore::open(fleet.url).value(), options);
  // Older generations: each is a pin, so that no decision is refused by another's (each must be judged).
  std::vector<std::string> older;
  for (int g = 1; g <= 4; ++g) older.push_back(test::slurp(fleet.files.artifact(g)));
  constexpr int kThreads = 32, kSubmits = 8;
  std::vector<std::string> failures[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSubmits; ++i) {
        auto d = gate.submit("s", older[(t + i) % older.size()]);
        if (!d) failures[t].push_back(d.error().to_string());
        else if (d->action != invar::Action::pin) failures[t].push_back("not a pin");
      }
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t)
    for (const auto& f : failures[t]) FAIL_CHECK("thread " << t << ": " << f);
  CHECK(fleet.decisions(fleet.url).size() == 1 + kThreads * kSubmits);
}

namespace {

// `invar ARGS...` in the background, its output appended to `log`.
pid_t spawn_logged(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    test::exec_invar(args);
  }
  return pid;
}

const char* kTwoRings = R"({"rollout": "rings", "stages": [{"name": "canary"}, {"name": "middle"}, {"name": "global"}]})";

}  // namespace

TEST_CASE("fleet: two rollout followers and three gates race on etcd, every stage's history only rises",
          "[fleet][rollout]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("rings");
  test::Fixture files;
  const std::string rollout = files.tmp / "rings.rollout.json";
  test::spit(rollout, kTwoRings);
  auto init = test::invar({"init", "--state", etcd->url(prefix), "--stream", "r", "--contract", files.contract, "--by",
                           "test", "--rollout", rollout, files.artifact(0), "--reason", "seed"});
  INFO(init.out);
  REQUIRE(init.exit == 0);
  std::vector<pid_t> followers;
  for (int member = 0; member < 2; ++member)
    followers.push_back(spawn_logged({"rollout", "--state", etcd->url_from(member, prefix), "--stream", "r", "--follow",
                                      "--interval", "100ms", "--state-timeout", "2s"},
                                     files.tmp / ("follow-" + std::to_string(member))));
  // Read the stages while they race: each stage's sequence and what it holds only rise.
  std::atomic<bool> racing{true};
  std::map<std::string, std::pair<uint64_t, uint64_t>> seen;  // stage -> (sequence, accepted sequence)
  std::vector<std::string> regressions;
  std::thread observer([&] {
    auto store = invar::StateStore::open(etcd->url(prefix)).value();
    invar::Rollout watch(store);
    while (racing) {
      auto r = watch.status("r", invar::Time::now().ms());
      if (!r) continue;
      for (const auto& st : r->stages) {
        if (!st.lkg) continue;
        auto& [sequence, accepted] = seen[st.name];
        if (st.lkg->sequence < sequence || st.lkg->accepted_sequence < accepted)
          regressions.push_back(st.name + " went back to " + st.lkg->digest);
        sequence = std::max(sequence, st.lkg->sequence);
        accepted = std::max(accepted, st.lkg->accepted_sequence);
      }
    }
  });
  std::vector<pid_t> gates;
  for (int replica = 0; replica < 3; ++replica) {
    std::string script;
    for (int g = 1; g <= 8; ++g) {
      std::string cmd;
      for (const auto& a : {std::string("gate"), std::string("--contract"), files.contract, std::string("--stream"),
                            std::string("r"), std::string("--state"), etcd->url_from(replica, prefix),
                            std::string("--state-timeout"), std::string("2s"), std::string("--out"),
                            files.tmp / ("out-" + std::to_string(replica)), files.artifact(g * 3 + replica)})
        cmd += " '" + a + "'";
      script += std::string(INVAR_CLI) + cmd + " >> " + (files.tmp / ("gate-" + std::to_string(replica))) +
                " 2>&1; echo \"exit $?\" >> " + (files.tmp / ("gate-" + std::to_string(replica))) + "\n";
    }
    pid_t pid = fork();
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    gates.push_back(pid);
  }
  for (pid_t pid : gates) wait_exit(pid);
  for (int replica = 0; replica < 3; ++replica) {
    std::string log = test::slurp(files.tmp / ("gate-" + std::to_string(replica)));
    INFO(log);
    // Every gate judged (accept, or pin an older generation), or gave up
    // because the stream changed under each of its judgements: the fenced
    // outcome under this much contention (exit 3, nothing written), never another error.
    size_t gave_up = 0, at = 0;
    while ((at = log.find("under each of", at)) != std::string::npos) ++gave_up, ++at;
    size_t cannot = 0;
    at = 0;
    while ((at = log.find("exit 3", at)) != std::string::npos) ++cannot, ++at;
    CHECK(cannot == gave_up);
  }
  // The followers bring the newest accepted artifact to global (bounded wait).
  auto lkg = invar::StateStore::open(etcd->url(prefix)).value().lkg("r").value();
  REQUIRE(lkg);
  std::string global;
  for (int i = 0; i < 200 && global != lkg->digest; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = invar::Rollout(invar::StateStore::open(etcd->url(prefix)).value()).status("r", invar::Time::now().ms());
    if (r && r->stages.back().lkg) global = r->stages.back().lkg->digest;
  }
  racing = false;
  observer.join();
  for (pid_t pid : followers) {
    kill(pid, SIGTERM);
    wait_exit(pid);
  }
  INFO(test::slurp(files.tmp / "follow-0"));
  CHECK(regressions.empty());
  CHECK(global == lkg->digest);
  // Every promotion moved an artifact accepted before it into the stage after
  // the one that held it: canary -> middle -> global, never skipping one.
  auto history = invar::StateStore::open(etcd->url(prefix)).value().history("r").value();
  std::set<std::string> accepted, in_middle;
  int promotions = 0;
  for (const auto& rec : history) {
    if (rec.event == "decision" && rec.verdict == "accept") accepted.insert(rec.candidate);
    if (rec.event != "promote") continue;
    // One record per step: "promoted DIGEST from A to B; promoted ..." (short digests).
    std::istringstream detail(rec.detail);
    std::string word, digest, from, to;
    while (detail >> word) {
      if (word != "promoted") continue;
      detail >> digest >> word >> from >> word >> to;
      if (!to.empty() && to.back() == ';') to.pop_back();
      ++promotions;
      bool known = std::any_of(accepted.begin(), accepted.end(), [&](const std::string& d) { return d.rfind(digest, 0) == 0; });
      CHECK(known);
      INFO(rec.detail);
      CHECK(((from == "canary" && to == "middle") || (from == "middle" && to == "global")));
      if (to == "middle") in_middle.insert(digest);
      if (to == "global") CHECK(in_middle.count(digest));
    }
  }
  CHECK(promotions >= 2);
}

TEST_CASE("fleet: a veto on etcd reverts every stage, watchers of each stage publish the previous artifact",
          "[fleet][rollout]") {
  auto* etcd = cluster_or_skip();
  if (!etcd) return;
  std::string prefix = test::fresh_prefix("veto");
  test::Fixture files;
  const std::string rollout = files.tmp / "rings.rollout.json";
  test::spit(rollout, kTwoRings);
  const std::string url = etcd->url(prefix);
  REQUIRE(test::invar({"init", "--state", url, "--stream", "r", "--contract", files.contract, "--by", "test",
                       "--rollout", rollout, files.artifact(1), "--reason", "seed"}).exit == 0);
  REQUIRE(test::invar({"gate", "--contract", files.contract, "--stream", "r", "--state", etcd->url_from(1, prefix),
                       "--out", files.out, files.artifact(2)}).exit == 0);
  for (int i = 0; i < 2; ++i) REQUIRE(test::invar({"rollout", "--state", url, "--stream", "r"}).exit == 0);
  auto publish = [&](const std::string& stage) {
    std::string out = files.tmp / ("served-" + stage + ".json");
    auto r = test::invar({"watch", "--state", etcd->url_from(2, prefix), "--stream", "r", "--stage", stage, "--out", out,
                          "--once"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
    return test::slurp(out);
  };
  for (const char* stage : {"canary", "middle", "global"}) REQUIRE(publish(stage) == test::slurp(files.artifact(2)));
  const std::string bad = invar::digest::sha256(test::slurp(files.artifact(2)));
  auto veto = test::invar({"veto", "--state", url, "--stream", "r", bad.substr(7, 16), "--reason", "crash loop",
                           "--by", "oncall"});
  INFO(veto.out);
  REQUIRE(veto.exit == 0);
  for (const char* stage : {"canary", "middle", "global"}) CHECK(publish(stage) == test::slurp(files.artifact(1)));
  auto gate = [&](int generation) {
    return test::invar({"gate", "--contract", files.contract, "--stream", "r", "--state", url, "--out", files.out,
                        files.artifact(generation)});
  };
  auto again = gate(2);
  CHECK(again.exit == 2);
  CHECK(contains(again.out, "rollout.vetoed"));
  auto newer = gate(3);
  CHECK(newer.exit == 2);  // halted
  CHECK(contains(newer.out, "halted"));
  REQUIRE(test::invar({"resume", "--state", url, "--stream", "r", "--reason", "fixed", "--by", "oncall"}).exit == 0);
  CHECK(gate(3).exit == 0);
}
