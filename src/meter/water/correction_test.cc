#include "meter/water/correction.h"

#include <gtest/gtest.h>

namespace mh::meter::water {
namespace {

TEST(Correction, LinearInverseUndoesForward) {
  const Correction c = Correction::Linear(1.05, 0.02);
  EXPECT_DOUBLE_EQ(c.Forward(1.0), 1.07);
  EXPECT_NEAR(c.Inverse(1.07), 1.0, 1e-12);
  EXPECT_NEAR(c.Inverse(c.Forward(0.3)), 0.3, 1e-12);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(Correction, PowerInverseUndoesForwardAndClampsBelowOffset) {
  const Correction c = Correction::Power(1.1, 0.95, 0.01);
  EXPECT_NEAR(c.Inverse(c.Forward(0.8)), 0.8, 1e-12);
  EXPECT_NEAR(c.Forward(0.0), 0.01, 1e-15);
  EXPECT_EQ(c.Inverse(0.005), 0.0);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(Correction, ValidateNamesTheParameter) {
  EXPECT_EQ(Correction::Linear(0.1, 0).Validate().message(), "correction a1 0.100000 out of [0.5, 2]");
  EXPECT_EQ(Correction::Linear(1, 3).Validate().message(), "correction a2 3.000000 out of [-1, 1] m3/h");
  EXPECT_EQ(Correction::Power(1, 3, 0).Validate().message(), "correction b 3.000000 out of [0.5, 2]");
  EXPECT_EQ(Correction::Identity().ToString(), "linear a1=1 a2=0");
}

}  // namespace
}  // namespace mh::meter::water
