// The libpq helper against a real server (tests/support/postgres_server.h): parameters and
// binary results, errors naming the statement, transactions, pipelines, schema versions.
#include "store/postgres/pg_db.h"

#include <gtest/gtest.h>

#include "support/postgres_server.h"

namespace mh::store::pg {
namespace {

class PgDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string url = mh::testing::PostgresDatabase(::testing::UnitTest::GetInstance()->current_test_info()->name());
    if (url.empty()) return;
    auto c = Connection::Open(url, "test");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    db_ = std::move(c).value();
    ASSERT_TRUE(db_->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT NOT NULL, b BYTEA, d DOUBLE PRECISION)", "create t").ok());
  }
  std::unique_ptr<Connection> db_;
};

const Statement kInsert{"insert_t", "INSERT INTO t (k, n, b, d) VALUES ($1, $2, $3, $4)"};
const Statement kSelect{"select_t", "SELECT k, n, b, d, n::int4, n::int2, n > 0 FROM t WHERE k = $1"};

TEST_F(PgDbTest, PreparedStatementsTakeTextIntsAndBytesAndReadBinary) {
  ASSERT_TRUE(db_->Prepare({kInsert, kSelect}).ok());
  const std::string bytes("\0\1\xff\\x00'", 6);
  ASSERT_TRUE(db_->Run(kInsert, Params().Text("a'\"b").Int(-42).Bytes(bytes).Double(0.1)).ok());
  ASSERT_TRUE(db_->Run(kInsert, Params().Text("big").Int(int64_t{1} << 62).Null().Double(-1e300)).ok());
  Result<Rows> rows = db_->Run(kSelect, Params().Text("a'\"b"));
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1);
  EXPECT_EQ(rows->Text(0, 0), "a'\"b");
  EXPECT_EQ(rows->Int(0, 1), -42);
  EXPECT_EQ(rows->Bytes(0, 2), bytes);
  EXPECT_EQ(rows->Double(0, 3), 0.1);
  EXPECT_EQ(rows->Int(0, 4), -42);
  EXPECT_EQ(rows->Int(0, 5), -42);
  EXPECT_EQ(rows->Int(0, 6), 0);
  rows = db_->Query("SELECT k, n, b, d, n > 0 FROM t WHERE k = $1", Params().Text("big"), "select big");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Int(0, 1), int64_t{1} << 62);
  EXPECT_TRUE(rows->IsNull(0, 2));
  EXPECT_EQ(rows->Double(0, 3), -1e300);
  EXPECT_EQ(rows->Int(0, 4), 1);
}

TEST_F(PgDbTest, ErrorsNameTheStatementAndMapTheirSqlstate) {
  ASSERT_TRUE(db_->Prepare({kInsert}).ok());
  ASSERT_TRUE(db_->Run(kInsert, Params().Text("k").Int(1).Null().Null()).ok());
  Result<Rows> again = db_->Run(kInsert, Params().Text("k").Int(1).Null().Null());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("postgres test: insert_t: "), std::string::npos) << again.status().message();
  EXPECT_NE(again.status().message().find("SQLSTATE 23505"), std::string::npos) << again.status().message();
  Status bad = db_->Prepare({Statement{"broken", "SELEC 1"}});
  EXPECT_NE(bad.message().find("prepare broken"), std::string::npos) << bad.message();
  EXPECT_FALSE(Connection::Open("postgresql://nobody@127.0.0.1:1/none", "test").ok());
  EXPECT_EQ(Connection::Open("", "test").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PgDbTest, TransactionsCommitOrRollBackAsTheBodySays) {
  ASSERT_TRUE(db_->Prepare({kInsert}).ok());
  Status failed = db_->Transaction([&] {
    MH_RETURN_IF_ERROR(db_->Run(kInsert, Params().Text("x").Int(1).Null().Null()).status());
    return Internal("changed my mind");
  });
  EXPECT_EQ(failed.message(), "changed my mind");
  EXPECT_FALSE(db_->in_transaction());
  ASSERT_TRUE(db_->Transaction([&] { return db_->Run(kInsert, Params().Text("y").Int(2).Null().Null()).status(); }).ok());
  Status ignored = db_->Transaction([&] {
    (void)db_->Run(kInsert, Params().Text("z").Int(3).Null().Null());
    (void)db_->Run(kInsert, Params().Text("y").Int(2).Null().Null());  // fails: the transaction is aborted
    return Status::Ok();                                                // and the body ignores it
  });
  EXPECT_FALSE(ignored.ok());
  EXPECT_FALSE(db_->in_transaction());
  Result<Rows> n = db_->Query("SELECT count(*), max(k) FROM t", Params(), "count");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Int(0, 0), 1);
  EXPECT_EQ(n->Text(0, 1), "y");
}

TEST_F(PgDbTest, PipelinesSendABatchAndStopAtTheFirstError) {
  ASSERT_TRUE(db_->Prepare({kInsert}).ok());
  std::vector<Params> batch;
  for (int i = 0; i < 500; ++i) batch.push_back(Params().Text("k" + std::to_string(i)).Int(i).Bytes("b").Double(i));
  ASSERT_TRUE(db_->Transaction([&] { return db_->Pipeline(kInsert, batch); }).ok());
  Result<Rows> n = db_->Query("SELECT count(*), sum(n) FROM t", Params(), "count");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->Int(0, 0), 500);
  std::vector<Params> dup = {Params().Text("new").Int(1).Null().Null(), Params().Text("k7").Int(1).Null().Null(),
                             Params().Text("new2").Int(1).Null().Null()};
  Status s = db_->Transaction([&] { return db_->Pipeline(kInsert, dup); });
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_NE(s.message().find("row 1 of 3"), std::string::npos) << s.message();
  n = db_->Query("SELECT count(*) FROM t", Params(), "count");  // the connection is usable, nothing kept
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n->Int(0, 0), 500);
}

TEST_F(PgDbTest, SchemaIsCreatedOnceMigratedAndANewerOneRefused) {
  const char* v1 = "CREATE TABLE widgets (id BIGINT PRIMARY KEY)";
  EXPECT_EQ(db_->StoredVersion("widgets").value(), -1);
  ASSERT_EQ(db_->CreateSchema(v1, "widgets", 1).value(), 1);
  ASSERT_EQ(db_->CreateSchema(v1, "widgets", 1).value(), 1);  // again: nothing to do
  const std::vector<Connection::Migration> up = {{2, "ALTER TABLE widgets ADD COLUMN name TEXT"}};
  ASSERT_EQ(db_->CreateSchema("CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT)", "widgets", 2, up).value(), 2);
  EXPECT_TRUE(db_->Exec("INSERT INTO widgets (id, name) VALUES (1, 'a')", "insert").ok());
  Result<int> older = db_->CreateSchema(v1, "widgets", 1);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(older.status().message().find("schema version 2"), std::string::npos) << older.status().message();
}

TEST(LocalPostgresTest, AServerRunsAsAnUnprivilegedUserOnLoopbackOnly) {
  const std::string url = mh::testing::PostgresDatabase("local-postgres");
  if (url.empty()) return;
  auto c = Connection::Open(url, "test");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Result<Rows> r = (*c)->Query("SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories'),"
                               " current_setting('fsync')",
                               Params(), "settings");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Text(0, 0), "127.0.0.1");
  EXPECT_EQ(r->Text(0, 1), "");
  EXPECT_EQ(r->Text(0, 2), "on");
}

}  // namespace
}  // namespace mh::store::pg
