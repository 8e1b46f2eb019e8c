// `make demo` as a new user runs it: `meterhub demo` with its defaults — the listen address
// 127.0.0.1:8080 and every part (fleet, water meters, audited meters) — cut short by --duration.
// The API must answer while the fleet replays, and the summary must report every part. A second
// test holds 8080 first: the demo must fall back to a free port and say so. Both use port 8080, so
// ctest runs them one at a time (RESOURCE_LOCK port8080); when something outside the test holds
// 8080, the first one checks the fallback instead of failing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>

#include "support/test_env.h"

namespace mh {
namespace {

using testing::ChildProcess;
using testing::ReadFile;
using testing::TempDir;
using testing::WaitFor;

// Binds 127.0.0.1:8080 the way any other program would; -1 when it is taken already.
int Hold8080() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(8080);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct DemoRun {
  int exit_code = -1;
  std::string out, log;
  int port = 0;
  int api_ok = 0, api_failed = 0;
  std::vector<double> latencies_ms;
};

// Runs the demo with its defaults for `duration` seconds of replay, polling GET /api/v1/status
// with the printed admin token while it runs.
DemoRun RunDefaultDemo(const TempDir& dir, int duration) {
  DemoRun run;
  ChildProcess demo({"demo", "--duration", std::to_string(duration), "--dir", dir / "work"}, dir / "demo.log",
                    dir / "demo.out");
  demo.Start();
  std::smatch m;
  std::string token;
  const std::regex api_line(R"(HTTP API:\s+http://127\.0\.0\.1:(\d+)/api/v1)");
  const std::regex token_line(R"(admin token: (\S+))");
  WaitFor([&] {
    std::string out = ReadFile(dir / "demo.out");
    if (std::regex_search(out, m, api_line)) run.port = std::stoi(m[1]);
    if (std::regex_search(out, m, token_line)) token = m[1];
    return (run.port > 0 && !token.empty()) || !demo.running();
  }, 120);
  if (run.port > 0) {
    httplib::Client api("127.0.0.1", run.port);
    api.set_read_timeout(10, 0);
    const httplib::Headers auth = {{"Authorization", "Bearer " + token}};
    while (demo.running()) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = api.Get("/api/v1/status", auth);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r && r->status == 200) {
        ++run.api_ok;
        run.latencies_ms.push_back(ms);
      } else if (demo.running() && ReadFile(dir / "demo.out").find("summary") == std::string::npos) {
        ++run.api_failed;  // a refusal while the demo shuts down after its summary does not count
        std::cout << "API call failed: " << (r ? "HTTP " + std::to_string(r->status) + " " + r->body
                                                : httplib::to_string(r.error()))
                  << "\n";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  run.exit_code = demo.Wait(600);
  run.out = ReadFile(dir / "demo.out");
  run.log = ReadFile(dir / "demo.log");
  return run;
}

void ExpectEveryPartReported(const DemoRun& run) {
  EXPECT_EQ(run.exit_code, 0) << run.log;
  EXPECT_NE(run.out.find("summary"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("readings accepted:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("water maintenance"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("audit attacks:"), std::string::npos) << run.out;
  // Nothing the fleet published goes unaccounted for.
  EXPECT_NE(run.out.find("still queued"), std::string::npos) << run.out;
  EXPECT_GT(run.api_ok, 0) << "the API never answered during the run";
  EXPECT_EQ(run.api_failed, 0) << run.log;
  if (!run.latencies_ms.empty()) {
    std::vector<double> l = run.latencies_ms;
    std::sort(l.begin(), l.end());
    std::cout << "API latency during the demo: " << l.size() << " calls, p50 " << l[l.size() / 2] << " ms, max "
              << l.back() << " ms\n";
  }
}

TEST(Demo, RunsWithTheReadmeDefaults) {
  TempDir dir("demo-defaults");
  int held = Hold8080();
  bool outside_holds_8080 = held < 0;
  if (held >= 0) ::close(held);
  DemoRun run = RunDefaultDemo(dir, 15);
  ExpectEveryPartReported(run);
  if (outside_holds_8080) {
    EXPECT_NE(run.port, 8080);
    EXPECT_NE(run.log.find("8080"), std::string::npos) << "the fallback must name the taken address";
  } else {
    EXPECT_EQ(run.port, 8080) << run.out;
  }
}

TEST(Demo, FallsBackToAFreePortWhen8080IsTaken) {
  TempDir dir("demo-8080-held");
  int held = Hold8080();  // may fail when something outside holds it: the demo must fall back all the same
  DemoRun run = RunDefaultDemo(dir, 8);
  if (held >= 0) ::close(held);
  ExpectEveryPartReported(run);
  EXPECT_NE(run.port, 8080);
  EXPECT_GT(run.port, 0);
  EXPECT_NE(run.log.find("127.0.0.1:8080"), std::string::npos) << run.log;
}

}  // namespace
}  // namespace mh
