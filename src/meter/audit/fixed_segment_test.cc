// The fixed segment really computes energy and charges: exact values, and altering a line
// changes them. The parsers reject malformed images and tables with file:line errors.
#include "meter/audit/fixed_segment.h"

#include <gtest/gtest.h>

namespace mh::meter::audit {
namespace {

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(FixedProgramTest, DefaultComputesEnergyAndTariff) {
  auto p = FixedProgram::Compile(DefaultFixedImage());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  p->Tick({1000, 3600, 3});   // 1 kW for an off-peak hour
  EXPECT_DOUBLE_EQ(p->energy_kwh(), 1.0);
  EXPECT_DOUBLE_EQ(p->charge(), 0.35);
  p->Tick({2000, 1800, 9});   // 2 kW for half a peak hour
  EXPECT_DOUBLE_EQ(p->energy_kwh(), 2.0);
  EXPECT_DOUBLE_EQ(p->charge(), 0.35 + 0.62);
  p->Reset();
  EXPECT_EQ(p->energy_kwh(), 0);
}

TEST(FixedProgramTest, AlteringALineChangesTheResult) {
  const std::string image = DefaultFixedImage();
  const auto lines = SplitLines(image);
  ASSERT_EQ(lines.size(), 12u);
  EXPECT_EQ(lines[6], "DIV R0 R0 3600000    ; kWh this tick");  // line 7
  // Under-register energy by 10 %: line 7 divides by more.
  auto altered = FixedProgram::Compile(Replace(image, "DIV R0 R0 3600000", "DIV R0 R0 4000000"));
  ASSERT_TRUE(altered.ok());
  altered->Tick({1000, 3600, 3});
  EXPECT_DOUBLE_EQ(altered->energy_kwh(), 0.9);
  // A cheaper peak tariff on line 4 changes only the charge.
  auto cheap = FixedProgram::Compile(Replace(image, "RATE 8 22 0.62", "RATE 8 22 0.31"));
  ASSERT_TRUE(cheap.ok());
  cheap->Tick({1000, 3600, 12});
  EXPECT_DOUBLE_EQ(cheap->energy_kwh(), 1.0);
  EXPECT_DOUBLE_EQ(cheap->charge(), 0.31);
  // The energy register never accumulates when line 8 is turned into a no-op.
  auto skip = FixedProgram::Compile(Replace(image, "ADD E E R0", "NOP"));
  ASSERT_TRUE(skip.ok());
  skip->Tick({1000, 3600, 12});
  EXPECT_EQ(skip->energy_kwh(), 0);
  EXPECT_EQ(DefaultComparisonLines(), (std::vector<int>{3, 4, 5, 6, 7, 8, 9, 10, 11}));
}

TEST(FixedProgramTest, RejectsMalformedImages) {
  auto e = [](const std::string& image) { return FixedProgram::Compile(image, "FIXED.bin").status().message(); };
  EXPECT_EQ(e("mh-fixed 2\n"), "FIXED.bin:1: first line must be 'mh-fixed 1'");
  EXPECT_EQ(e("mh-fixed 1\nMULT R0 P DT\n"), "FIXED.bin:2: unknown instruction 'MULT'");
  EXPECT_EQ(e("mh-fixed 1\n; ok\nADD E E\n"), "FIXED.bin:3: ADD takes 3 operands, got 2");
  EXPECT_EQ(e("mh-fixed 1\nSET P 1\n"), "FIXED.bin:2: register 'P' is read-only");
  EXPECT_EQ(e("mh-fixed 1\nSET R9 1\n"), "FIXED.bin:2: destination 'R9' is not a register");
  EXPECT_EQ(e("mh-fixed 1\nADD E E x1\n"), "FIXED.bin:2: operand 'x1' is neither a register nor a number");
  EXPECT_EQ(e("mh-fixed 1\nRATE 8 25 1\n"), "FIXED.bin:2: RATE needs hours 0 <= FROM < TO <= 24");
  EXPECT_TRUE(FixedProgram::Compile("mh-fixed 1\r\nSET E 1\r\n").ok());
}

TEST(ComparisonTableTest, ParseAndFormat) {
  auto t = ParseComparisonTable("mh-compare 1\n# energy\n6-8\n3\n  11  # charge\n8\n", "T.txt");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (std::vector<int>{3, 6, 7, 8, 11}));
  EXPECT_EQ(*ParseComparisonTable(FormatComparisonTable(*t)), *t);
  EXPECT_EQ(FormatComparisonTable(DefaultComparisonLines()), "mh-compare 1\n3-11\n");
  EXPECT_EQ(FormatComparisonTable({1, 3, 4, 5, 9}), "mh-compare 1\n1\n3-5\n9\n");
  auto e = [](const std::string& text) { return ParseComparisonTable(text, "T.txt").status().message(); };
  EXPECT_EQ(e("lines 3\n"), "T.txt:1: first line must be 'mh-compare 1'");
  EXPECT_EQ(e("mh-compare 1\n3\nx\n"), "T.txt:3: 'x' is not a line number or range A-B (1 <= A <= B)");
  EXPECT_EQ(e("mh-compare 1\n0\n"), "T.txt:2: '0' is not a line number or range A-B (1 <= A <= B)");
  EXPECT_EQ(e("mh-compare 1\n9-3\n"), "T.txt:2: '9-3' is not a line number or range A-B (1 <= A <= B)");
  EXPECT_EQ(e("mh-compare 1\n"), "T.txt: lists no line");
}

}  // namespace
}  // namespace mh::meter::audit
