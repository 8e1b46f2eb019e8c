// The PostgreSQL main store: opening (schema, connections), meters and terminals, the read side
// of readings, tokens, users and sessions. The write path is pg_store_commit.cc, alerts and
// relay pg_store_alerts.cc; the SQL is pg_store_sql.h.
#include "store/postgres/pg_store.h"

#include "store/postgres/pg_store_internal.h"
#include "store/postgres/pg_store_sql.h"

namespace mh::store {
namespace pgstore {

using pg::Params;
using pg::Rows;
namespace sql = pgsql;

// --- connections ---

Result<std::unique_ptr<pg::Connection>> ConnectionPool::Connect(const std::string& url) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> c, pg::Connection::Open(url, "store"));
  MH_RETURN_IF_ERROR(c->Prepare(sql::AllStatements()));
  return c;
}

Result<std::unique_ptr<pg::Connection>> ConnectionPool::Take() {
  {
    std::unique_lock lock(mu_);
    for (;;) {
      while (!idle_.empty()) {
        std::unique_ptr<pg::Connection> c = std::move(idle_.back());
        idle_.pop_back();
        if (PQstatus(c->raw()) == CONNECTION_OK) return c;
        --open_;  // the server dropped it: closed here, a new one may open
      }
      if (open_ < max_open_) break;
      returned_.wait(lock);
    }
    ++open_;
  }
  Result<std::unique_ptr<pg::Connection>> c = Connect(url_);
  if (!c.ok()) {
    std::lock_guard lock(mu_);
    --open_;
    returned_.notify_one();
  }
  return c;
}

void ConnectionPool::Give(std::unique_ptr<pg::Connection> c) {
  std::lock_guard lock(mu_);
  if (PQstatus(c->raw()) != CONNECTION_OK || c->in_transaction()) {
    c.reset();
    --open_;
  } else {
    idle_.push_back(std::move(c));
  }
  returned_.notify_one();
}

Result<std::unique_ptr<pg::Connection>> ConnectWriter(const std::string& url) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> c, ConnectionPool::Connect(url));
  MH_RETURN_IF_ERROR(c->Exec(sql::kStagingTables, "create the staging tables"));
  MH_RETURN_IF_ERROR(c->Prepare(sql::WriterStatements()));
  return c;
}

Result<pg::Connection*> PostgresStore::Writer() {
  if (writer_ == nullptr || PQstatus(writer_->raw()) != CONNECTION_OK) {
    writer_.reset();
    MH_ASSIGN_OR_RETURN(writer_, ConnectWriter(url_));
  }
  return writer_.get();
}

Result<Rows> PostgresStore::Read(const pg::Statement& s, const Params& p, const std::string& context) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> c, readers_.Take());
  Result<Rows> rows = c->Run(s, p, context);
  readers_.Give(std::move(c));
  return rows;
}

Result<int64_t> PostgresStore::Count(const pg::Statement& s, const Params& p, const std::string& context) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(s, p, context));
  return r.empty() ? 0 : r.Int(0, 0);
}

Result<Rows> PostgresStore::Write(const pg::Statement& s, const Params& p, const std::string& context) {
  std::lock_guard lock(write_mu_);
  MH_ASSIGN_OR_RETURN(pg::Connection * db, Writer());
  return db->Run(s, p, context);
}

Status PostgresStore::WriteTransaction(const std::string& context,
                                       const std::function<Status(pg::Connection&)>& body) {
  std::lock_guard lock(write_mu_);
  MH_ASSIGN_OR_RETURN(pg::Connection * db, Writer());
  return db->Transaction([&] { return body(*db); }).WithContext(context);
}

Status PostgresStore::PooledTransaction(const std::string& context,
                                        const std::function<Status(pg::Connection&)>& body) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> c, readers_.Take());
  Status s = c->Transaction([&] { return body(*c); }).WithContext(context);
  readers_.Give(std::move(c));
  return s;
}

// --- row decoders: column order as in pg_store_sql.h ---

MeterInfo MeterAt(const Rows& r, int i) {
  MeterInfo m;
  m.meter_id = r.Text(i, 0);
  m.kind = r.Text(i, 1);
  m.customer_id = r.Text(i, 2);
  m.tz_offset_s = static_cast<int32_t>(r.Int(i, 3));
  m.interval_s = r.Int(i, 4);
  if (!r.IsNull(i, 5)) m.register_max = r.Double(i, 5);
  if (!r.IsNull(i, 6)) m.customer_t1 = r.Double(i, 6);
  m.created_at = r.Int(i, 7);
  m.group = r.Text(i, 8);
  m.timezone = r.Text(i, 9);
  m.protocol = r.Text(i, 10);
  m.address = r.Text(i, 11);
  m.gateway = r.Text(i, 12);
  m.billing_channel = r.Text(i, 13);
  return m;
}

Terminal TerminalAt(const Rows& r, int i) { return Terminal{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3)}; }

namespace {

StoredReading ReadingAt(const Rows& r, int i) {
  StoredReading s;
  s.meter_id = r.Text(i, 0);
  s.channel = r.Text(i, 1);
  s.ts = r.Int(i, 2);
  s.value = r.Double(i, 3);
  s.consumption = r.Double(i, 4);
  s.source = r.Text(i, 5);
  s.quality = r.Text(i, 6);
  s.version = static_cast<uint32_t>(r.Int(i, 7));
  s.estimated = r.Int(i, 8) != 0;
  return s;
}

Result<QuarantinedReading> QuarantinedAt(const Rows& r, int i) {
  QuarantinedReading q;
  q.meter_id = r.Text(i, 0);
  q.channel = r.Text(i, 1);
  q.ts = r.Int(i, 2);
  if (!r.IsNull(i, 3)) q.value = r.Double(i, 3);
  q.raw_value = r.Text(i, 4);
  const std::string verdict = r.Text(i, 5);
  const std::optional<Verdict> parsed = ParseVerdict(verdict);
  if (!parsed) return Internal("postgres store: quarantine row " + q.meter_id + "@" + std::to_string(q.ts) +
                               " has unknown verdict '" + verdict + "'");
  q.verdict = *parsed;
  q.reason = r.Text(i, 6);
  q.source = r.Text(i, 7);
  q.received_at = r.Int(i, 8);
  return q;
}

ApiToken TokenAt(const Rows& r, int i) {
  return ApiToken{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5), r.Int(i, 6)};
}
UserRecord UserAt(const Rows& r, int i) {
  return UserRecord{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Text(i, 3), r.Int(i, 4)};
}
SessionRecord SessionAt(const Rows& r, int i) {
  return SessionRecord{r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), r.Int(i, 4)};
}

std::string At(const std::string& meter_id, int64_t ts) { return meter_id + "@" + std::to_string(ts); }

}  // namespace

Params MeterParams(const MeterInfo& m) {
  Params p;
  p.Text(m.meter_id).Text(m.kind).Text(m.customer_id).Int(m.tz_offset_s).Int(m.interval_s);
  m.register_max ? p.Double(*m.register_max) : p.Null();
  m.customer_t1 ? p.Double(*m.customer_t1) : p.Null();
  p.Int(m.created_at).Text(m.group).Text(m.timezone).Text(m.protocol).Text(m.address).Text(m.gateway)
      .Text(m.billing_channel);
  return p;
}

// --- meters and terminals ---

Status PostgresStore::UpsertMeter(const MeterInfo& m) {
  if (m.meter_id.empty()) return InvalidArgument("upsert meter: empty meter_id");
  return Write(sql::kUpsertMeter, MeterParams(m), "upsert meter " + m.meter_id).status();
}

Result<std::optional<MeterInfo>> PostgresStore::GetMeter(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetMeter, Params().Text(meter_id), "get meter " + meter_id));
  return First<MeterInfo>(r, MeterAt);
}

Result<std::vector<MeterInfo>> PostgresStore::ListMeters(const std::string& customer_id, int64_t offset,
                                                         int64_t limit) {
  Params p;
  p.Text(customer_id);
  p.Limit(limit).Int(offset > 0 ? offset : 0);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListMeters, p, "list meters"));
  return All<MeterInfo>(r, MeterAt);
}

Result<std::optional<MeterInfo>> PostgresStore::FindMeterByAddress(const std::string& protocol,
                                                                  const std::string& address) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kFindMeterByAddress, Params().Text(protocol).Text(address),
                                   "find meter by " + protocol + " address " + address));
  return First<MeterInfo>(r, MeterAt);
}

Result<std::vector<MeterInfo>> PostgresStore::MetersBehindGateway(const std::string& gateway) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kMetersBehindGateway, Params().Text(gateway), "meters behind gateway " + gateway));
  return All<MeterInfo>(r, MeterAt);
}

Result<int64_t> PostgresStore::CountMeters() { return Count(sql::kCountMeters, Params(), "count meters"); }

Status PostgresStore::SetCustomerThreshold(const std::string& meter_id, std::optional<double> t1) {
  const std::string operation = "set customer threshold of meter " + meter_id;
  Params p;
  p.Text(meter_id);
  t1 ? p.Double(*t1) : p.Null();
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kSetCustomerThreshold, p, operation));
  if (r.affected() == 0) return NotFound(operation + ": no such meter");
  return Status::Ok();
}

Status PostgresStore::BindTerminal(const Terminal& t) {
  const std::string operation = "bind terminal " + t.terminal_id + " to meter " + t.meter_id;
  if (t.terminal_id.empty()) return InvalidArgument(operation + ": empty terminal_id");
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kBindTerminal,
                                    Params().Text(t.meter_id).Text(t.terminal_id).Text(t.channel).Text(t.address),
                                    operation));
  if (r.affected() == 0) return NotFound(operation + ": no such meter");
  return Status::Ok();
}

Status PostgresStore::UnbindTerminal(const std::string& meter_id, const std::string& terminal_id) {
  const std::string operation = "unbind terminal " + terminal_id + " from meter " + meter_id;
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kUnbindTerminal, Params().Text(meter_id).Text(terminal_id), operation));
  if (r.affected() == 0) return NotFound(operation + ": not bound");
  return Status::Ok();
}

Result<std::vector<Terminal>> PostgresStore::ListTerminals(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListTerminals, Params().Text(meter_id), "list terminals of meter " + meter_id));
  return All<Terminal>(r, TerminalAt);
}

// --- reads ---

Result<std::vector<StoredReading>> PostgresStore::QueryReadings(const std::string& meter_id, TimeRange range,
                                                                int64_t limit, const std::string& channel) {
  Params p;
  p.Text(meter_id).Text(channel).Int(range.from).Int(range.to);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kQueryReadings, p.Limit(limit), "query readings of meter " + meter_id));
  return All<StoredReading>(r, ReadingAt);
}

Result<std::optional<StoredReading>> PostgresStore::LastReadingAtOrBefore(const std::string& meter_id, int64_t t,
                                                                          const std::string& channel) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kLastReading, Params().Text(meter_id).Text(channel).Int(t),
                                   "last reading of meter " + At(meter_id, t)));
  return First<StoredReading>(r, ReadingAt);
}

Result<std::optional<StoredReading>> PostgresStore::GetReading(const std::string& meter_id, int64_t ts,
                                                               const std::string& channel) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetReading, Params().Text(meter_id).Text(channel).Int(ts),
                                   "get reading " + At(meter_id, ts)));
  return First<StoredReading>(r, ReadingAt);
}

Result<std::vector<ReadingVersion>> PostgresStore::ListReadingVersions(const std::string& meter_id, int64_t ts,
                                                                       const std::string& channel) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListVersions, Params().Text(meter_id).Text(channel).Int(ts),
                                   "list versions of reading " + At(meter_id, ts)));
  return All<ReadingVersion>(r, [](const Rows& r, int i) {
    return ReadingVersion{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), static_cast<uint32_t>(r.Int(i, 3)),
                          r.Double(i, 4), r.Double(i, 5), r.Text(i, 6), r.Text(i, 7), r.Int(i, 8), r.Text(i, 9),
                          r.Text(i, 10)};
  });
}

Result<std::optional<ReadingEstimate>> PostgresStore::GetEstimate(const std::string& meter_id, int64_t ts,
                                                                  const std::string& channel) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetEstimate, Params().Text(meter_id).Text(channel).Int(ts),
                                   "get the estimate of reading " + At(meter_id, ts)));
  return First<ReadingEstimate>(r, [](const Rows& r, int i) {
    return ReadingEstimate{r.Text(i, 0), r.Text(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4), r.Text(i, 5),
                           r.Int(i, 6)};
  });
}

Result<std::vector<QuarantinedReading>> PostgresStore::QueryQuarantine(const std::string& meter_id, TimeRange range,
                                                                       int64_t limit) {
  Params p;
  if (!meter_id.empty()) p.Text(meter_id);
  p.Int(range.from).Int(range.to);
  p.Limit(limit);
  MH_ASSIGN_OR_RETURN(Rows r, meter_id.empty() ? Read(sql::kQueryQuarantine, p, "query quarantine")
                                               : Read(sql::kQueryQuarantineOfMeter, p, "query quarantine of meter " + meter_id));
  std::vector<QuarantinedReading> out;
  out.reserve(r.size());
  for (int i = 0; i < r.size(); ++i) {
    MH_ASSIGN_OR_RETURN(QuarantinedReading q, QuarantinedAt(r, i));
    out.push_back(std::move(q));
  }
  return out;
}

Result<std::vector<ReadingEvent>> PostgresStore::QueryEvents(const std::string& meter_id, TimeRange range,
                                                             int64_t limit) {
  Params p;
  p.Text(meter_id).Int(range.from).Int(range.to);
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kQueryEvents, p.Limit(limit), "query events of meter " + meter_id));
  return All<ReadingEvent>(r, [](const Rows& r, int i) {
    return ReadingEvent{r.Text(i, 0), r.Int(i, 1), r.Int(i, 2), r.Text(i, 3), r.Text(i, 4)};
  });
}

Result<int64_t> PostgresStore::CountReadings() { return Count(sql::kCountReadings, Params(), "count readings"); }
Result<int64_t> PostgresStore::CountQuarantine() { return Count(sql::kCountQuarantine, Params(), "count quarantine"); }
Result<int64_t> PostgresStore::CountEstimatedReadings() {
  return Count(sql::kCountEstimates, Params(), "count estimates");
}

// --- tokens, users, sessions ---

Status PostgresStore::PutToken(const ApiToken& t) {
  if (t.token_sha256.empty()) return InvalidArgument("put token: empty token_sha256");
  return Write(sql::kPutToken,
               Params().Text(t.token_sha256).Text(t.name).Text(t.role).Text(t.customer_id).Int(t.created_at)
                   .Int(t.expires_at).Int(t.revoked_at),
               "put token " + t.name)
      .status();
}

Result<std::optional<ApiToken>> PostgresStore::FindToken(const std::string& token_sha256) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kFindToken, Params().Text(token_sha256), "find token"));
  return First<ApiToken>(r, TokenAt);
}

Result<std::vector<ApiToken>> PostgresStore::ListTokens() {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListTokens, Params(), "list tokens"));
  return All<ApiToken>(r, TokenAt);
}

Status PostgresStore::RevokeToken(const std::string& token_sha256, int64_t at) {
  const std::string operation = "revoke token " + token_sha256.substr(0, 12);
  bool found = false;
  MH_RETURN_IF_ERROR(WriteTransaction(operation, [&](pg::Connection& db) -> Status {
    MH_ASSIGN_OR_RETURN(Rows r, db.Run(sql::kRevokeToken, Params().Text(token_sha256).Int(at)));
    found = r.affected() > 0;
    return db.Run(sql::kDeleteSessionsOfToken, Params().Text(token_sha256)).status();
  }));
  if (!found) return NotFound(operation + ": no such token");
  return Status::Ok();
}

Status PostgresStore::AddUser(const UserRecord& u) {
  const std::string operation = "add user " + u.username;
  if (u.username.empty()) return InvalidArgument("add user: empty username");
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kAddUser,
                                    Params().Text(u.username).Text(u.role).Text(u.customer_id).Text(u.password_hash)
                                        .Int(u.created_at),
                                    operation));
  if (r.affected() == 0) return AlreadyExists(operation + ": the username is taken");
  return Status::Ok();
}

Result<std::optional<UserRecord>> PostgresStore::GetUser(const std::string& username) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kGetUser, Params().Text(username), "get user " + username));
  return First<UserRecord>(r, UserAt);
}

Result<std::vector<UserRecord>> PostgresStore::ListUsers() {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kListUsers, Params(), "list users"));
  return All<UserRecord>(r, UserAt);
}

Status PostgresStore::DeleteUser(const std::string& username) {
  const std::string operation = "delete user " + username;
  bool found = false;
  MH_RETURN_IF_ERROR(WriteTransaction(operation, [&](pg::Connection& db) -> Status {
    MH_ASSIGN_OR_RETURN(Rows r, db.Run(sql::kDeleteUser, Params().Text(username)));
    found = r.affected() > 0;
    return db.Run(sql::kDeleteSessionsOfUser, Params().Text(username)).status();
  }));
  if (!found) return NotFound(operation + ": no such user");
  return Status::Ok();
}

Status PostgresStore::PutSession(const SessionRecord& s) {
  if (s.session_sha256.empty()) return InvalidArgument("put session: empty session_sha256");
  if (s.username.empty() == s.token_sha256.empty())
    return InvalidArgument("put session: exactly one of username and token_sha256 must be set");
  return Write(sql::kPutSession,
               Params().Text(s.session_sha256).Text(s.username).Text(s.token_sha256).Int(s.created_at).Int(s.expires_at),
               "put session")
      .status();
}

Result<std::optional<SessionRecord>> PostgresStore::FindSession(const std::string& session_sha256) {
  MH_ASSIGN_OR_RETURN(Rows r, Read(sql::kFindSession, Params().Text(session_sha256), "find session"));
  return First<SessionRecord>(r, SessionAt);
}

Status PostgresStore::DeleteSession(const std::string& session_sha256) {
  return Write(sql::kDeleteSession, Params().Text(session_sha256), "delete session").status();
}

Result<int64_t> PostgresStore::DeleteExpiredSessions(int64_t now) {
  MH_ASSIGN_OR_RETURN(Rows r, Write(sql::kDeleteExpiredSessions, Params().Int(now), "delete expired sessions"));
  return r.affected();
}

}  // namespace pgstore

Status SetCommitFence(Store& store, std::shared_ptr<const CommitFence> fence) {
  auto* pg = dynamic_cast<pgstore::PostgresStore*>(&store);
  if (pg == nullptr) return FailedPrecondition("shard leases need the PostgreSQL store (store.backend = \"postgres\")");
  return pg->SetCommitFence(std::move(fence));
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresStoreOptions& options) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<pg::Connection> db, pg::Connection::Open(options.url, "store"));
  static const std::string kCreate = std::string(pgsql::kSchema) + pgsql::kClusterSchema +
                                     pgsql::kAlertEstimatesSchema + pgsql::kWorkersListenSchema +
                                     pgsql::kGatewayIndex;
  MH_ASSIGN_OR_RETURN(int version, db->CreateSchema(kCreate.c_str(), "store", kPostgresStoreSchemaVersion,
                                                    {{10, pgsql::kClusterSchema},
                                                     {11, pgsql::kAlertEstimatesSchema},
                                                     {12, pgsql::kWorkersListenSchema},
                                                     {13, pgsql::kGatewayIndex}}));
  (void)version;
  db.reset();
  // The schema is there now: the writer's statements can be prepared on it.
  MH_ASSIGN_OR_RETURN(db, pgstore::ConnectWriter(options.url));
  return std::unique_ptr<Store>(new pgstore::PostgresStore(options, std::move(db)));
}

}  // namespace mh::store
