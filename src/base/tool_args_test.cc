#include "base/tool_args.h"

#include <optional>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

namespace mh {
namespace {

struct Tool {
  CLI::App app{"tool"};
  std::string a;
  std::optional<std::string> b;
  bool quiet = false;
  Tool() {
    app.add_option("--a", a)->required();
    app.add_option("--b", b);
    app.add_flag("--quiet", quiet);
  }
  std::string Error(const std::vector<std::string>& args) { return ParseToolArgs(app, args).message(); }
};

TEST(ToolArgsTest, ParsesBothFormsAndFlags) {
  Tool t;
  ASSERT_TRUE(ParseToolArgs(t.app, {"--a", "1", "--b=x y", "--quiet"}).ok());
  EXPECT_EQ(t.a, "1");
  EXPECT_EQ(t.b, "x y");
  EXPECT_TRUE(t.quiet);
  Tool u;
  ASSERT_TRUE(ParseToolArgs(u.app, {"--a=-5"}).ok());
  EXPECT_EQ(u.a, "-5");
  EXPECT_FALSE(u.b.has_value());
  EXPECT_FALSE(u.quiet);
}

TEST(ToolArgsTest, ErrorsNameTheOption) {
  EXPECT_EQ(Tool().Error({"--a", "1", "--zz", "1"}), "unknown option --zz");
  EXPECT_EQ(Tool().Error({"--a", "1", "--zz=1"}), "unknown option --zz");
  EXPECT_EQ(Tool().Error({"--a"}), "option --a needs a value");
  EXPECT_EQ(Tool().Error({"--a", "1", "--b"}), "option --b needs a value");
  EXPECT_EQ(Tool().Error({"--a", "1", "--a=2"}), "option --a given twice");
  EXPECT_EQ(Tool().Error({"--a", "1", "file.csv"}), "unexpected argument 'file.csv'");
  EXPECT_EQ(Tool().Error({"--a", "1", "-x"}), "unexpected argument '-x'");
  EXPECT_EQ(Tool().Error({"--b", "1"}), "missing required option --a");
  EXPECT_EQ(Tool().Error({}), "missing required option --a");
  EXPECT_EQ(Tool().Error({"--a", "1", "--help"}), "unknown option --help");
}

TEST(ToolArgsTest, OnePositional) {
  const auto parse = [](const std::vector<std::string>& args, std::string* path) {
    CLI::App app{"tool"};
    std::optional<std::string> w;
    app.add_option("FILE.csv", *path)->required();
    app.add_option("--window", w);
    return ParseToolArgs(app, args);
  };
  std::string path;
  ASSERT_TRUE(parse({"--window", "6h", "a.csv"}, &path).ok());
  EXPECT_EQ(path, "a.csv");
  ASSERT_TRUE(parse({"-"}, &path).ok());
  EXPECT_EQ(path, "-");
  EXPECT_EQ(parse({"a.csv", "b.csv"}, &path).message(), "unexpected argument 'b.csv'");
  EXPECT_EQ(parse({"--window", "6h"}, &path).message(), "missing FILE.csv");
  EXPECT_EQ(parse({"a.csv", "--window"}, &path).message(), "option --window needs a value");
}

TEST(ToolArgsTest, ChecksOfTheOptionAreErrors) {
  CLI::App app{"tool"};
  int n = 0;
  app.add_option("--n", n)->check(CLI::Range(1, 9));
  EXPECT_FALSE(ParseToolArgs(app, {"--n", "x"}).ok());
  EXPECT_FALSE(ParseToolArgs(app, {"--n", "10"}).ok());
}

}  // namespace
}  // namespace mh
