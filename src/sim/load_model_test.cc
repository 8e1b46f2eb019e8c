#include "sim/load_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/time.h"
#include "sim/load_fit.h"

namespace mh::sim {
namespace {

const std::string kData = MH_SHARED_DATA_DIR;
const std::string kSgsc = kData + "/electricity/sgsc/sgsc_104_households.csv.gz";
const std::string kDaiad = kData + "/water/daiad/swm_trialA.zip";

double WeekMean(const std::array<std::vector<double>, kDayTypes>& v) {
  double s = 0;
  for (int d = 0; d < kDayTypes; ++d)
    for (double x : v[d]) s += x * (d == 0 ? 5.0 : 2.0) / 7.0 / v[d].size();
  return s;
}

TEST(LoadModelTest, CommittedParamsLoadAndAreSane) {
  const LoadModel& m = DefaultLoadModel();
  ASSERT_TRUE(m.electricity.Validate().ok()) << m.electricity.Validate().ToString();
  ASSERT_TRUE(m.water.Validate().ok()) << m.water.Validate().ToString();

  const KindModel& e = m.electricity;
  EXPECT_EQ(e.unit, "kWh");
  EXPECT_EQ(e.slots_per_day, 48);
  EXPECT_EQ(e.households, 104);
  EXPECT_GT(e.mean_daily, 5.0);  // Australian households: ~10 kWh/day
  EXPECT_LT(e.mean_daily, 25.0);
  EXPECT_NEAR(std::exp(e.scale_log_mu + e.scale_log_sigma * e.scale_log_sigma / 2), e.mean_daily, 0.01 * e.mean_daily);
  // Evening peak above the small hours, weekday and weekend.
  for (int d = 0; d < kDayTypes; ++d) EXPECT_GT(e.shape[d][38], 2 * e.shape[d][8]) << d;  // 19:00 vs 04:00
  EXPECT_NEAR(WeekMean(e.shape), 1.0, 1e-3);

  const KindModel& w = m.water;
  EXPECT_EQ(w.unit, "m3");
  EXPECT_EQ(w.slots_per_day, 24);
  EXPECT_GT(w.households, 80);
  EXPECT_GT(w.mean_daily, 0.1);  // ~240 l/day per household
  EXPECT_LT(w.mean_daily, 0.5);
  // Water is bursty: mostly no flow at 03:00, mostly flow at 08:00 on weekdays.
  EXPECT_GT(w.zero_prob[0][3], 0.7);
  EXPECT_LT(w.zero_prob[0][8], 0.5);
  EXPECT_GT(w.shape[0][7], 5 * w.shape[0][3]);
  EXPECT_NEAR(WeekMean(w.shape), 1.0, 1e-3);
  EXPECT_LT(w.max_rate_per_hour, 3.0);  // m³/h: a household meter

  for (const KindModel* k : {&e, &w}) {
    double season = 0;
    for (int mo = 0; mo < 12; ++mo) season += k->season[mo] / 12;
    EXPECT_NEAR(season, 1.0, 0.01);
  }
}

TEST(LoadModelTest, CompiledInParamsAreTheCommittedFile) {
  std::ifstream f(std::string(MH_SOURCE_DIR) + "/src/sim/load_model_params.json");
  ASSERT_TRUE(f) << "src/sim/load_model_params.json missing";
  std::stringstream ss;
  ss << f.rdbuf();
  Result<LoadModel> file = LoadModelFromJson(ss.str());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(LoadModelToJson(*file), LoadModelToJson(DefaultLoadModel()));
}

TEST(LoadModelTest, JsonRoundTripIsStable) {
  const std::string once = LoadModelToJson(DefaultLoadModel());
  Result<LoadModel> back = LoadModelFromJson(once);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(LoadModelToJson(*back), once);
}

TEST(LoadModelTest, FromJsonRejectsBadInput) {
  EXPECT_FALSE(LoadModelFromJson("not json").ok());
  EXPECT_FALSE(LoadModelFromJson("{\"format\": 2}").ok());
  EXPECT_FALSE(LoadModelFromJson("{\"format\": 1, \"electricity\": {}}").ok());
  LoadModel m = DefaultLoadModel();
  m.water.shape[1].pop_back();
  Result<LoadModel> r = LoadModelFromJson(LoadModelToJson(m));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("water"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("shape.weekend"), std::string::npos) << r.status().message();
}

TEST(LoadModelTest, ExpectedOverADayIsScaleTimesSeasonTimesDayTypeLevel) {
  const KindModel& e = DefaultLoadModel().electricity;
  // 2024-07-03 is a Wednesday.
  const int64_t day = DaysFromCivil(2024, 7, 3);
  EXPECT_EQ(DayTypeOfDay(day), DayType::kWeekday);
  EXPECT_EQ(DayTypeOfDay(DaysFromCivil(2024, 7, 6)), DayType::kWeekend);
  EXPECT_EQ(MonthOfDay(day), 6);
  double sum = 0, level = 0;
  for (int q = 0; q < 96; ++q) sum += e.Expected(10.0, day * 86400 + q * 900, 900);
  for (double s : e.shape[0]) level += s / e.slots_per_day;
  EXPECT_NEAR(sum, 10.0 * e.season[6] * level, 1e-9);
}

TEST(LoadFitTest, MissingFileIsNotFound) {
  Result<KindModel> r = FitElectricity("/nonexistent/sgsc.csv.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(FitWater("/nonexistent/daiad.zip").status().code(), StatusCode::kNotFound);
}

TEST(LoadFitTest, RunFitRejectsNoInput) {
  std::ostringstream out, err;
  EXPECT_EQ(RunFit(FitArgs{}, out, err), 2);
  EXPECT_NE(err.str().find("--sgsc"), std::string::npos);
}

// The committed numbers are what the fit gives on the real data (rounded to 5 significant digits).
void ExpectSameModel(const KindModel& fitted, const KindModel& committed) {
  auto near = [](double a, double b) { return std::abs(a - b) <= 1e-4 * std::abs(b) + 1e-9; };
  EXPECT_EQ(fitted.households, committed.households);
  EXPECT_EQ(fitted.samples, committed.samples);
  EXPECT_EQ(fitted.slots_per_day, committed.slots_per_day);
  EXPECT_TRUE(near(fitted.mean_daily, committed.mean_daily)) << fitted.mean_daily << " vs " << committed.mean_daily;
  EXPECT_TRUE(near(fitted.scale_log_mu, committed.scale_log_mu)) << fitted.scale_log_mu;
  EXPECT_TRUE(near(fitted.scale_log_sigma, committed.scale_log_sigma)) << fitted.scale_log_sigma;
  EXPECT_TRUE(near(fitted.interval_sigma, committed.interval_sigma)) << fitted.interval_sigma;
  EXPECT_TRUE(near(fitted.day_sigma, committed.day_sigma)) << fitted.day_sigma;
  EXPECT_TRUE(near(fitted.day_phi, committed.day_phi)) << fitted.day_phi;
  EXPECT_TRUE(near(fitted.max_rate_per_hour, committed.max_rate_per_hour)) << fitted.max_rate_per_hour;
  for (int mo = 0; mo < 12; ++mo) EXPECT_TRUE(near(fitted.season[mo], committed.season[mo])) << "month " << mo + 1;
  for (int d = 0; d < kDayTypes; ++d) {
    ASSERT_EQ(fitted.shape[d].size(), committed.shape[d].size());
    for (size_t s = 0; s < fitted.shape[d].size(); ++s) {
      EXPECT_TRUE(near(fitted.shape[d][s], committed.shape[d][s])) << "shape " << d << "/" << s;
      EXPECT_TRUE(near(fitted.zero_prob[d][s], committed.zero_prob[d][s])) << "zero_prob " << d << "/" << s;
    }
  }
}

TEST(LoadFitTest, ElectricityFitOnSgscReproducesCommittedParams) {
  if (!std::filesystem::exists(kSgsc)) GTEST_SKIP() << "real data absent: " << kSgsc;
  const auto t0 = std::chrono::steady_clock::now();
  Result<KindModel> r = FitElectricity(kSgsc);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  EXPECT_EQ(r->samples, 2755385);
  ExpectSameModel(*r, DefaultLoadModel().electricity);
}

TEST(LoadFitTest, WaterFitOnDaiadReproducesCommittedParams) {
  if (!std::filesystem::exists(kDaiad)) GTEST_SKIP() << "real data absent: " << kDaiad;
  const auto t0 = std::chrono::steady_clock::now();
  Result<KindModel> r = FitWater(kDaiad);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  ExpectSameModel(*r, DefaultLoadModel().water);
}

TEST(LoadFitTest, RunFitWritesLoadableParams) {
  if (!std::filesystem::exists(kDaiad)) GTEST_SKIP() << "real data absent: " << kDaiad;
  const std::string out_path = ::testing::TempDir() + "/mh_sim_fit_params.json";
  FitArgs args;
  args.daiad = kDaiad;  // electricity stays the compiled-in one
  args.out = out_path;
  std::ostringstream out, err;
  ASSERT_EQ(RunFit(args, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("water: "), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("l/day per household"), std::string::npos) << out.str();
  std::ifstream f(out_path);
  std::stringstream ss;
  ss << f.rdbuf();
  Result<LoadModel> m = LoadModelFromJson(ss.str());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(LoadModelToJson(*m), LoadModelToJson(DefaultLoadModel()));
  std::filesystem::remove(out_path);
}

}  // namespace
}  // namespace mh::sim
