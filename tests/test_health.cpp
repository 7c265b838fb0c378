// Health checks of rollout stages (issue 29, docs/health.md): exec checks
// run real commands; Prometheus checks query a canned HTTP server for the
// error paths and Debian's Prometheus end to end.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <string>

#include "invar/rollout.hpp"
#include "process.hpp"
#include "prometheus.hpp"
#include "rollout/health.hpp"

using invar::HealthCheck;
using invar::HealthContext;
using invar::HealthResult;
using State = HealthResult::State;

namespace {

HealthContext canary() { return {"dns", "canary", "sha256:ab12"}; }

HealthCheck exec(std::vector<std::string> argv, int64_t timeout_ms = 30'000) {
  HealthCheck c;
  c.id = "probe";
  c.kind = HealthCheck::Kind::exec;
  c.argv = std::move(argv);
  c.timeout_ms = timeout_ms;
  return c;
}

HealthCheck prometheus(const std::string& url, std::optional<double> min, std::optional<double> max,
                       const std::string& query = "max(proxy_errors_total{stage=\"$stage\"})") {
  HealthCheck c;
  c.id = "errors";
  c.url = url;
  c.query = query;
  c.min = min;
  c.max = max;
  return c;
}

// No child of the test process is left unreaped.
bool no_zombie() { return waitpid(-1, nullptr, WNOHANG) <= 0; }

// Whether process `pid` has ended (gone, or a zombie that init is to reap).
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

std::string vector_answer(const std::vector<std::pair<std::string, std::string>>& samples) {
  std::string result;
  for (const auto& [labels, value] : samples)
    result += (result.empty() ? "" : ",") + std::string("{\"metric\":") + labels + ",\"value\":[1700000000.5,\"" +
              value + "\"]}";
  return R"({"status":"success","data":{"resultType":"vector","result":[)" + result + "]}}";
}

// Asks a canned Prometheus answering `response` (a bare body: HTTP 200) to every query.
HealthResult ask(const std::string& response, std::optional<double> min, std::optional<double> max) {
  std::string whole = response.rfind("HTTP/", 0) == 0 ? response : test::http_response(200, response);
  test::HttpServer server([&](const std::string&) { return whole; });
  return invar::evaluate_health(prometheus(server.url(), min, max), canary());
}

}  // namespace

TEST_CASE("health: state names", "[health]") {
  CHECK(invar::to_string(State::healthy) == "healthy");
  CHECK(invar::to_string(State::unhealthy) == "unhealthy");
  CHECK(invar::to_string(State::unknown) == "unknown");
}

TEST_CASE("health: exec: exit 0 is healthy, another exit unhealthy with the status and the output", "[health]") {
  auto ok = invar::evaluate_health(exec({"sh", "-c", "echo fine; exit 0"}), canary());
  CHECK(ok.id == "probe");
  CHECK(ok.state == State::healthy);
  CHECK(ok.value == 0);

  auto bad = invar::evaluate_health(exec({"sh", "-c", "echo checking; echo 'disk full' >&2; exit 3"}), canary());
  CHECK(bad.state == State::unhealthy);
  CHECK(bad.value == 3);
  CHECK(test::contains(bad.detail, "exited with status 3: disk full"));
  CHECK(test::contains(bad.detail, "checking"));  // stdout and stderr, both
  CHECK(no_zombie());
}

TEST_CASE("health: exec: INVAR_STAGE, INVAR_STREAM and INVAR_DIGEST are in the command's environment", "[health]") {
  auto check = exec({"sh", "-c",
                     "test \"$INVAR_STAGE\" = canary && test \"$INVAR_STREAM\" = dns && "
                     "test \"$INVAR_DIGEST\" = sha256:ab12 && test -n \"$PATH\""});
  CHECK(invar::evaluate_health(check, canary()).state == State::healthy);
  auto prod = canary();
  prod.stage = "prod";
  CHECK(invar::evaluate_health(check, prod).state == State::unhealthy);
  // stdin is /dev/null: a command reading it ends at once.
  CHECK(invar::evaluate_health(exec({"sh", "-c", "cat; exit 0"}, 5'000), canary()).state == State::healthy);
}

TEST_CASE("health: exec: a timeout kills the command's whole process group and is unknown", "[health]") {
  test::TempDir dir;
  std::string pidfile = dir / "child";
  // The command's child sleeps too: it must not outlive the check.
  auto check = exec({"sh", "-c", "sleep 30 & echo $! > " + pidfile + "; wait"}, 1'000);
  auto started = std::chrono::steady_clock::now();
  auto r = invar::evaluate_health(check, canary());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(r.state == State::unknown);
  CHECK(test::contains(r.detail, "timed out after 1s"));
  CHECK(!r.value);
  pid_t child = std::atoi(test::slurp(pidfile).c_str());
  REQUIRE(child > 0);
  // SIGKILL was sent before the check returned; the kernel ends it promptly (bounded wait).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!process_gone(child) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // observing another process's end
  CHECK(process_gone(child));
  CHECK(no_zombie());

  // The context's deadline bounds the check's own timeout.
  auto context = canary();
  context.deadline_ms = 300;
  auto r2 = invar::evaluate_health(exec({"sleep", "30"}, 30'000), context);
  CHECK(r2.state == State::unknown);
  CHECK(test::contains(r2.detail, "timed out after 300ms"));
}

TEST_CASE("health: exec: killed by a signal, or not runnable, is unknown", "[health]") {
  auto segv = invar::evaluate_health(exec({"sh", "-c", "kill -SEGV $$"}), canary());
  CHECK(segv.state == State::unknown);
  CHECK(test::contains(segv.detail, "SIGSEGV"));

  auto missing = invar::evaluate_health(exec({"/nonexistent/invar-no-such-command"}), canary());
  CHECK(missing.state == State::unknown);
  CHECK(test::contains(missing.detail, "No such file or directory"));
  auto not_on_path = invar::evaluate_health(exec({"invar-no-such-command-on-path"}), canary());
  CHECK(not_on_path.state == State::unknown);

  test::TempDir dir;
  std::string script = dir / "probe.sh";
  test::spit(script, "#!/bin/sh\nexit 0\n");
  chmod(script.c_str(), 0644);
  auto denied = invar::evaluate_health(exec({script}), canary());
  CHECK(denied.state == State::unknown);
  CHECK(test::contains(denied.detail, "Permission denied"));

  CHECK(invar::evaluate_health(exec({}), canary()).state == State::unknown);
  CHECK(no_zombie());
}

TEST_CASE("health: exec: the output kept is bounded and escaped", "[health]") {
  auto r = invar::evaluate_health(
      exec({"sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' a; printf '\\n\\033[31mred\\nlast line\\n'; exit 1"}),
      canary());
  CHECK(r.state == State::unhealthy);
  CHECK(test::contains(r.detail, "exited with status 1: last line"));
  CHECK(test::contains(r.detail, "\\x1b[31mred"));  // the escape byte, written out
  CHECK(r.detail.find('\033') == std::string::npos);
  CHECK(r.detail.size() < 4 * invar::rollout::kExecOutputTail);

  invar::rollout::OutputTail tail(8);
  tail.append("0123456789");
  tail.append("abcdefghij\n");
  CHECK(tail.text() == "defghij\n");
  CHECK(tail.truncated());
  CHECK(tail.last_line() == "defghij");
}

TEST_CASE("health: prometheus: $stage and $stream reach the server, URL-encoded", "[health]") {
  test::HttpServer server([](const std::string&) { return test::http_response(200, vector_answer({{"{}", "0"}})); });
  auto check = prometheus(server.url() + "/", std::nullopt, 0.5,
                          "max(x{stage=\"$stage\",stream=\"$stream\",other=\"$stagecoach\"}) + $stage_x");
  auto r = invar::evaluate_health(check, canary());
  CHECK(r.state == State::healthy);
  auto targets = server.targets();
  REQUIRE(targets.size() == 1);
  std::string expected = "max(x{stage=\"canary\",stream=\"dns\",other=\"$stagecoach\"}) + $stage_x";
  CHECK(targets[0].rfind("/api/v1/query?query=" + test::url_encode(expected) + "&timeout=", 0) == 0);

  std::string out;
  auto bad = canary();
  bad.stage = "can\"ary";
  CHECK(!invar::rollout::expand_query("$stage", bad, out));
  CHECK(invar::evaluate_health(check, bad).state == State::unknown);
}

TEST_CASE("health: prometheus: every sample within the bounds is healthy, one outside unhealthy", "[health]") {
  std::string two = vector_answer({{R"({"stage":"canary","pod":"a"})", "0.1"}, {R"({"stage":"canary","pod":"b"})", "0.3"}});
  auto ok = ask(two, std::nullopt, 0.5);
  CHECK(ok.state == State::healthy);
  CHECK(ok.value == 0.3);  // the closest to the bound
  CHECK(test::contains(ok.detail, "2 samples within max 0.5"));

  auto bad = ask(vector_answer({{R"({"pod":"a"})", "0.2"}, {R"({"pod":"b\n\u001b"})", "7"}}), std::nullopt, 0.5);
  CHECK(bad.state == State::unhealthy);
  CHECK(bad.value == 7);
  CHECK(test::contains(bad.detail, "7 {pod=\"b\\n\\x1b\"} is above max 0.5 (1 of 2 samples outside)"));

  auto below = ask(R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"1"]}})", 2.0, std::nullopt);
  CHECK(below.state == State::unhealthy);
  CHECK(below.value == 1);
  CHECK(test::contains(below.detail, "1 is below min 2"));

  auto in_range = ask(vector_answer({{"{}", "3"}}), 2.0, 4.0);
  CHECK(in_range.state == State::healthy);
  CHECK(test::contains(in_range.detail, "3 is within [2, 4]"));

  auto infinite = ask(vector_answer({{"{}", "+Inf"}}), std::nullopt, 0.5);
  CHECK(infinite.state == State::unhealthy);
  CHECK(test::contains(infinite.detail, "+Inf is above max 0.5"));

  // The worst of several outside: the furthest beyond its bound.
  auto worst = ask(vector_answer({{R"({"p":"a"})", "-5"}, {R"({"p":"b"})", "12"}, {R"({"p":"c"})", "0"}}), 0.0, 10.0);
  CHECK(worst.state == State::unhealthy);
  CHECK(worst.value == -5);
  CHECK(test::contains(worst.detail, "(2 of 3 samples outside)"));
}

TEST_CASE("health: prometheus: what cannot be judged is unknown", "[health]") {
  auto empty = ask(vector_answer({}), std::nullopt, 0.5);
  CHECK(empty.state == State::unknown);
  CHECK(test::contains(empty.detail, "no samples"));

  auto nan = ask(vector_answer({{"{}", "0"}, {R"({"pod":"b"})", "NaN"}}), std::nullopt, 0.5);
  CHECK(nan.state == State::unknown);
  CHECK(test::contains(nan.detail, "NaN {pod=\"b\"} is not a number"));

  auto text = ask(vector_answer({{"{}", "twelve"}}), std::nullopt, 0.5);
  CHECK(text.state == State::unknown);
  CHECK(test::contains(text.detail, "\"twelve\""));

  auto error = ask(test::http_response(400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})"),
                   std::nullopt, 0.5);
  CHECK(error.state == State::unknown);
  CHECK(test::contains(error.detail, "HTTP 400"));
  CHECK(test::contains(error.detail, "bad_data"));
  CHECK(test::contains(error.detail, "parse error at char 5"));

  auto http500 = ask(test::http_response(500, "internal error", "text/plain"), std::nullopt, 0.5);
  CHECK(http500.state == State::unknown);
  CHECK(test::contains(http500.detail, "HTTP 500"));

  auto matrix = ask(R"({"status":"success","data":{"resultType":"matrix","result":[]}})", std::nullopt, 0.5);
  CHECK(matrix.state == State::unknown);
  CHECK(test::contains(matrix.detail, "\"matrix\""));

  CHECK(ask(test::http_response(200, "<html>"), std::nullopt, 0.5).state == State::unknown);
  CHECK(ask(test::http_response(200, "[1,2]"), std::nullopt, 0.5).state == State::unknown);
  CHECK(ask(vector_answer({{"{}", "0"}}), std::nullopt, std::nullopt).state == State::unknown);  // no bound

  auto huge = ask(test::http_response(200, std::string(2 << 20, ' ')), std::nullopt, 0.5);
  CHECK(huge.state == State::unknown);
  CHECK(test::contains(huge.detail, "1 MiB"));
}

TEST_CASE("health: prometheus: unreachable, slow or not HTTP is unknown", "[health]") {
  auto unreachable = invar::evaluate_health(
      prometheus("http://127.0.0.1:" + std::to_string(test::free_port()), std::nullopt, 0.5), canary());
  CHECK(unreachable.state == State::unknown);
  CHECK(test::contains(unreachable.detail, "unreachable"));

  // A server answering after the deadline (a canned slow answer, not a synchronisation).
  test::HttpServer slow([](const std::string&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return test::http_response(200, vector_answer({{"{}", "0"}}));
  });
  auto context = canary();
  context.deadline_ms = 200;
  auto late = invar::evaluate_health(prometheus(slow.url(), std::nullopt, 0.5), context);
  CHECK(late.state == State::unknown);
  CHECK(test::contains(late.detail, "no answer within 200ms"));

  for (const char* url : {"ftp://127.0.0.1/", "file:///etc/passwd", "127.0.0.1:9090", ""}) {
    auto r = invar::evaluate_health(prometheus(url, std::nullopt, 0.5), canary());
    CHECK(r.state == State::unknown);
    CHECK(test::contains(r.detail, "http:// or https://"));
  }
  auto query = invar::evaluate_health(prometheus("http://127.0.0.1:1/?x=1", std::nullopt, 0.5), canary());
  CHECK(query.state == State::unknown);
}

TEST_CASE("health: prometheus: a real Prometheus scraping an exporter", "[health][prometheus]") {
  const std::string series = "proxy_errors_total{stage=\"canary\"}";
  test::TestExporter exporter;
  exporter.set(series, 0);
  auto server = test::PrometheusServer::start_or_skip(exporter.port());
  if (!server) return;
  REQUIRE(server->wait_for_value(series, 0));
  auto check = prometheus(server->url(), std::nullopt, 0.5);

  auto ok = invar::evaluate_health(check, canary());
  CHECK(ok.state == State::healthy);
  CHECK(ok.value == 0);

  exporter.set(series, 5);
  REQUIRE(server->wait_for_value(series, 5));
  auto bad = invar::evaluate_health(check, canary());
  CHECK(bad.state == State::unhealthy);
  CHECK(bad.value == 5);
  CHECK(test::contains(bad.detail, "5 is above max 0.5"));

  auto prod = canary();
  prod.stage = "prod";  // no series for this stage
  auto none = invar::evaluate_health(check, prod);
  CHECK(none.state == State::unknown);
  CHECK(test::contains(none.detail, "no samples"));

  auto syntax = invar::evaluate_health(prometheus(server->url(), std::nullopt, 0.5, "max(("), canary());
  CHECK(syntax.state == State::unknown);
  CHECK(test::contains(syntax.detail, "bad_data"));

  exporter.stop();  // scrapes fail: the series go stale
  REQUIRE(server->wait_for_empty(series));
  auto stale = invar::evaluate_health(check, canary());
  CHECK(stale.state == State::unknown);
  CHECK(test::contains(stale.detail, "no samples"));
}
