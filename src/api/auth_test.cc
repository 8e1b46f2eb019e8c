// Roles, the token lifecycle, password hashing, sessions and CSRF, against an in-memory store.
#include "api/auth.h"

#include <gtest/gtest.h>

#include "api/session.h"
#include "store/sqlite/sqlite_store.h"

namespace mh::api {
namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr int64_t kDay = 86'400;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions options;
    options.path = ":memory:";
    auto opened = store::OpenSqliteStore(options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  store::Store& st() { return *store_; }
  Credentials Bearer(const std::string& token, const std::string& method = "GET") {
    return {method, "Bearer " + token, "", ""};
  }
  Credentials Cookie(const Session& s, const std::string& method, const std::string& csrf) {
    return {method, "", "theme=dark; " + std::string(kSessionCookie) + "=" + s.secret + "; x=1", csrf};
  }

  std::unique_ptr<store::Store> store_;
};

TEST_F(AuthTest, RolesParseAndOnlyAdminAndOperatorWrite) {
  for (const char* name : {"admin", "operator", "auditor", "customer", "supervisor"}) {
    auto role = ParseRole(name);
    ASSERT_TRUE(role.has_value()) << name;
    EXPECT_STREQ(RoleName(*role), name);
  }
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_TRUE(Principal{Role::kAdmin}.CanWrite());
  EXPECT_TRUE(Principal{Role::kOperator}.CanWrite());
  EXPECT_FALSE(Principal{Role::kSupervisor}.CanWrite());
  EXPECT_FALSE(Principal{Role::kCustomer}.CanWrite());
  store::MeterInfo theirs;
  theirs.customer_id = "C2";
  EXPECT_FALSE((Principal{Role::kCustomer, "c", "C1"}.CanSeeMeter(theirs)));
  EXPECT_TRUE((Principal{Role::kCustomer, "c", "C2"}.CanSeeMeter(theirs)));
  EXPECT_FALSE((Principal{Role::kCustomer, "c", ""}.CanSeeMeter(store::MeterInfo{})));  // no customer id: nothing
}

TEST_F(AuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST_F(AuthTest, TokenLifecycleCreateUseExpireRevoke) {
  auto token = CreateToken(st(), TokenSpec{Role::kOperator, "ops", "", kNow + 90 * kDay}, kNow);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->rfind("mh_", 0), 0u);
  auto who = Authenticate(st(), Bearer(*token), kNow + kDay);
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(who->role, Role::kOperator);
  EXPECT_EQ(who->name, "ops");
  // Expired at its expiry time.
  EXPECT_EQ(Authenticate(st(), Bearer(*token), kNow + 90 * kDay).status().code(), StatusCode::kUnauthenticated);

  const std::string id = TokenId(Sha256Hex(*token));
  ASSERT_EQ(id.size(), 12u);
  auto found = FindTokenById(st(), id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->created_at, kNow);
  EXPECT_EQ(found->expires_at, kNow + 90 * kDay);
  ASSERT_TRUE(RevokeTokenById(st(), id, kNow + 5).ok());
  auto refused = Authenticate(st(), Bearer(*token), kNow + 6);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("revoked"), std::string::npos);
  // The token is never stored: neither its text nor anything but its hash.
  auto listed = st().ListTokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].token_sha256, Sha256Hex(*token));
  EXPECT_EQ((*listed)[0].revoked_at, kNow + 5);
}

TEST_F(AuthTest, TokenCreationAndIdsAreChecked) {
  EXPECT_EQ(CreateToken(st(), TokenSpec{Role::kCustomer, "c", "", 0}, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateToken(st(), TokenSpec{Role::kAdmin, "a", "C1", 0}, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateToken(st(), TokenSpec{Role::kAdmin, "a", "", kNow}, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(FindTokenById(st(), "xyz").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FindTokenById(st(), "0123456789ab").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Authenticate(st(), Bearer("mh_nope"), kNow).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(st(), {"GET", "Basic abc", "", ""}, kNow).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Authenticate(st(), {"GET", "", "", ""}, kNow).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, PasswordsAreSaltedArgon2idAndVerified) {
  auto a = HashPassword("correct horse");
  auto b = HashPassword("correct horse");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << *a;
  EXPECT_NE(*a, *b);  // a fresh salt each time
  EXPECT_EQ(a->find("correct"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*a, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*a, "correct horsf"));
  EXPECT_FALSE(VerifyPassword("plain", "plain"));
}

TEST_F(AuthTest, UsersAreCheckedAndLogInWithTheirPassword) {
  EXPECT_EQ(AddUser(st(), {"bad name", Role::kOperator, "", "longenough"}, kNow).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddUser(st(), {"ann", Role::kOperator, "", "short"}, kNow).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(AddUser(st(), {"ann", Role::kCustomer, "", "longenough"}, kNow).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(AddUser(st(), {"ann", Role::kCustomer, "C1", "longenough"}, kNow).ok());
  EXPECT_EQ(AddUser(st(), {"ann", Role::kOperator, "", "longenough"}, kNow).code(), StatusCode::kAlreadyExists);
  auto stored = st().GetUser("ann");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->password_hash.find("longenough"), std::string::npos);

  auto wrong = LoginWithPassword(st(), "ann", "longenougH", kNow, 3600);
  auto unknown = LoginWithPassword(st(), "bob", "longenough", kNow, 3600);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message(), unknown.status().message());  // no hint which one was wrong
  auto session = LoginWithPassword(st(), "ann", "longenough", kNow, 3600);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_EQ(session->principal.role, Role::kCustomer);
  EXPECT_EQ(session->principal.customer_id, "C1");
  EXPECT_EQ(session->expires_at, kNow + 3600);
}

TEST_F(AuthTest, SessionCookieNeedsCsrfForStateChangingRequests) {
  ASSERT_TRUE(AddUser(st(), {"op", Role::kOperator, "", "longenough"}, kNow).ok());
  auto s = LoginWithPassword(st(), "op", "longenough", kNow, 3600);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->csrf, CsrfTokenOf(s->secret));
  EXPECT_NE(s->csrf, s->secret);
  // Reads need no CSRF token.
  auto read = Authenticate(st(), Cookie(*s, "GET", ""), kNow + 1);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->name, "op");
  EXPECT_EQ(read->session_sha256, Sha256Hex(s->secret));
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    EXPECT_EQ(Authenticate(st(), Cookie(*s, method, ""), kNow + 1).status().code(), StatusCode::kPermissionDenied)
        << method;
    EXPECT_EQ(Authenticate(st(), Cookie(*s, method, s->csrf + "0"), kNow + 1).status().code(),
              StatusCode::kPermissionDenied);
    EXPECT_TRUE(Authenticate(st(), Cookie(*s, method, s->csrf), kNow + 1).ok()) << method;
  }
  // Expired at its end; logged out when the session is deleted.
  EXPECT_EQ(Authenticate(st(), Cookie(*s, "GET", ""), kNow + 3600).status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(st().DeleteSession(Sha256Hex(s->secret)).ok());
  EXPECT_EQ(Authenticate(st(), Cookie(*s, "GET", ""), kNow + 1).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, DeletingAUserOrRevokingATokenEndsTheirSessions) {
  ASSERT_TRUE(AddUser(st(), {"op", Role::kOperator, "", "longenough"}, kNow).ok());
  auto by_user = LoginWithPassword(st(), "op", "longenough", kNow, 3600);
  auto token = CreateToken(st(), TokenSpec{Role::kAuditor, "aud", "", kNow + 600}, kNow);
  ASSERT_TRUE(by_user.ok() && token.ok());
  auto by_token = LoginWithToken(st(), *token, kNow, 3600);
  ASSERT_TRUE(by_token.ok()) << by_token.status().ToString();
  EXPECT_EQ(by_token->principal.role, Role::kAuditor);
  EXPECT_EQ(by_token->expires_at, kNow + 600);  // never outlives its token
  ASSERT_TRUE(Authenticate(st(), Cookie(*by_token, "GET", ""), kNow + 1).ok());

  ASSERT_TRUE(st().DeleteUser("op").ok());
  EXPECT_EQ(Authenticate(st(), Cookie(*by_user, "GET", ""), kNow + 1).status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(RevokeTokenById(st(), TokenId(Sha256Hex(*token)), kNow + 2).ok());
  EXPECT_EQ(Authenticate(st(), Cookie(*by_token, "GET", ""), kNow + 3).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(LoginWithToken(st(), *token, kNow + 3, 3600).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, CookiesParseAndAreSetStrict) {
  EXPECT_EQ(CookieValue("a=1; mh_session=xyz; b=2", "mh_session"), "xyz");
  EXPECT_EQ(CookieValue("mh_session_other=1", "mh_session"), "");
  EXPECT_EQ(CookieValue("", "mh_session"), "");
  EXPECT_EQ(SessionCookie("xyz", 60, false), "mh_session=xyz; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
  EXPECT_EQ(SessionCookie("xyz", 60, true), "mh_session=xyz; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
  EXPECT_EQ(SessionCookie("", 60, false), "mh_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

}  // namespace
}  // namespace mh::api
