// A store from its location: a file path is SQLite, a postgresql:// URL PostgreSQL, and a URL's
// password never reaches a message.
#include "store/store_open.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace mh::store {
namespace {

TEST(StoreOpenTest, ALocationIsAPostgresUrlOnlyByItsScheme) {
  EXPECT_TRUE(IsPostgresUrl("postgresql://u@127.0.0.1:5432/db"));
  EXPECT_TRUE(IsPostgresUrl("postgres://u@h/db"));
  EXPECT_FALSE(IsPostgresUrl("meterhub.db"));
  EXPECT_FALSE(IsPostgresUrl("/var/lib/postgresql://x"));
  EXPECT_FALSE(IsPostgresUrl(":memory:"));
}

TEST(StoreOpenTest, DescribeLeavesThePasswordOut) {
  EXPECT_EQ(Describe({"postgresql://meterhub:s3cret@db.example:5432/mh"}), "postgresql://meterhub@db.example:5432/mh");
  EXPECT_EQ(Describe({"postgresql://meterhub@db.example/mh"}), "postgresql://meterhub@db.example/mh");
  EXPECT_EQ(Describe({"/srv/meterhub.db"}), "/srv/meterhub.db");
}

TEST(StoreOpenTest, AFilePathOpensSqliteAndAUrlPostgres) {
  mh::testing::TempDir dir("store-open");
  const StoreLocation file{dir / "m.db"};
  auto main = OpenMainStore(file);
  ASSERT_TRUE(main.ok()) << main.status().ToString();
  EXPECT_TRUE(OpenLedgerStore(file, /*read_only=*/false).ok());
  EXPECT_TRUE(OpenAuditStore(file, /*read_only=*/false).ok());
  EXPECT_TRUE(OpenWaterStore(file).ok());
  // Nothing listens on port 1: the PostgreSQL backend was asked, and says it cannot connect.
  auto pg = OpenMainStore({"postgresql://nobody@127.0.0.1:1/none"});
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(pg.status().message().find("postgres"), std::string::npos) << pg.status().message();
}

}  // namespace
}  // namespace mh::store
