// Prometheus in the tests: a tiny HTTP server on a loopback port (canned
// answers), an exporter built on it whose series the test sets, and a real
// Prometheus from Debian's package scraping that exporter every second.
//
//   test::TestExporter exporter;                        // serves /metrics
//   exporter.set("proxy_errors_total{stage=\"canary\"}", 0);
//   auto prometheus = test::PrometheusServer::start_or_skip(exporter.port());
//   if (!prometheus) return;                            // not installed: warned
//   REQUIRE(prometheus->wait_for_value("proxy_errors_total", 0));
//   check.url = prometheus->url();
#pragma once

#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace test {

// "HTTP/1.1 STATUS ..." with the body, its length and Connection: close.
inline std::string http_response(int status, const std::string& body,
                                 const std::string& content_type = "application/json") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// An HTTP server on 127.0.0.1 (a port the kernel chose), one connection at
// a time on a thread of its own: `respond(target)` gives the whole response
// to a request for `target` ("/api/v1/query?query=..."). stop() closes the
// port: later connections are refused.
class HttpServer {
 public:
  using Respond = std::function<std::string(const std::string& target)>;

  explicit HttpServer(Respond respond) : respond_(std::move(respond)) {
    listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_, 16) != 0 ||
        getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || pipe2(wake_, O_CLOEXEC) != 0)
      throw std::runtime_error("the test HTTP server cannot listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The targets of the requests served so far.
  std::vector<std::string> targets() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return targets_;
  }
  void stop() {
    if (!thread_.joinable()) return;
    char c = 0;
    (void)!write(wake_[1], &c, 1);
    thread_.join();
    close(listen_);
    close(wake_[0]);
    close(wake_[1]);
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{listen_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents) return;
      int fd = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      answer(fd);
      close(fd);
    }
  }
  // Reads the request's head (bounded: 64 KiB, 2 s) and writes the response.
  void answer(int fd) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 2000) <= 0) return;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      request.append(buf, static_cast<size_t>(n));
    }
    size_t start = request.find(' '), end = request.find(' ', start + 1);
    if (start == std::string::npos || end == std::string::npos) return;
    std::string target = request.substr(start + 1, end - start - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      targets_.push_back(target);
    }
    std::string response = respond_(target);
    for (size_t sent = 0; sent < response.size();) {
      ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  Respond respond_;
  int listen_ = -1, port_ = 0;
  int wake_[2] = {-1, -1};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::thread thread_;
};

// A Prometheus exporter: /metrics serves the series set, one
// "name{labels} value" line each (the text exposition format).
class TestExporter {
 public:
  TestExporter() : server_([this](const std::string& target) { return metrics(target); }) {}

  int port() const { return server_.port(); }
  // `series` as exposed: "proxy_errors_total{stage=\"canary\"}".
  void set(const std::string& series, double value) {
    std::lock_guard<std::mutex> lock(mutex_);
    series_[series] = value;
  }
  void remove(const std::string& series) {
    std::lock_guard<std::mutex> lock(mutex_);
    series_.erase(series);
  }
  // Closes the port: scrapes fail, Prometheus marks the series stale.
  void stop() { server_.stop(); }

 private:
  std::string metrics(const std::string& target) {
    if (target != "/metrics") return http_response(404, "not found\n", "text/plain");
    std::string body;
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [series, value] : series_) {
      char text[64];
      if (std::isnan(value))
        std::snprintf(text, sizeof text, "NaN");
      else if (std::isinf(value))
        std::snprintf(text, sizeof text, "%s", value > 0 ? "+Inf" : "-Inf");
      else
        std::snprintf(text, sizeof text, "%.17g", value);
      body += series + " " + text + "\n";
    }
    return http_response(200, body, "text/plain; version=0.0.4");
  }

  std::mutex mutex_;
  std::map<std::string, double> series_;
  HttpServer server_;  // last: stopped before the series go
};

// GET http://127.0.0.1:PORT/TARGET: the status (0 when unreachable) and the body.
inline std::pair<int, std::string> http_get(int port, const std::string& target) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  timeval five{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return {0, ""};
  }
  std::string response = read_all(fd);
  size_t head = response.find("\r\n\r\n");
  if (response.rfind("HTTP/", 0) != 0 || head == std::string::npos || response.size() < 12) return {0, ""};
  return {std::atoi(response.c_str() + 9), response.substr(head + 4)};
}

inline std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Debian's Prometheus on 127.0.0.1 (a free port) with a temporary TSDB,
// scraping 127.0.0.1:EXPORTER_PORT/metrics every second (job "exporter").
// Stopped (SIGTERM, then SIGKILL after 10 s) and its directory removed
// when it goes out of scope.
class PrometheusServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus";

  // A server that answers /-/ready, or nullptr: with a warning when
  // Prometheus is not installed (a failure under CI=true: scripts/install-deps
  // installs it), a failure when it does not start.
  static std::unique_ptr<PrometheusServer> start_or_skip(int exporter_port) {
    if (!std::filesystem::exists(kBinary)) {
      if (std::getenv("CI")) FAIL("Prometheus is not installed (scripts/install-deps installs prometheus)");
      WARN("Prometheus is not installed (" << kBinary << "): the test was skipped");
      return nullptr;
    }
    std::string log;
    // A port taken between free_port() and Prometheus's bind: it exits, start again.
    for (int attempt = 0; attempt < 3; ++attempt) {
      std::unique_ptr<PrometheusServer> server(new PrometheusServer(exporter_port));
      if (server->ready(std::chrono::seconds(30))) return server;
      log = slurp(server->dir_ / "prometheus.log");
    }
    FAIL("Prometheus did not become ready; its log:\n" << log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
    return nullptr;
  }

  ~PrometheusServer() {
    if (pid_ < 0) return;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a process's exit
    }
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  // The sample values of an instant query now; nullopt when the query fails.
  std::optional<std::vector<double>> values(const std::string& query) {
    auto [status, body] = http_get(port_, "/api/v1/query?query=" + url_encode(query));
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (status != 200 || j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
    std::vector<double> out;
    const auto& result = j["data"]["result"];
    auto number = [](const nlohmann::json& pair) { return std::strtod(pair[1].get<std::string>().c_str(), nullptr); };
    if (j["data"]["resultType"] == "scalar") return std::vector<double>{number(result)};
    for (const auto& sample : result) out.push_back(number(sample["value"]));
    return out;
  }
  // Polls the query API (bounded) until `query` has a sample equal to `value`
  // (the scrapes are a second apart: a change shows within about two).
  bool wait_for_value(const std::string& query, double value,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return wait_until(query, timeout, [&](const std::vector<double>& v) {
      return std::find(v.begin(), v.end(), value) != v.end();
    });
  }
  // Polls until `query` returns no samples (a series removed or its target down: stale).
  bool wait_for_empty(const std::string& query, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    return wait_until(query, timeout, [](const std::vector<double>& v) { return v.empty(); });
  }

 private:
  explicit PrometheusServer(int exporter_port) : port_(free_port()) {
    std::string config = dir_ / "prometheus.yml";
    spit(config,
         "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
         "scrape_configs:\n  - job_name: exporter\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"
         "    static_configs:\n      - targets: ['127.0.0.1:" + std::to_string(exporter_port) + "']\n");
    std::vector<std::string> args = {kBinary,
                                      "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                      "--storage.tsdb.path=" + (dir_ / "data"),
                                      "--config.file=" + config,
                                      "--log.level=info"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir_ / "prometheus.log";
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // a test process that dies leaves no server running
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execv(kBinary, argv.data());
      _exit(127);
    }
  }

  bool ready(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (http_get(port_, "/-/ready").first != 200) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a server, not synchronising threads
    }
    return true;
  }

  template <class Done>
  bool wait_until(const std::string& query, std::chrono::milliseconds timeout, Done done) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto v = values(query);
      if (v && done(*v)) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling a server, not synchronising threads
    }
  }

  TempDir dir_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace test
