// `meterhub ledger witness` end to end (issue 11 item 5): against a running `meterhub serve` (REST:
// GET /api/v1/audit/ledger/head, /heads, /proofs/consistency) and against its database file, the
// witness keeps every signed tree head it sees and reports `consistent size=N` while the ledger
// grows; a history rewritten and re-signed with the operator's own key is caught by the heads it
// kept; a head under another key is a bad signature; bad usage is exit 2.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/local_broker.h"
#include "audit/ledger/ledger.h"
#include "crypto/crypto.h"
#include "meter/audit/fixed_segment.h"
#include "store/sqlite/sqlite_ledger_store.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;

class LedgerWitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http_port_ = app::FreeLoopbackPort();
    // No broker: the ledger grows by commissioning over REST.
    testing::WriteFile(config_, "[store]\npath = \"" + db_ + "\"\n[http]\nlisten = \"127.0.0.1:" + std::to_string(http_port_) +
                                    "\"\n[mqtt]\nbroker = \"\"\n[audit]\ninterval = \"0\"\n");
    admin_ = Token("admin");
    auditor_ = Token("auditor");
    serve_.Start();
    ASSERT_TRUE(testing::WaitFor([&] {
      auto r = Client().Get("/api/v1/status", Auth(admin_));
      return r && r->status == 200;
    }, 30)) << testing::ReadFile(dir_ / "serve.log");
  }

  std::string Token(const std::string& role) {
    auto t = RunCommand(testing::MeterhubBinary() + " token create --role " + role + " --config " + config_);
    EXPECT_EQ(t.exit_code, 0) << t.output;
    return t.output.substr(0, t.output.find('\n'));
  }
  httplib::Client Client() { return httplib::Client("127.0.0.1", http_port_); }
  static httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  void AddMeter(const std::string& id) {
    auto r = Client().Post("/api/v1/meters", Auth(admin_), json{{"meter_id", id}}.dump(), "application/json");
    ASSERT_EQ(r->status, 201) << r->body;
    r = Client().Post("/api/v1/audit/meters/" + id + "/commission", Auth(auditor_),
                      json{{"fixed_image", meter::audit::DefaultFixedImage()}, {"registered_at", 1795000000}}.dump(),
                      "application/json");
    ASSERT_EQ(r->status, 201) << r->body;
  }
  testing::CommandResult Witness(const std::string& keep, const std::string& source) {
    return RunCommand(testing::MeterhubBinary() + " ledger witness --keep " + keep + " " + source);
  }
  std::string Url() { return "--url http://127.0.0.1:" + std::to_string(http_port_) + " --token " + auditor_; }

  testing::TempDir dir_{"ledger-witness"};
  const std::string db_ = dir_ / "meterhub.db";
  const std::string config_ = dir_ / "meterhub.toml";
  int http_port_ = 0;
  std::string admin_, auditor_;
  testing::ServeProcess serve_{dir_ / "meterhub.toml", dir_ / "serve.log"};
};

TEST_F(LedgerWitnessTest, KeepsHeadsAndCatchesARewrittenHistory) {
  AddMeter("M1");
  // The heads, for witnesses: admin, auditor and supervisor; not operators' staff.
  auto heads = Client().Get("/api/v1/audit/ledger/heads?since=0", Auth(auditor_));
  ASSERT_EQ(heads->status, 200) << heads->body;
  json h = json::parse(heads->body);
  ASSERT_EQ(h["heads"].size(), 1u) << h.dump();  // signed on the way: one head covering both entries
  EXPECT_EQ(h["heads"][0]["size"], 2);
  EXPECT_EQ(h["heads"][0]["signature"].get<std::string>().size(), 128u);
  EXPECT_EQ(h["public_key"].get<std::string>().size(), 64u);
  EXPECT_EQ(Client().Get("/api/v1/audit/ledger/heads", Auth(Token("supervisor")))->status, 200);
  EXPECT_EQ(Client().Get("/api/v1/audit/ledger/heads", Auth(Token("operator")))->status, 403);
  EXPECT_EQ(Client().Get("/api/v1/audit/ledger/heads?since=-1", Auth(auditor_))->status, 400);
  EXPECT_TRUE(json::parse(Client().Get("/api/v1/audit/ledger/heads?since=3", Auth(auditor_))->body)["heads"].empty());

  const std::string keep = dir_ / "kept";
  auto first = Witness(keep, Url());
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output, "consistent size=2\n");
  AddMeter("M2");
  auto second = Witness(keep, Url());
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output, "consistent size=4\n");
  const std::string kept = testing::ReadFile(keep + "/heads.jsonl");
  EXPECT_EQ(std::count(kept.begin(), kept.end(), '\n'), 2) << kept;  // the heads of size 2 and 4
  EXPECT_EQ(testing::ReadFile(keep + "/public_key").size(), 65u);
  // The database file of the running daemon, read-only, is a source too.
  auto from_db = Witness(dir_ / "kept-db", "--db " + db_);
  EXPECT_EQ(from_db.exit_code, 0) << from_db.output;
  EXPECT_EQ(from_db.output, "consistent size=4\n");
  EXPECT_EQ(WEXITSTATUS(serve_.Kill(SIGTERM)), 0);

  // The operator rewrites the history and signs it with the ledger's own key: every head a witness
  // kept is inconsistent with the new newest one.
  std::string key_hex = testing::ReadFile(db_ + ".ledger.key");
  key_hex.resize(64);
  auto key = crypto::HexDecode(key_hex);
  ASSERT_TRUE(key.ok());
  const std::string rewritten = dir_ / "rewritten.db";
  {
    store::SqliteLedgerOptions o;
    o.path = rewritten;
    auto st = store::OpenSqliteLedgerStore(o);
    ASSERT_TRUE(st.ok()) << st.status().message();
    SimulatedClock clock(1795400000000);
    auto ledger = audit::ledger::Ledger::Open(**st, clock, std::string(key->begin(), key->end()));
    ASSERT_TRUE(ledger.ok()) << ledger.status().message();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE((*ledger)->Append({{"M1", 0, i}, "audit.other.v1", "rewritten " + std::to_string(i)}).ok());
    }
    ASSERT_TRUE((*ledger)->Head().ok());
  }
  auto caught = Witness(keep, "--db " + rewritten);
  EXPECT_EQ(caught.exit_code, 1) << caught.output;
  EXPECT_EQ(caught.output, "inconsistent kept=2 newest=5\ninconsistent kept=4 newest=5\n");
  // A head the pinned key did not sign.
  auto other_key = Witness(dir_ / "kept-other", "--db " + db_ + " --public-key " + std::string(64, 'a'));
  EXPECT_EQ(other_key.exit_code, 1) << other_key.output;
  EXPECT_EQ(other_key.output, "bad-signature size=4\n");
  // Bad usage.
  EXPECT_EQ(RunCommand(testing::MeterhubBinary() + " ledger witness --db " + db_).exit_code, 2);
  EXPECT_EQ(Witness(keep, "--db " + db_ + " --url http://127.0.0.1:1 --token x").exit_code, 2);
  EXPECT_EQ(Witness(keep, "--url http://127.0.0.1:1").exit_code, 2);
  EXPECT_EQ(Witness(keep, "--db " + (dir_ / "missing.db")).exit_code, 2);
  EXPECT_EQ(Witness(keep, "--db " + db_ + " --bogus").exit_code, 2);
  std::filesystem::create_directories(dir_ / "bad-keep");
  testing::WriteFile(dir_ / "bad-keep/heads.jsonl", "{\"size\":1}\n");
  auto malformed = Witness(dir_ / "bad-keep", "--db " + db_);
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_NE(malformed.output.find("heads.jsonl:1"), std::string::npos) << malformed.output;
}

}  // namespace
}  // namespace mh
