// Issue 10 item 16 and the dashboard's login as a client meets them: `meterhub token create
// --expires`, `token list`, `token revoke` and `user add` on the command line against the database
// a running daemon serves; DELETE /api/v1/tokens/{id}; expired and revoked tokens refused over
// HTTP; /status scoped for customers; /metrics behind http.metrics_token; sessions by password
// and by token, the cookie's attributes, CSRF, logout, and sessions ended by revocation.
#include <httplib.h>

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "app/config.h"
#include "app/daemon.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;

class AccessApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_path_ = dir_ / "meterhub.toml";
    testing::WriteFile(config_path_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[mqtt]\nbroker = \"\"\n" +
                                         "[http]\nlisten = \"127.0.0.1:0\"\nmetrics_token = \"scrape-secret\"\n");
    auto config = app::LoadConfig(config_path_);
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    daemon_ = std::make_unique<app::Daemon>(*config);
    ASSERT_TRUE(daemon_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", daemon_->http_port());
    admin_ = Cli("token create --role admin --name test-admin --expires 90d").out;
    admin_.erase(admin_.find_last_not_of('\n') + 1);
    ASSERT_EQ(admin_.rfind("mh_", 0), 0u) << admin_;
  }
  void TearDown() override {
    client_.reset();
    daemon_.reset();
  }

  struct Out {
    int code;
    std::string out;
  };
  Out Cli(const std::string& args, const std::string& stdin_text = "") {
    std::string cmd = testing::MeterhubBinary() + " " + args + " --config " + config_path_;
    if (!stdin_text.empty()) cmd = "printf '%s\\n' '" + stdin_text + "' | " + cmd;
    auto r = RunCommand(cmd);
    return {r.exit_code, r.output};
  }
  httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
  int Status(const std::string& token, const std::string& path = "/api/v1/meters") {
    auto r = client_->Get(path.c_str(), Bearer(token));
    return r ? r->status : -1;
  }
  void Register(const std::string& id, const std::string& customer) {
    auto r = client_->Post("/api/v1/meters", Bearer(admin_),
                           json{{"meter_id", id}, {"customer_id", customer}, {"kind", "electricity"}}.dump(),
                           "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
  }
  // The session cookie's value from a Set-Cookie header.
  static std::string CookieOf(const httplib::Result& r) {
    std::string c = r->get_header_value("Set-Cookie");
    return c.substr(0, c.find(';'));
  }

  TempDir dir_{"access-api"};
  std::string config_path_;
  std::unique_ptr<app::Daemon> daemon_;
  std::unique_ptr<httplib::Client> client_;
  std::string admin_;
};

TEST_F(AccessApiTest, TokenCreateListRevokeOnTheCommandLine) {
  auto created = Cli("token create --role customer --customer C1 --name alice --expires 30d");
  ASSERT_EQ(created.code, 0) << created.out;
  const std::string token = created.out.substr(0, created.out.find('\n'));
  EXPECT_EQ(Status(token), 200);
  const std::string id = api::TokenId(api::Sha256Hex(token));

  auto list = Cli("token list");
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_EQ(list.out.rfind("id,role,customer,created,expires,revoked\n", 0), 0u) << list.out;
  const size_t at = list.out.find(id + ",customer,C1,");
  ASSERT_NE(at, std::string::npos) << list.out;
  const std::string line = list.out.substr(at, list.out.find('\n', at) - at);
  // created and expires are ISO-8601, 30 days apart; not revoked.
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), 5) << line;
  EXPECT_EQ(line.back(), ',') << line;
  EXPECT_NE(line.find("Z,"), std::string::npos) << line;
  EXPECT_EQ(list.out.find(token), std::string::npos) << "the token itself is listed";

  auto revoked = Cli("token revoke " + id);
  ASSERT_EQ(revoked.code, 0) << revoked.out;
  auto r = client_->Get("/api/v1/meters", Bearer(token));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("revoked"), std::string::npos) << r->body;
  auto after = Cli("token list");
  const std::string revoked_line = after.out.substr(after.out.find(id));
  EXPECT_NE(revoked_line.substr(0, revoked_line.find('\n')).back(), ',') << "no revocation time: " << revoked_line;

  EXPECT_EQ(Cli("token revoke 0123456789ab").code, 2);
  EXPECT_EQ(Cli("token revoke nothex").code, 2);
  EXPECT_EQ(Cli("token create --role admin --expires soon").code, 2);
  EXPECT_EQ(Cli("token create --role wizard").code, 2);
}

TEST_F(AccessApiTest, ExpiredTokensAreRefused) {
  // A token whose time ran out (written as a token created 91 days ago with --expires 90d would be).
  const std::string token = api::NewToken();
  const int64_t now = SystemClock::Instance().NowSeconds();
  ASSERT_TRUE(daemon_->store()->PutToken({api::Sha256Hex(token), "old", "operator", "", now - 91 * 86400, now - 86400, 0}).ok());
  auto r = client_->Get("/api/v1/meters", Bearer(token));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->body.find("expired"), std::string::npos) << r->body;
  auto login = client_->Post("/api/v1/session", json{{"token", token}}.dump(), "application/json");
  EXPECT_EQ(login->status, 401);
}

TEST_F(AccessApiTest, AdminsListAndRevokeTokensOverHttp) {
  const std::string op = Cli("token create --role operator --name ops").out.substr(0, 67);
  const std::string id = api::TokenId(api::Sha256Hex(op));
  auto list = client_->Get("/api/v1/tokens", Bearer(admin_));
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_EQ(list->body.find(op), std::string::npos);
  EXPECT_NE(list->body.find(id), std::string::npos);
  // Only admins.
  EXPECT_EQ(client_->Delete(("/api/v1/tokens/" + id).c_str(), Bearer(op))->status, 403);
  EXPECT_EQ(Status(op, "/api/v1/tokens"), 403);
  EXPECT_EQ(client_->Delete("/api/v1/tokens/0123456789ab", Bearer(admin_))->status, 404);
  auto del = client_->Delete(("/api/v1/tokens/" + id).c_str(), Bearer(admin_));
  ASSERT_EQ(del->status, 204) << del->body;
  EXPECT_EQ(Status(op), 401);
  auto created = client_->Post("/api/v1/tokens", Bearer(admin_),
                               json{{"role", "supervisor"}, {"expires", "12h"}}.dump(), "application/json");
  ASSERT_EQ(created->status, 201) << created->body;
  auto j = json::parse(created->body);
  EXPECT_FALSE(j["expires_at"].is_null());
  EXPECT_EQ(Status(j["token"]), 200);
}

TEST_F(AccessApiTest, StatusIsScopedForCustomersAndMetricsNeedTheirToken) {
  Register("M1", "C1");
  Register("M2", "C2");
  const std::string alice = Cli("token create --role customer --customer C1").out.substr(0, 67);
  auto mine = client_->Get("/api/v1/status", Bearer(alice));
  ASSERT_EQ(mine->status, 200) << mine->body;
  auto j = json::parse(mine->body);
  EXPECT_EQ(j["meters"], 1);
  EXPECT_EQ(j["meter_ids"], json::array({"M1"}));
  EXPECT_FALSE(j.contains("readings"));
  EXPECT_FALSE(j.contains("mqtt"));
  auto all = json::parse(client_->Get("/api/v1/status", Bearer(admin_))->body);
  EXPECT_EQ(all["meters"], 2);

  EXPECT_EQ(client_->Get("/metrics")->status, 401);
  EXPECT_EQ(client_->Get("/metrics", Bearer(admin_))->status, 401);
  auto scraped = client_->Get("/metrics", Bearer("scrape-secret"));
  ASSERT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("meterhub_readings_received_total"), std::string::npos);
}

TEST_F(AccessApiTest, PasswordSessionWithCookieCsrfAndLogout) {
  Register("M1", "C1");
  auto added = Cli("user add --username ann --role operator", "a long password");
  ASSERT_EQ(added.code, 0) << added.out;
  EXPECT_EQ(Cli("user add --username ann --role operator", "another password").code, 2);  // taken
  EXPECT_EQ(Cli("user add --username bob --role operator", "short").code, 2);

  auto wrong = client_->Post("/api/v1/session", json{{"username", "ann"}, {"password", "wrong password"}}.dump(),
                             "application/json");
  EXPECT_EQ(wrong->status, 401);
  auto login = client_->Post("/api/v1/session", json{{"username", "ann"}, {"password", "a long password"}}.dump(),
                             "application/json");
  ASSERT_EQ(login->status, 201) << login->body;
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  for (const char* attr : {"mh_session=", "HttpOnly", "SameSite=Strict", "Path=/"})
    EXPECT_NE(set_cookie.find(attr), std::string::npos) << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP: no Secure";
  const std::string csrf = json::parse(login->body)["csrf_token"];
  httplib::Headers cookie{{"Cookie", CookieOf(login)}};
  EXPECT_EQ(client_->Get("/api/v1/meters/M1", cookie)->status, 200);
  auto me = json::parse(client_->Get("/api/v1/session", cookie)->body);
  EXPECT_EQ(me["name"], "ann");
  EXPECT_EQ(me["csrf_token"], csrf);

  const std::string body = json{{"threshold", 7.5}}.dump();
  auto no_csrf = client_->Put("/api/v1/meters/M1/threshold", cookie, body, "application/json");
  EXPECT_EQ(no_csrf->status, 403) << no_csrf->body;
  httplib::Headers with_csrf = cookie;
  with_csrf.emplace("X-CSRF-Token", csrf);
  EXPECT_EQ(client_->Put("/api/v1/meters/M1/threshold", with_csrf, body, "application/json")->status, 200);

  auto out = client_->Delete("/api/v1/session", with_csrf);
  EXPECT_EQ(out->status, 204);
  EXPECT_NE(out->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(client_->Get("/api/v1/meters/M1", cookie)->status, 401);
}

TEST_F(AccessApiTest, RevokingATokenOrDeletingAUserEndsTheirSessions) {
  const std::string op = Cli("token create --role operator").out.substr(0, 67);
  auto by_token = client_->Post("/api/v1/session", json{{"token", op}}.dump(), "application/json");
  ASSERT_EQ(by_token->status, 201) << by_token->body;
  httplib::Headers token_cookie{{"Cookie", CookieOf(by_token)}};
  EXPECT_EQ(client_->Get("/api/v1/meters", token_cookie)->status, 200);
  ASSERT_EQ(Cli("token revoke " + api::TokenId(api::Sha256Hex(op))).code, 0);
  EXPECT_EQ(client_->Get("/api/v1/meters", token_cookie)->status, 401);

  auto user = client_->Post("/api/v1/users", Bearer(admin_),
                            json{{"username", "sam"}, {"role", "supervisor"}, {"password", "a long password"}}.dump(),
                            "application/json");
  ASSERT_EQ(user->status, 201) << user->body;
  EXPECT_EQ(user->body.find("password"), std::string::npos);
  auto by_password = client_->Post("/api/v1/session", json{{"username", "sam"}, {"password", "a long password"}}.dump(),
                                   "application/json");
  ASSERT_EQ(by_password->status, 201);
  httplib::Headers user_cookie{{"Cookie", CookieOf(by_password)}};
  EXPECT_EQ(client_->Get("/api/v1/meters", user_cookie)->status, 200);
  EXPECT_EQ(client_->Delete("/api/v1/users/sam", Bearer(admin_))->status, 204);
  EXPECT_EQ(client_->Get("/api/v1/meters", user_cookie)->status, 401);
}

}  // namespace
}  // namespace mh
