#include "store/postgres/local_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/loopback.h"

namespace mh::store::pg {
namespace {

namespace fs = std::filesystem;

// Who runs the server when we are root: a dedicated test user if the machine has one, else the
// `postgres` user of Debian's server package, else `nobody`.
const passwd* ServerUser() {
  if (::geteuid() != 0) return nullptr;
  for (const char* name : {"meterhub-test", "postgres", "nobody"})
    if (const passwd* pw = ::getpwnam(name)) return pw;
  return nullptr;
}

// Forks `argv` with stdout and stderr appended to `log`, as `user` when given (groups, gid, then
// uid dropped before exec). The child dies with us (SIGQUIT: PostgreSQL's immediate shutdown).
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log, const passwd* user) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::close(fd);
  }
  if (user != nullptr) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(user->pw_gid) != 0 || ::setuid(user->pw_uid) != 0) _exit(126);
  }
  ::prctl(PR_SET_PDEATHSIG, SIGQUIT);  // after setuid, which clears it
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  _exit(127);
}

// The exit code of `pid`, waiting at most `timeout`; -1 (and killed) when it ran over.
int WaitExit(pid_t pid, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// The first directory above `dir` that `user` cannot enter (its files are out of the server's
// reach), or "".
std::string Unreachable(const std::string& dir, const passwd& user) {
  std::error_code ec;
  for (fs::path p = fs::absolute(dir, ec).parent_path(); !p.empty(); p = p.parent_path()) {
    struct stat st{};
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0 && st.st_uid != user.pw_uid) return p.string();
    if (p == p.root_path()) break;
  }
  return {};
}

}  // namespace

std::string FindPostgresBinaries() {
  std::error_code ec;
  std::vector<std::string> dirs;
  for (const fs::directory_entry& e : fs::directory_iterator("/usr/lib/postgresql", ec)) dirs.push_back(e.path().string());
  // Newest major version first ("9.6" < "15" numerically).
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
    return std::atof(fs::path(a).filename().c_str()) > std::atof(fs::path(b).filename().c_str());
  });
  for (const std::string& d : dirs)
    if (::access((d + "/bin/initdb").c_str(), X_OK) == 0 && ::access((d + "/bin/postgres").c_str(), X_OK) == 0)
      return d + "/bin";
  return {};
}

LocalPostgres::~LocalPostgres() { Stop(); }

std::string LocalPostgres::Url(const std::string& database) const {
  return "postgresql://" + superuser_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Status LocalPostgres::Start(const std::string& dir, const std::string& superuser) {
  const std::string bin = FindPostgresBinaries();
  if (bin.empty()) {
    return FailedPrecondition("PostgreSQL server binaries are not installed (/usr/lib/postgresql/*/bin; "
                              "apt-get install postgresql-15)");
  }
  superuser_ = superuser;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  const passwd* user = ServerUser();
  if (::geteuid() == 0 && user == nullptr) return FailedPrecondition("running as root and no unprivileged user to run PostgreSQL");
  if (user != nullptr) {
    if (::chown(dir.c_str(), user->pw_uid, user->pw_gid) != 0) return Internal("cannot give " + dir + " to user " + user->pw_name);
    if (std::string blocked = Unreachable(dir, *user); !blocked.empty()) {
      return FailedPrecondition("PostgreSQL runs as user " + std::string(user->pw_name) + ", who cannot enter " + blocked +
                                " (above " + dir + "): use a directory others may enter, e.g. TMPDIR=/tmp");
    }
  }
  log_path_ = dir + "/postgres.log";
  const std::string data = dir + "/data";
  if (!fs::exists(data + "/PG_VERSION")) {
    // --no-sync: a crash during initdb just means a new one; the server itself runs with fsync on.
    pid_t pid = Spawn({bin + "/initdb", "-D", data, "-U", superuser, "--auth=trust", "--encoding=UTF8",
                       "--locale=C", "--no-sync", "--no-instructions"},
                      log_path_, user);
    if (pid < 0) return Internal("fork failed");
    if (int code = WaitExit(pid, std::chrono::seconds(60)); code != 0)
      return Unavailable("initdb failed (exit " + std::to_string(code) + "); see " + log_path_);
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeLoopbackPort();
    pid_ = Spawn({bin + "/postgres", "-D", data, "-p", std::to_string(port_), "-c", "listen_addresses=127.0.0.1",
                  "-c", "unix_socket_directories=", "-c", "fsync=on", "-c", "max_connections=40", "-c",
                  "shared_buffers=32MB", "-c", "logging_collector=off"},
                 log_path_, user);
    if (pid_ < 0) return Internal("fork failed");
    const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=" + superuser +
                                 " connect_timeout=2";
    for (int i = 0; i < 600; ++i) {  // at most 30 s
      if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;  // died (port taken?): try another port
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
  }
  return Unavailable("postgres did not start; see " + log_path_);
}

void LocalPostgres::Stop() { Signal(SIGINT); }  // fast shutdown: disconnect clients, checkpoint, exit
void LocalPostgres::StopNow() { Signal(SIGQUIT); }

void LocalPostgres::Signal(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  for (int i = 0; i < 500; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
}

void LocalPostgres::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace mh::store::pg
