// `meterhub demo --postgres --workers N` (issue 13 item 5): the demo on a PostgreSQL it starts in
// its work directory (store/postgres/local_postgres; an unprivileged user when run as root), the
// demo's own daemon as worker w1 and N-1 more `meterhub serve` processes (worker w2..wN, HTTP on
// the listen port + i) sharing the database, the broker and the configuration — so the shards are
// seen dividing among the workers (docs/scale.md). `make demo` stays on SQLite.
#pragma once

#include <sys/types.h>

#include <ostream>
#include <string>
#include <vector>

#include "app/config.h"
#include "base/status.h"
#include "store/postgres/local_postgres.h"

namespace mh::app {

class Daemon;

class DemoCluster {
 public:
  DemoCluster() = default;
  ~DemoCluster() { Stop(); }
  DemoCluster(const DemoCluster&) = delete;
  DemoCluster& operator=(const DemoCluster&) = delete;

  // A fresh PostgreSQL in <dir>/postgres; `config` is pointed at it (with a ledger key in <dir>)
  // and made worker w1.
  Status StartDatabase(const std::string& dir, Config* config);
  // Workers w2..w<workers>: `meterhub serve` on `config` written to <dir>/worker.toml, HTTP on
  // 127.0.0.1:<base_port + i - 1>, logs in <dir>/worker-<i>.log.
  Status StartWorkers(const Config& config, const std::string& dir, int workers, int base_port);
  // Readings the extra workers received and rejected (their /metrics), summed.
  int64_t ReceivedByOthers() const;
  // One line per worker: its id, port and owned shards.
  void PrintWorkers(std::ostream& out, Daemon& first, const std::string& token) const;
  void Stop();

 private:
  store::pg::LocalPostgres postgres_;
  bool postgres_started_ = false;
  std::vector<pid_t> pids_;
  std::vector<int> ports_;
};

}  // namespace mh::app
