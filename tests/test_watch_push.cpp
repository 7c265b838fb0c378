// Followers pushed by etcd's watch stream (issue 34.1): `invar watch` with
// an interval of an hour still publishes each accept (a polling watcher
// would not, within the tests' bounds), resumes its stream on another member
// when the one it streamed from is lost, and reads the current state when
// etcd compacted past the revision it had seen. And the primitive under it,
// EtcdClient::watch (its stream kept open between waits), on a real cluster.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "etcd_cluster.hpp"
#include "gate_fixture.hpp"
#include "invar/gate.hpp"
#include "process.hpp"
#include "store/etcd_client.hpp"

namespace {

test::EtcdCluster* shared_or_skip() {
  auto* c = test::shared_etcd();
  if (!c) {
    if (test::etcd_installed()) FAIL("the etcd cluster did not answer (see the members' logs)");
    if (std::getenv("CI")) FAIL("etcd is not installed (scripts/install-deps installs etcd-server)");
    WARN("etcd is not installed: the watch push tests were skipped");
  }
  return c;
}

// Polls (up to `seconds`) until `done` holds: waiting on processes, not timing them.
template <class F>
bool within(int seconds, F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

struct Followed {
  test::Fixture files;
  std::string url;
  std::string out = files.tmp / "w.json";
  pid_t watcher = -1;

  explicit Followed(std::string state_url) : url(std::move(state_url)) {
    auto r = test::invar({"init", "--state", url, "--stream", "s", "--contract", files.contract, "--by", "test"});
    INFO(r.out);
    REQUIRE(r.exit == 0);
  }
  ~Followed() {
    if (watcher > 0) {
      kill(watcher, SIGTERM);
      waitpid(watcher, nullptr, 0);
    }
  }
  int gate(int generation, const std::string& state = {}) {
    auto r = test::invar({"gate", "--contract", files.contract, "--stream", "s", "--state", state.empty() ? url : state,
                          "--out", files.tmp / "gate.json", "--state-timeout", "2s", files.artifact(generation)});
    INFO(r.out);
    return r.exit;
  }
  // `invar watch` reading every hour: only the watch stream wakes it in time.
  void watch(const std::string& state) {
    std::string log = files.tmp / "w.log";
    watcher = fork();
    if (watcher == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      test::exec_invar({"watch", "--state", state, "--stream", "s", "--out", out, "--interval", "1h",
                        "--state-timeout", "1s"});
    }
  }
  bool serves(int generation, int seconds = 20) {
    return within(seconds, [&] { return test::slurp(out) == test::slurp(files.artifact(generation)); });
  }
  int stop() {
    kill(watcher, SIGTERM);
    int status = 0;
    waitpid(watcher, &status, 0);
    watcher = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

std::string compact_now(const test::EtcdCluster& etcd, int member) {
  return "rev=$(etcdctl --endpoints " + etcd.member(member) +
         " endpoint status -w json | grep -o '\"revision\":[0-9]*' | head -1 | cut -d: -f2) && "
         "etcdctl --endpoints " + etcd.member(member) + " compact \"$rev\" >/dev/null";
}

}  // namespace

TEST_CASE("watch push: a watcher reading once an hour publishes each accept, woken by etcd's watch stream",
          "[fleet][watch]") {
  auto* etcd = shared_or_skip();
  if (!etcd) return;
  Followed f(etcd->url_from(1, test::fresh_prefix("push")));
  REQUIRE(f.gate(1) == 0);
  f.watch(f.url);
  REQUIRE(f.serves(1));  // its first read
  for (int g : {2, 3, 4}) {
    REQUIRE(f.gate(g) == 0);
    CHECK(f.serves(g));  // 20 s at most: the next read by the interval is an hour away
  }
  CHECK(f.stop() == 0);  // SIGTERM ends a watcher waiting on its stream
  CHECK(test::slurp(f.out) == test::slurp(f.files.artifact(4)));
}

TEST_CASE("watch push: the watch resumes on another member when the one it streams from is lost", "[fleet][watch]") {
  if (!shared_or_skip()) return;
  auto own = test::EtcdCluster::start();  // its own: a member is stopped here
  REQUIRE(own);
  test::EtcdCluster& etcd = *own;
  Followed f(etcd.url_from(1, "resume"));
  REQUIRE(f.gate(1) == 0);
  f.watch(etcd.url_from(0, "resume"));  // streams from member 0 first
  REQUIRE(f.serves(1));
  etcd.stop(0);
  REQUIRE(f.gate(2) == 0);  // through member 1 while the stream is lost
  CHECK(f.serves(2));
  REQUIRE(f.gate(3) == 0);
  CHECK(f.serves(3));
  etcd.restart(0);
  REQUIRE(etcd.ready());
  REQUIRE(f.gate(4) == 0);
  CHECK(f.serves(4));
  CHECK(f.stop() == 0);
}

TEST_CASE("watch push: after etcd compacted past what a watcher saw, it reads the current state and follows on",
          "[fleet][watch]") {
  if (!shared_or_skip()) return;
  auto own = test::EtcdCluster::start();
  REQUIRE(own);
  test::EtcdCluster& etcd = *own;
  Followed f(etcd.url_from(1, "compact"));
  REQUIRE(f.gate(1) == 0);
  f.watch("etcd://" + etcd.member(0) + "/compact");  // member 0 only: no other to resume on
  REQUIRE(f.serves(1));
  etcd.stop(0);  // its stream is lost while two promotions and a compaction pass
  REQUIRE(f.gate(2) == 0);
  REQUIRE(f.gate(3) == 0);
  REQUIRE(std::system(compact_now(etcd, 1).c_str()) == 0);
  etcd.restart(0);
  REQUIRE(etcd.ready());
  CHECK(f.serves(3, 30));  // the stream resumed past a compacted revision: one read of the latest
  REQUIRE(f.gate(4) == 0);
  CHECK(f.serves(4));  // and it watches again from there
  CHECK(f.stop() == 0);
}

TEST_CASE("watch push: EtcdClient::watch wakes on a change past a revision, replays one already made, reports a "
          "compaction as a change, and honours its deadline and stop",
          "[fleet][watch]") {
  auto* etcd = shared_or_skip();
  if (!etcd) return;
  using Clock = std::chrono::steady_clock;
  const std::string prefix = test::fresh_prefix("prim") + "/";
  invar::StoreOptions options;
  options.timeout_ms = 2000;
  invar::store::EtcdClient client({{etcd->member(2), etcd->member(0)}, prefix}, options);
  REQUIRE_FALSE(client.put(prefix + "a", "1"));
  uint64_t first = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &first));
  REQUIRE_FALSE(client.put(prefix + "a", "2"));
  REQUIRE_FALSE(client.put(prefix + "other", "x"));  // in the prefix: a change too
  uint64_t now = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &now));
  auto soon = [] { return Clock::now() + std::chrono::seconds(20); };
  // A change made before the wait began is replayed: nothing is missed.
  CHECK(client.watch(prefix, first, soon(), {}) == invar::store::WatchEnd::changed);
  // The stream stays open: a wait past `now` skips the events it streamed up to `now`.
  // Nothing in the prefix past `now` (a key beside it changed): the deadline ends it; a stop, stopped.
  REQUIRE_FALSE(client.put(prefix.substr(0, prefix.size() - 1) + "-beside", "y"));
  CHECK(client.watch(prefix, now, Clock::now() + std::chrono::milliseconds(300), {}) ==
        invar::store::WatchEnd::timeout);
  CHECK(client.watch(prefix, now, soon(), [] { return true; }) == invar::store::WatchEnd::stopped);
  // A change made while it waits, from another client.
  invar::StoreOptions writer_options = options;
  invar::store::EtcdClient other({{etcd->member(1)}, prefix}, writer_options);
  bool written = false;
  std::thread writer([&] {  // Catch2's assertions stay on this thread
    written = !other.put(prefix + "a", "3");
  });
  CHECK(client.watch(prefix, now, soon(), {}) == invar::store::WatchEnd::changed);
  writer.join();
  CHECK(written);
  // A compaction past the revision asked for: a change (read the current state).
  uint64_t latest = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &latest));
  std::string compact = "etcdctl --endpoints " + etcd->member(0) + " compact " + std::to_string(latest) + " >/dev/null";
  REQUIRE(std::system(compact.c_str()) == 0);
  // (A new client: this one's open stream has seen every change since `first` and would answer from it.)
  invar::store::EtcdClient fresh({{etcd->member(0)}, prefix}, options);
  CHECK(fresh.watch(prefix, first, soon(), {}) == invar::store::WatchEnd::changed);
  // Its stream ended with the compaction: a wait past the latest opens a new one, which waits.
  CHECK(fresh.watch(prefix, latest, Clock::now() + std::chrono::milliseconds(300), {}) ==
        invar::store::WatchEnd::timeout);
}

TEST_CASE("watch push: a Follower on a directory waits its whole timeout, then reads", "[watch]") {
  test::Fixture files;
  files.init();
  REQUIRE(files.gate(files.artifact(1)).exit == 0);
  auto store = invar::StateStore::open(files.state);
  REQUIRE(store);
  invar::Follower follower(store.value(), "s");
  auto first = follower.poll();
  REQUIRE(first);
  REQUIRE(first.value());
  follower.served(first.value()->lkg.sequence);
  CHECK_FALSE(follower.wait(10));  // no push on a directory: polling
  CHECK_FALSE(follower.wait(60000, [] { return true; }));  // a stop ends it
  REQUIRE(files.gate(files.artifact(2)).exit == 0);
  auto next = follower.poll();
  REQUIRE(next);
  REQUIRE(next.value());
  CHECK(next.value()->lkg.sequence == 2);
}

TEST_CASE("watch push: EtcdClient::watch gives the newest value of a key its stream carried past the revision",
          "[fleet][watch]") {
  auto* etcd = shared_or_skip();
  if (!etcd) return;
  using Clock = std::chrono::steady_clock;
  const std::string prefix = test::fresh_prefix("carried") + "/";
  invar::StoreOptions options;
  options.timeout_ms = 2000;
  invar::store::EtcdClient client({{etcd->member(0)}, prefix}, options);
  REQUIRE_FALSE(client.put(prefix + "a", "1"));
  uint64_t first = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &first));
  REQUIRE_FALSE(client.put(prefix + "a", "2"));
  REQUIRE_FALSE(client.put(prefix + "b", "x"));
  uint64_t now = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &now));
  auto soon = [] { return Clock::now() + std::chrono::seconds(20); };
  std::optional<std::string> value;
  CHECK(client.watch(prefix, first, soon(), {}, prefix + "a", &value) == invar::store::WatchEnd::changed);
  CHECK(value == std::optional<std::string>("2"));
  // Past `now` only another key changed: nothing of "a" (the stream's older event of it is not reported).
  REQUIRE_FALSE(client.put(prefix + "b", "y"));
  CHECK(client.watch(prefix, now, soon(), {}, prefix + "a", &value) == invar::store::WatchEnd::changed);
  CHECK_FALSE(value);
  uint64_t later = 0;
  REQUIRE(client.read({{prefix, true}}, 0, &later));
  REQUIRE_FALSE(client.remove_prefix(prefix + "a"));  // deleted: no value
  CHECK(client.watch(prefix, later, soon(), {}, prefix + "a", &value) == invar::store::WatchEnd::changed);
  CHECK_FALSE(value);
}

// A Follower woken by the stream reads the records and the artifact the
// stream's LKG record names in one request; what it serves is decided by
// what it read, verified as before: a stale or corrupt record in the
// stream changes nothing it serves.
TEST_CASE("watch push: a Follower serves what it read, whatever LKG record the watch stream carried",
          "[fleet][watch]") {
  auto* etcd = shared_or_skip();
  if (!etcd) return;
  const std::string prefix = test::fresh_prefix("hinted");
  Followed f(etcd->url_from(0, prefix));
  REQUIRE(f.gate(1) == 0);
  auto store = invar::StateStore::open(f.url);
  REQUIRE(store);
  invar::Follower follower(store.value(), "s");
  auto serve = [&](int generation) {
    auto change = follower.poll();
    REQUIRE(change);
    REQUIRE(change.value());
    CHECK(*change.value()->artifact == test::slurp(f.files.artifact(generation)));
    follower.served(change.value()->lkg.sequence);
  };
  serve(1);
  // The stream's record names the LKG the read finds: served.
  REQUIRE(f.gate(2) == 0);
  CHECK(follower.wait(20000));
  serve(2);
  // It named one that a later promotion replaced before the read: the read's own.
  REQUIRE(f.gate(3) == 0);
  CHECK(follower.wait(20000));
  REQUIRE(f.gate(4) == 0);
  serve(4);
  // A record in the stream that is not an LKG record: no harm, the read decides.
  invar::StoreOptions options;
  options.timeout_ms = 2000;
  invar::store::EtcdClient raw({{etcd->member(1)}, prefix + "/"}, options);
  const std::string lkg_key = prefix + "/streams/s/r/lkg";
  auto genuine = raw.get(lkg_key);
  REQUIRE(genuine);
  REQUIRE(genuine.value());
  REQUIRE_FALSE(raw.put(lkg_key, "{\"not\":\"an LKG record\"}"));
  CHECK(follower.wait(20000));
  REQUIRE_FALSE(raw.put(lkg_key, genuine.value()->value));
  REQUIRE(f.gate(5) == 0);
  serve(5);
}
