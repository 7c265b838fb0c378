// A real 3-member etcd cluster on loopback ports, from Debian's etcd-server,
// with temporary data directories: started by the tests that need one and
// stopped (SIGTERM, then waited for) when it goes out of scope.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "store/etcd_client.hpp"

namespace test {

inline bool etcd_installed() { return std::system("command -v etcd >/dev/null 2>&1") == 0; }

class EtcdCluster {
 public:
  static constexpr int kMembers = 3;

  // `extra`: more etcd flags for every member (such as --auth-token-ttl).
  explicit EtcdCluster(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    for (int i = 0; i < kMembers; ++i) {
      client_.push_back(free_port());
      peer_.push_back(free_port());
    }
    pids_.assign(kMembers, -1);
    for (int i = 0; i < kMembers; ++i) start(i, "new");
  }
  ~EtcdCluster() {
    for (int i = 0; i < kMembers; ++i) stop(i);
  }

  // A cluster that answered, or nullptr after `attempts`. A member whose
  // port was taken between free_port() and its bind (another test's
  // connection, under ctest -j) exits at once: the cluster starts again on
  // new ports rather than failing the test.
  static std::unique_ptr<EtcdCluster> start(std::vector<std::string> extra = {}, int attempts = 3) {
    for (int i = 0; i < attempts; ++i) {
      auto cluster = std::make_unique<EtcdCluster>(extra);
      if (cluster->ready()) return cluster;
    }
    return nullptr;
  }

  // Waits (polling, up to `seconds`) until every running member answers;
  // false at once when one has exited.
  bool ready(int seconds = 30) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (int i = 0; i < kMembers; ++i) {
      if (pids_[i] < 0) continue;
      while (!answers(i)) {
        int status = 0;
        if (waitpid(pids_[i], &status, WNOHANG) == pids_[i]) {
          pids_[i] = -1;
          return false;
        }
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a server, not synchronising threads
      }
    }
    return true;
  }

  std::string url(const std::string& prefix) const {
    std::string out = "etcd://";
    for (int i = 0; i < kMembers; ++i) out += (i ? "," : "") + member(i);
    return out + "/" + prefix;
  }
  // Only member i first: the others follow for failover.
  std::string url_from(int i, const std::string& prefix) const {
    std::string out = "etcd://" + member(i);
    for (int k = 1; k < kMembers; ++k) out += "," + member((i + k) % kMembers);
    return out + "/" + prefix;
  }
  std::string member(int i) const { return "127.0.0.1:" + std::to_string(client_[i]); }

  void stop(int i, int signal = SIGTERM) {
    if (pids_[i] < 0) return;
    kill(pids_[i], signal);
    int status = 0;
    waitpid(pids_[i], &status, 0);
    pids_[i] = -1;
  }
  void restart(int i) { start(i, "existing"); }

 private:
  bool answers(int i) {
    invar::StoreOptions options;
    options.timeout_ms = 1000;
    invar::store::EtcdClient client({{member(i)}, "health/"}, options);
    return bool(client.count("health/"));
  }

  void start(int i, const char* state) {
    std::string cluster;
    for (int k = 0; k < kMembers; ++k)
      cluster += (k ? "," : "") + std::string("m") + std::to_string(k) + "=http://127.0.0.1:" + std::to_string(peer_[k]);
    std::string name = "m" + std::to_string(i);
    std::string data = dir_ / name;
    std::string log = dir_ / (name + ".log");
    std::vector<std::string> args = {"etcd",
                                     "--name", name,
                                     "--data-dir", data,
                                     "--listen-client-urls", "http://" + member(i),
                                     "--advertise-client-urls", "http://" + member(i),
                                     "--listen-peer-urls", "http://127.0.0.1:" + std::to_string(peer_[i]),
                                     "--initial-advertise-peer-urls", "http://127.0.0.1:" + std::to_string(peer_[i]),
                                     "--initial-cluster", cluster,
                                     "--initial-cluster-state", state,
                                     "--initial-cluster-token", "invar-test",
                                     "--heartbeat-interval", "50",
                                     "--election-timeout", "500"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a test process that dies leaves no member running
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("etcd", argv.data());
      _exit(127);
    }
    pids_[i] = pid;
  }

  std::vector<std::string> extra_;
  TempDir dir_;
  std::vector<int> client_, peer_;
  std::vector<pid_t> pids_;
};

}  // namespace test

namespace test {

// One cluster for the tests that only need it up (each uses its own key
// prefix); nullptr when etcd is not installed (a failure under CI=true).
inline EtcdCluster* shared_etcd() {
  static std::unique_ptr<EtcdCluster> cluster = etcd_installed() ? EtcdCluster::start() : nullptr;
  return cluster.get();
}

// A key prefix no other test uses.
inline std::string fresh_prefix(const std::string& name) {
  static int n = 0;
  return "t" + std::to_string(getpid()) + "-" + std::to_string(++n) + "-" + name;
}

}  // namespace test
