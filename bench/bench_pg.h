// The PostgreSQL benches' server (pg_commit_bench, pg_workers_bench): one PostgreSQL per program
// run (store/postgres/local_postgres: initdb + postgres in a temp dir, fsync on, as an
// unprivileged user when root), started on first use, and a fresh database per case.
#pragma once

#include <libpq-fe.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "store/postgres/local_postgres.h"

namespace mh::bench {

struct PgServer {
  std::string dir;
  store::pg::LocalPostgres pg;
  std::atomic<int> next{0};
  ~PgServer() {
    pg.StopNow();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// The server, started on first use; nullptr (with a message) when it cannot run here.
inline PgServer* GetPgServer() {
  static std::unique_ptr<PgServer> server = [] {
    auto s = std::make_unique<PgServer>();
    char pattern[] = "/tmp/mh_pg_bench_XXXXXX";
    if (mkdtemp(pattern) == nullptr) return std::unique_ptr<PgServer>();
    s->dir = pattern;
    std::filesystem::permissions(s->dir, std::filesystem::perms::all);  // the server's user reads CSV files here
    Status st = s->pg.Start(s->dir + "/pg");
    if (!st.ok()) {
      std::fprintf(stderr, "PostgreSQL bench server: %s\n", st.ToString().c_str());
      return std::unique_ptr<PgServer>();
    }
    return s;
  }();
  return server.get();
}

// A new empty database on the server: its URL, "" when it could not be created. A CHECKPOINT
// first: a case must not pay for writing out the pages the case before it dirtied (one run of
// Import then PsqlCopy measured `\copy` at 6.25 s without it, 4.66 s in the next run).
inline std::string NewDatabase(PgServer& s) {
  const std::string name = "b" + std::to_string(s.next.fetch_add(1));
  PGconn* c = PQconnectdb(s.pg.Url("postgres").c_str());
  PQclear(PQexec(c, "CHECKPOINT"));
  PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  return ok ? s.pg.Url(name) : std::string();
}

}  // namespace mh::bench
