// The PostgreSQL AuditStore: the shared conformance suite against a real server, then read-only
// opening and the schema version.
#include "store/postgres/pg_audit_store.h"

#include <gtest/gtest.h>

#include "store/audit_store_conformance.h"
#include "store/postgres/pg_db.h"
#include "support/postgres_server.h"

namespace mh::store {
namespace {

using conformance::AuditStoreBackend;
using conformance::AuditStoreConformanceTest;

Result<std::unique_ptr<AuditStore>> MakeStore(const std::string& scratch_dir) {
  const std::string url = mh::testing::PostgresDatabase(scratch_dir);
  if (url.empty()) return Unavailable("no PostgreSQL for this test");
  return OpenPostgresAuditStore(PostgresAuditOptions{url});
}

INSTANTIATE_TEST_SUITE_P(Postgres, AuditStoreConformanceTest, ::testing::Values(AuditStoreBackend{"postgres", MakeStore}),
                         conformance::AuditStoreBackendName);

TEST(PostgresAuditStoreTest, ReadOnlyNeedsTheTablesAndANewerSchemaIsRefused) {
  const std::string url = mh::testing::PostgresDatabase("audit-read-only");
  if (url.empty()) return;
  EXPECT_EQ(OpenPostgresAuditStore(PostgresAuditOptions{url, true}).status().code(), StatusCode::kInvalidArgument);
  {
    auto s = OpenPostgresAuditStore(PostgresAuditOptions{url});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->PutSegments(AuditSegments{"M1", std::string("f\0x", 3), "d", "c", 7}).ok());
  }
  auto ro = OpenPostgresAuditStore(PostgresAuditOptions{url, true});
  ASSERT_TRUE(ro.ok()) << ro.status().ToString();
  EXPECT_EQ((*ro)->GetSegments("M1").value()->fixed_image, std::string("f\0x", 3));
  EXPECT_FALSE((*ro)->PutSegments(AuditSegments{"M2", "f", "d", "c", 7}).ok());
  auto db = pg::Connection::Open(url, "test");
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("UPDATE schema_components SET version = 3 WHERE component = 'audit'", "bump").ok());
  auto newer = OpenPostgresAuditStore(PostgresAuditOptions{url});
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mh::store
