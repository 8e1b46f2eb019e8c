#include "app/config.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "core/time.h"

namespace mh::app {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("meterhub_config_test_" + std::to_string(getpid()) + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, DefaultsDocumentParsesBackToTheDefaults) {
  auto c = LoadConfig(WriteTemp("defaults.toml", DefaultConfigToml()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Config d;
  EXPECT_EQ(c->store.path, d.store.path);
  EXPECT_EQ(c->http.listen, "127.0.0.1:8080");
  EXPECT_EQ(c->mqtt.broker, "127.0.0.1:1883");
  EXPECT_DOUBLE_EQ(c->vee.spike_coefficient, 1.3);
  EXPECT_EQ(c->vee.max_alerts_per_period, 1);
}

TEST(Config, SpecContractKeys) {
  auto c = LoadConfig(WriteTemp("contract.toml", R"([store]
backend = "sqlite"
path = "x.db"
url = ""
[http]
listen = "127.0.0.1:9090"
[mqtt]
broker = ""
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->store.path, "x.db");
  EXPECT_EQ(c->http.listen, "127.0.0.1:9090");
  EXPECT_TRUE(c->mqtt.broker.empty());
}

TEST(Config, UnknownKeyNamesKeyAndLine) {
  auto c = LoadConfig(WriteTemp("typo.toml", "[store]\npath = \"a.db\"\npaht = \"b.db\"\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("store.paht"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find(":3"), std::string::npos) << c.status().message();
}

TEST(Config, WrongTypeIsAnError) {
  auto c = LoadConfig(WriteTemp("type.toml", "[vee]\nspike_coefficient = \"high\"\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("vee.spike_coefficient"), std::string::npos);
}

TEST(Config, GatewaySection) {
  auto c = LoadConfig(WriteTemp("gw.toml", "[gateway]\nlisten = \"0.0.0.0:9100\"\npoll_timeout = \"2s\"\n"
                                          "registration = \"binary:8\"\npoll_interval = \"5m\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto o = GatewayOptionsOf(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->listen, "0.0.0.0:9100");
  EXPECT_EQ(o->poll_timeout_ms, 2000);
  EXPECT_EQ(o->poll_retries, 2);
  EXPECT_EQ(o->registration.bytes, 8);
  EXPECT_EQ(o->poll_interval_s, 300);
  auto bad = LoadConfig(WriteTemp("gw_bad.toml", "[gateway]\nregistration = \"ascii\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("gateway.registration"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(LoadConfig(WriteTemp("gw_bad2.toml", "[gateway]\npoll_timeout = \"0s\"\n")).ok());
}

TEST(Config, BadValuesAreErrors) {
  EXPECT_FALSE(LoadConfig(WriteTemp("b1.toml", "[vee]\nperiod = \"fortnight\"\n")).ok());
  EXPECT_FALSE(LoadConfig(WriteTemp("b2.toml", "[vee]\npeak = \"nonsense\"\n")).ok());
  EXPECT_FALSE(LoadConfig(WriteTemp("b3.toml", "[store]\nbackend = \"mysql\"\n")).ok());
  EXPECT_FALSE(LoadConfig(WriteTemp("b4.toml", "[store\n")).ok());
  EXPECT_FALSE(LoadConfig("/nonexistent/meterhub.toml").ok());
}

TEST(Config, EstimationKeysReachThePipeline) {
  auto defaults = PipelineOptionsOf(Config{});
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->estimation.enabled);  // opt-in (docs/estimation.md)
  EXPECT_EQ(defaults->estimation.max_gap_s, 7 * 86400);
  auto on = LoadConfig(WriteTemp("est-on.toml", "[vee]\nestimation = true\n"));
  ASSERT_TRUE(on.ok()) << on.status().ToString();
  EXPECT_TRUE(PipelineOptionsOf(*on)->estimation.enabled);
  auto c = LoadConfig(WriteTemp("est.toml", "[vee]\nestimation = false\nestimate_max_gap = \"2d\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto o = PipelineOptionsOf(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->estimation.enabled);
  EXPECT_EQ(o->estimation.max_gap_s, 2 * 86400);
  auto bad = LoadConfig(WriteTemp("est2.toml", "[vee]\nestimate_max_gap = \"0\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("vee.estimate_max_gap"), std::string::npos) << bad.status().ToString();
}

TEST(Config, PeakPeriodReachesThePipeline) {
  auto c = LoadConfig(WriteTemp("peak.toml", "[vee]\npeak = \"2020-07-01..2020-09-30\"\nperiod = \"month\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto o = PipelineOptionsOf(*c);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->vee.peak.has_value());
  EXPECT_EQ(o->vee.period, PeriodKind::kMonth);
}

// Issue 17: vee.peak as one range (today's form) or an array, yearly ranges, meter groups and
// customers' own alert limits, quiet hours.
TEST(Config, PeakArraysGroupsCustomersAndQuietHours) {
  auto c = LoadConfig(WriteTemp("groups.toml", R"([vee]
peak = ["07-01..09-30", "2020-10-01..2020-10-07"]
same_period_coefficient = 1.5
[alerts]
quiet_hours = "22:00-07:00"
[groups.summer]
peak = "06-01..08-31"
max_alerts_per_period = 2
[groups.night_owls]
alert_coefficient = 1.2
quiet_hours = ""
[customers.C7]
max_alerts_per_period = 5
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->vee.peak.size(), 2u);
  auto o = PipelineOptionsOf(*c);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ASSERT_TRUE(o->vee.peak.has_value());
  EXPECT_EQ(o->vee.peak->yearly().size(), 1u);
  EXPECT_EQ(o->vee.peak->absolute().size(), 1u);
  EXPECT_DOUBLE_EQ(o->vee.same_period_coefficient, 1.5);
  ASSERT_TRUE(o->quiet_hours.has_value());
  ASSERT_EQ(o->groups.size(), 2u);
  const auto& summer = o->groups.at("summer");
  EXPECT_EQ(summer.vee.max_alerts_per_period, 2);
  EXPECT_EQ(summer.vee.peak->yearly().front().from_md, 601);
  EXPECT_TRUE(summer.quiet_hours.has_value());  // the [alerts] value
  const auto& owls = o->groups.at("night_owls");
  EXPECT_DOUBLE_EQ(owls.vee.alert_coefficient, 1.2);
  EXPECT_EQ(owls.vee.peak->yearly().size(), 1u);  // the [vee] peak
  EXPECT_FALSE(owls.quiet_hours.has_value());     // "" = none for this group
  EXPECT_EQ(o->customer_max_alerts.at("C7"), 5);

  // Mistakes are named.
  auto bad = LoadConfig(WriteTemp("g1.toml", "[groups.summer]\npeek = \"06-01..08-31\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("groups.summer.peek"), std::string::npos) << bad.status().message();
  bad = LoadConfig(WriteTemp("g2.toml", "[groups.summer]\npeak = \"06-01..08-32\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("groups.summer.peak"), std::string::npos) << bad.status().message();
  bad = LoadConfig(WriteTemp("g3.toml", "[alerts]\nquiet_hours = \"late\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("alerts.quiet_hours"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(LoadConfig(WriteTemp("g4.toml", "[vee]\npeak = [1, 2]\n")).ok());
  EXPECT_FALSE(LoadConfig(WriteTemp("g5.toml", "[customers.C7]\nmax_alerts_per_period = -1\n")).ok());
}

TEST(Config, IngestTimezoneTakesAnIanaNameOrAnOffset) {
  auto berlin = LoadConfig(WriteTemp("tz1.toml", "[ingest]\ntimezone = \"Europe/Berlin\"\n"));
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  auto o = PipelineOptionsOf(*berlin);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->default_meter.tz.Name(), "Europe/Berlin");
  auto fixed = LoadConfig(WriteTemp("tz2.toml", "[ingest]\ntimezone = \"-05:00\"\n"));
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(PipelineOptionsOf(*fixed)->default_meter.tz, TimeZone::Fixed(-5 * 3600));
  auto bad = LoadConfig(WriteTemp("tz3.toml", "[ingest]\ntimezone = \"Europe/Atlantis\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("ingest.timezone"), std::string::npos) << bad.status().ToString();
}

// The README's configuration table must list every key with its default.
TEST(Config, ReadmeDocumentsEveryKey) {
  std::ifstream f(std::string(MH_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(f) << "README.md missing";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string readme = ss.str();
  std::istringstream defaults(DefaultConfigToml());
  std::string line, section;
  while (std::getline(defaults, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    std::string key = line.substr(0, line.find(" = "));
    std::string value = line.substr(line.find(" = ") + 3);
    value = value.substr(0, value.find("  #"));
    std::string row = "| `" + section + "." + key + "` | `" + value + "` |";
    EXPECT_NE(readme.find(row), std::string::npos) << "README lacks the row: " << row;
  }
}

TEST(Config, WaterPairToleranceAndCalibrationPeriod) {
  Config d;
  EXPECT_EQ(*WaterPairToleranceOf(d), -1);  // auto: half the sample interval
  EXPECT_EQ(d.water.calibration_period, "30d");
  auto c = LoadConfig(WriteTemp("w1.toml", "[water]\npair_tolerance = \"20s\"\ncalibration_period = \"60d\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*WaterPairToleranceOf(*c), 20);
  c = LoadConfig(WriteTemp("w2.toml", "[water]\npair_tolerance = \"0\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*WaterPairToleranceOf(*c), 0);
  auto bad = LoadConfig(WriteTemp("w3.toml", "[water]\npair_tolerance = \"soon\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("water.pair_tolerance"), std::string::npos);
  EXPECT_FALSE(LoadConfig(WriteTemp("w4.toml", "[water]\ncalibration_period = \"monthly\"\n")).ok());
}

}  // namespace
}  // namespace mh::app

namespace mh::app {
namespace {

// docs/billing.md's China time-of-use calendar, as a utility engineer writes it.
TEST(Config, TariffCalendarsPerGroup) {
  auto c = LoadConfig(WriteTemp("tariffs.toml", R"([tariffs.cn-tou]
bands = ["sharp", "peak", "flat", "valley"]
days.workday = ["00:00 valley", "08:00 peak", "11:00 flat", "18:00 peak", "21:00 flat", "23:00 valley"]
days.summer  = ["00:00 valley", "08:00 peak", "11:00 sharp", "13:00 flat", "18:00 peak", "21:00 flat", "23:00 valley"]
days.restday = ["00:00 valley", "08:00 flat", "23:00 valley"]
week = ["workday", "workday", "workday", "workday", "workday", "restday", "restday"]
holidays = ["01-01", "05-01", "2024-10-01..2024-10-07"]
holiday = "restday"

[tariffs.cn-tou.seasons.summer]
dates = ["07-01..08-31"]
week = ["summer", "summer", "summer", "summer", "summer", "restday", "restday"]

[groups.households]
tariff = "cn-tou"
)"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto book = TariffBookOf(*c);
  ASSERT_TRUE(book.ok()) << book.status().ToString();
  EXPECT_EQ(book->For("households").bands(), (std::vector<std::string>{"sharp", "peak", "flat", "valley"}));
  EXPECT_EQ(book->For("other").bands(), (std::vector<std::string>{"all"}));
  int64_t end = 0;
  // Monday 2024-07-01, 11:30 local: the summer schedule's sharp band.
  EXPECT_EQ(book->For("households").BandAtLocal(DaysFromCivil(2024, 7, 1) * 86400 + 41400, &end), 0);

  auto bad = LoadConfig(WriteTemp("t1.toml", "[tariffs.x]\nbands = [\"a\"]\ndays.all = [\"00:00 b\"]\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("tariffs.x: days.all[0]: band 'b' is not in bands"), std::string::npos)
      << bad.status().message();
  bad = LoadConfig(WriteTemp("t2.toml", "[groups.g]\ntariff = \"nope\"\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("groups.g.tariff: no [tariffs.nope]"), std::string::npos) << bad.status().message();
  bad = LoadConfig(WriteTemp("t3.toml", "[tariffs.x]\nbandz = [\"a\"]\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown key 'tariffs.x.bandz'"), std::string::npos) << bad.status().message();
  bad = LoadConfig(WriteTemp("t4.toml", "[billing]\ntariff = \"none\"\n"));
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace mh::app
