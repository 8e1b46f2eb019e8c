// A PostgreSQL server of our own on a free 127.0.0.1 port, for the tests (and, later, a demo on
// PostgreSQL): Debian's server binaries (/usr/lib/postgresql/<v>/bin), `initdb` into a directory
// and `postgres` started on it with TCP on loopback only and no Unix socket; stopped (fast
// shutdown, then SIGKILL) when this object goes away. As root the server runs as an
// unprivileged user (PostgreSQL refuses root), who then owns the directory.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace mh::store::pg {

// The directory holding initdb and postgres (newest installed version), or "" when absent.
std::string FindPostgresBinaries();

class LocalPostgres {
 public:
  LocalPostgres() = default;
  ~LocalPostgres();
  LocalPostgres(const LocalPostgres&) = delete;
  LocalPostgres& operator=(const LocalPostgres&) = delete;

  // Creates a cluster in `dir`/data (superuser `superuser`, trust authentication on loopback),
  // starts it and waits until it accepts connections. `dir` is created, and given to the
  // server's user when running as root. FailedPrecondition when the binaries are absent.
  Status Start(const std::string& dir, const std::string& superuser = "meterhub");
  void Stop();
  // Immediate shutdown (SIGQUIT: no checkpoint; the next start recovers from the WAL) — for a
  // throw-away test server whose files are deleted next.
  void StopNow();
  // Kills the postmaster at once (SIGKILL): tests of what survives.
  void Kill();

  int port() const { return port_; }
  // "postgresql://<superuser>@127.0.0.1:<port>/<database>".
  std::string Url(const std::string& database) const;
  const std::string& log_path() const { return log_path_; }

 private:
  void Signal(int sig);  // then waits up to 10 s, then SIGKILL
  pid_t pid_ = -1;
  int port_ = 0;
  std::string superuser_, log_path_;
};

}  // namespace mh::store::pg
