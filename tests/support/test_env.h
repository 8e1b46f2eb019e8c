// Helpers for integration and end-to-end tests: temp directories, waiting, running the built
// `meterhub` binary and other commands, and the path of the shared real data.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mh::testing {

// A fresh directory under /tmp, removed when the object goes away (kept when KEEP_TEST_DIRS is set).
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() /
            ("meterhub-" + name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  std::string path() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
  static inline int counter_ = 0;
};

inline bool WaitFor(const std::function<bool()>& condition, double timeout_s) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

inline std::string MeterhubBinary() { return std::string(MH_BINARY_DIR) + "/src/app/meterhub"; }
inline std::string SharedData(const std::string& rel) { return std::string(MH_SHARED_DATA_DIR) + "/" + rel; }
inline bool Exists(const std::string& path) { return std::filesystem::exists(path); }

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command, capturing stdout+stderr.
inline CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The built `meterhub` with `args` as a child process: stdout to `out_file` (when given), stderr
// appended to `log`; killed (SIGKILL) when the object goes away unless it was waited for.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> args, std::string log, std::string out_file = "")
      : args_(std::move(args)), log_(std::move(log)), out_(std::move(out_file)) {}
  ~ChildProcess() { Kill(SIGKILL); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = freopen(log_.c_str(), "a", stderr);
      if (!out_.empty()) f = freopen(out_.c_str(), "w", stdout);
      (void)f;
      std::vector<char*> argv;
      static std::string name = "meterhub";
      argv.push_back(name.data());
      for (auto& a : args_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(MeterhubBinary().c_str(), argv.data());
      _exit(127);
    }
  }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // The exit code once it ended within `timeout_s` (else -1; the process keeps running).
  int Wait(double timeout_s) {
    WaitFor([this] { return !running(); }, timeout_s);
    return pid_ > 0 ? -1 : exit_code_;
  }
  int Kill(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  pid_t pid() const { return pid_; }

 private:
  std::vector<std::string> args_;
  std::string log_, out_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// `meterhub serve --config CONFIG` as a child process, its stderr appended to `log`.
class ServeProcess : public ChildProcess {
 public:
  ServeProcess(std::string config, std::string log) : ChildProcess({"serve", "--config", std::move(config)}, std::move(log)) {}
};

}  // namespace mh::testing
