// One real PostgreSQL per test binary, for the PostgreSQL stores' tests: started on first use
// (store/postgres/local_postgres: initdb + postgres in a temp dir, 127.0.0.1, a free port, as an
// unprivileged user when root) and stopped when the binary exits. Each test takes a fresh,
// empty database of its own (CREATE DATABASE), so tests share the server's start-up cost only.
//
//   std::string url = mh::testing::PostgresDatabase(key);  if (url.empty()) return;
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "store/postgres/local_postgres.h"
#include "support/test_env.h"

namespace mh::testing {

class PostgresServer {
 public:
  // The shared server, started on the first call; nullptr when it cannot run, `why` says why
  // (binaries absent: skip; anything else: fail).
  static PostgresServer* Get(std::string* why, bool* absent) {
    static std::once_flag once;
    static std::unique_ptr<PostgresServer> server;
    static std::string error;
    static bool missing = false;
    std::call_once(once, [] {
      if (store::pg::FindPostgresBinaries().empty()) {
        missing = true;
        error = "PostgreSQL server binaries are absent (/usr/lib/postgresql/*/bin; scripts/install-deps.sh installs postgresql-15)";
        return;
      }
      auto s = std::unique_ptr<PostgresServer>(new PostgresServer());
      Status st = s->server_.Start(s->dir_.path());
      if (!st.ok()) {
        error = st.ToString() + "\n" + ReadFile(s->server_.log_path());
        return;
      }
      server = std::move(s);
    });
    *why = error;
    *absent = missing;
    return server.get();
  }

  // A new empty database; its URL, or "" with `why` set.
  std::string NewDatabase(std::string* why) {
    const std::string name = "t" + std::to_string(next_.fetch_add(1));
    PGconn* c = PQconnectdb(server_.Url("postgres").c_str());
    std::string sql = "CREATE DATABASE " + name;
    PGresult* r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql.c_str()) : nullptr;
    const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) *why = std::string("CREATE DATABASE failed: ") + PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    return ok ? server_.Url(name) : std::string();
  }

  store::pg::LocalPostgres& server() { return server_; }

 private:
  PostgresServer() : dir_("postgres") {}
 public:
  ~PostgresServer() { server_.StopNow(); }  // its files are deleted next: no checkpoint

 private:
  TempDir dir_;  // destroyed after server_ (declared first): the server stops, then its files go
  store::pg::LocalPostgres server_;
  std::atomic<int> next_{0};
};

// The URL of a fresh database for `key` on the shared server; the same key again gives the same
// database (a conformance test reopening its store passes the same scratch directory). "" after
// GTEST_SKIP (binaries absent) or a test failure (server or database could not be made).
inline std::string PostgresDatabase(const std::string& key) {
  static std::mutex mutex;
  static std::map<std::string, std::string> databases;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = databases.find(key); it != databases.end()) return it->second;
  std::string why;
  bool absent = false;
  PostgresServer* server = PostgresServer::Get(&why, &absent);
  if (server == nullptr) {
    if (absent) {
      [&why] { GTEST_SKIP() << why; }();
    } else {
      ADD_FAILURE() << "cannot start PostgreSQL: " << why;
    }
    return {};
  }
  std::string url = server->NewDatabase(&why);
  if (url.empty()) {
    ADD_FAILURE() << why;
    return {};
  }
  databases[key] = url;
  return url;
}

}  // namespace mh::testing

