#include "app/broker_auth.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace mh::app {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The hash is PBKDF2-SHA512 in Mosquitto's "$7$" layout (the broker accepting it is pinned by
// tests/mqtt_acl_test); salt and hash in standard base64.
TEST(BrokerAuthTest, PasswordHashLayout) {
  const std::string salt = "saltsaltsalt";
  auto hash = MosquittoPasswordHash("password", crypto::AsBytes(salt), 1);
  ASSERT_TRUE(hash.ok());
  auto raw = crypto::Pbkdf2Sha512("password", crypto::AsBytes(salt), 1, 64);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*hash, "$7$1$c2FsdHNhbHRzYWx0$" + crypto::Base64Encode(*raw));
  auto fresh = NewDevicePassword();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->size(), 32u);
  EXPECT_EQ(fresh->find(':'), std::string::npos);
}

TEST(BrokerAuthTest, AclGrantsEachDeviceItsOwnTopicsOnly) {
  const std::string acl = MosquittoAcl({"meterhub", "ops"});
  EXPECT_NE(acl.find("user meterhub\ntopic readwrite meters/#\n"), std::string::npos);
  EXPECT_NE(acl.find("user ops\ntopic readwrite meters/#\n"), std::string::npos);
  EXPECT_NE(acl.find("pattern write meters/+/%u/readings\n"), std::string::npos);
  EXPECT_NE(acl.find("pattern write meters/+/%u/water/frame\n"), std::string::npos);
  // Issue 16: a meter or its gateway (concentrator, DTU) publishes raw protocol frames on its own id.
  for (const char* protocol : {"dlt645", "cjt188", "dlms", "wmbus"})
    EXPECT_NE(acl.find(std::string("pattern write meters/+/%u/raw/") + protocol + "\n"), std::string::npos) << protocol;
  EXPECT_NE(acl.find("pattern read meters/+/%u/commands\n"), std::string::npos);
  EXPECT_EQ(acl.find("pattern write meters/+/%u/commands"), std::string::npos);
  EXPECT_EQ(acl.find("pattern readwrite"), std::string::npos);
}

TEST(BrokerAuthTest, UpsertKeepsOtherLinesAndTheFileMode) {
  const std::string path = (std::filesystem::temp_directory_path() / "mh-broker-auth-test.passwd").string();
  {
    std::ofstream out(path);
    out << "# operators\nalice:$7$101$a$b\nM1:$7$101$old$old\n";
  }
  ::chmod(path.c_str(), 0600);
  ASSERT_TRUE(UpsertPasswordFile(path, {{"M1", "$7$101$new$new"}, {"M2", "$7$101$x$y"}}).ok());
  EXPECT_EQ(Slurp(path), "# operators\nalice:$7$101$a$b\nM1:$7$101$new$new\nM2:$7$101$x$y\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(UpsertPasswordFile(path, {{"bad:name", "h"}}).ok());
  EXPECT_FALSE(UpsertPasswordFile(path, {{"", "h"}}).ok());
  std::filesystem::remove(path);
}

TEST(BrokerAuthTest, CommandUsageErrors) {
  std::ostringstream out, err;
  EXPECT_EQ(RunMqttCommand({}, out, err), 2);
  EXPECT_EQ(RunMqttCommand({"passwd", "--user", "M1"}, out, err), 2);  // no --file
  EXPECT_NE(err.str().find("--file"), std::string::npos) << err.str();
  EXPECT_EQ(RunMqttCommand({"passwd", "--file", "/tmp/x", "--user", "not an id"}, out, err), 2);
  EXPECT_EQ(RunMqttCommand({"frobnicate"}, out, err), 2);
  // The parser's strictness (CLI11 through base/tool_args.h): each error names the option.
  const auto error = [](const std::vector<std::string>& argv) {
    std::ostringstream o, e;
    const int code = RunMqttCommand(argv, o, e);
    return std::to_string(code) + " " + e.str().substr(0, e.str().find('\n'));
  };
  EXPECT_EQ(error({"acl", "--colour", "red"}), "2 meterhub mqtt acl: unknown option --colour");
  EXPECT_EQ(error({"acl", "--out"}), "2 meterhub mqtt acl: option --out needs a value");
  EXPECT_EQ(error({"acl", "--out", "a", "--out=b"}), "2 meterhub mqtt acl: option --out given twice");
  EXPECT_EQ(error({"acl", "extra"}), "2 meterhub mqtt acl: unexpected argument 'extra'");
  EXPECT_EQ(error({"passwd", "--file", "/tmp/x"}), "2 meterhub mqtt passwd: give exactly one of --user and --users");
  EXPECT_EQ(error({"passwd", "--file", "/tmp/x", "--config", "c.toml", "--user", "M1"}),
            "2 meterhub mqtt passwd: give --file (password file) or --config (dynsec), not both");
  EXPECT_EQ(error({"revoke", "--user", "M1"}), "2 meterhub mqtt revoke: missing required option --config");
  std::ostringstream acl;
  EXPECT_EQ(RunMqttCommand({"acl"}, acl, err), 0);
  EXPECT_NE(acl.str().find("user meterhub"), std::string::npos);
}

}  // namespace
}  // namespace mh::app
