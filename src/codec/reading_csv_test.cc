#include "codec/reading_csv.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "core/time.h"

namespace mh::codec {
namespace {

struct Collected {
  std::vector<Reading> readings;
  std::vector<int64_t> lines;
  std::vector<RowIssue> issues;
  Status status;
};

Collected Parse(std::string_view text, int32_t offset_s = 0) {
  Collected c;
  c.status = ParseReadingCsv(
      text,
      [&](const Reading& r, int64_t line) {
        c.readings.push_back(r);
        c.lines.push_back(line);
      },
      [&](const RowIssue& i) { c.issues.push_back(i); }, TimeZone::Fixed(offset_s));
  return c;
}

// Issue 18: columns are matched by the header's names (what `meterhub export --format csv`
// writes reads back: meter_id,timestamp,value,quality), in any order; the quality flag is handed on.
TEST(ReadingCsv, ColumnsByHeaderNameWithQuality) {
  std::vector<Reading> readings;
  std::vector<std::string> quality;
  std::vector<RowIssue> issues;
  auto on_row = [&](const Reading& r, std::string_view q, int64_t) {
    readings.push_back(r);
    quality.emplace_back(q);
  };
  auto on_issue = [&](const RowIssue& i) { issues.push_back(i); };
  Status st = ParseReadingCsvRows(
      "Quality, value ,channel,meter_id,timestamp\n"
      "E52,203.5,,M1,2020-10-29T15:00:00Z\n"
      "A,50,import_kwh_t1,M1,2020-10-29T15:00:00Z\n"
      ",7,,M2,1603983600\n"
      "bogus,7,,M2,1603983600\n"
      "A,7,M2,1603983600\n",
      on_row, on_issue);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(readings.size(), 3u);
  EXPECT_EQ(readings[0].meter_id, "M1");
  EXPECT_EQ(readings[0].ts, 1603983600);
  EXPECT_EQ(readings[0].value, 203.5);
  EXPECT_EQ(readings[1].channel, "import_kwh_t1");
  EXPECT_EQ(quality, (std::vector<std::string>{"E52", "A", ""}));
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].field, "quality");
  EXPECT_EQ(issues[1].message, "expected 5 fields (quality,value,channel,meter_id,timestamp), found 4");
  // ParseReadingCsv reads the same file, without the flags.
  Collected c = Parse("meter_id,timestamp,value,quality\nM1,2020-10-29T15:00:00Z,1,E\n");
  ASSERT_EQ(c.readings.size(), 1u) << c.status.ToString();

  Result<CsvColumns> layout = ParseReadingCsvHeader("timestamp,meter_id,quality,value");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  EXPECT_EQ(layout->count, 4);
  EXPECT_EQ(layout->meter_id, 1);
  EXPECT_EQ(layout->timestamp, 0);
  EXPECT_EQ(layout->value, 3);
  EXPECT_EQ(layout->quality, 2);
  EXPECT_EQ(layout->channel, -1);
  EXPECT_FALSE(layout->plain());
  EXPECT_TRUE(ParseReadingCsvHeader("meter_id,timestamp,value")->plain());
  // Unknown, repeated and missing columns are refused, naming them.
  for (const auto& [header, why] : std::vector<std::pair<std::string, std::string>>{
           {"meter_id,timestamp,value,kwh", "unknown column 'kwh'"},
           {"meter_id,timestamp,value,Value", "column 'value' twice"},
           {"meter_id,value,quality", "no column 'timestamp'"}}) {
    Collected bad = Parse(header + "\n");
    EXPECT_FALSE(bad.status.ok()) << header;
    EXPECT_NE(bad.status.message().find("expected the header 'meter_id,timestamp,value'"), std::string::npos)
        << bad.status.message();
    EXPECT_NE(bad.status.message().find(why), std::string::npos) << bad.status.message();
  }
}

TEST(ReadingCsv, ParsesExactVectors) {
  Collected c = Parse(
      "meter_id,timestamp,value\n"
      "M1,2020-10-29T15:00:00Z,203.0\n"
      "M1,2020-10-29T23:00:00+08:00,203.5\n"
      "m_2-x,1603983600,-1.25\n"
      "M3,2020-10-29 15:00:00,1e3\n");
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  ASSERT_EQ(c.readings.size(), 4u);
  EXPECT_TRUE(c.issues.empty());
  EXPECT_EQ(c.readings[0].meter_id, "M1");
  EXPECT_EQ(c.readings[0].ts, 1603983600);
  EXPECT_EQ(c.readings[0].value, 203.0);
  EXPECT_EQ(c.readings[0].raw_value, "");
  EXPECT_EQ(c.readings[1].ts, 1603983600);
  EXPECT_EQ(c.readings[1].value, 203.5);
  EXPECT_EQ(c.readings[2].meter_id, "m_2-x");
  EXPECT_EQ(c.readings[2].ts, 1603983600);
  EXPECT_EQ(c.readings[2].value, -1.25);
  EXPECT_EQ(c.readings[3].value, 1000.0);
  EXPECT_EQ(c.lines, (std::vector<int64_t>{2, 3, 4, 5}));
}

// Issue 16: an optional fourth column names the channel; empty = the billing channel.
TEST(ReadingCsv, AnOptionalChannelColumn) {
  Collected c = Parse(
      "meter_id,timestamp,value,channel\n"
      "M1,2020-10-29T15:00:00Z,203.0,\n"
      "M1,2020-10-29T15:00:00Z,50.5,import_kwh_t1\n"
      "M1,2020-10-29T15:00:00Z,1,bad channel\n"
      "M1,2020-10-29T15:00:00Z,1\n");
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  ASSERT_EQ(c.readings.size(), 2u);
  EXPECT_EQ(c.readings[0].channel, "");
  EXPECT_EQ(c.readings[1].channel, "import_kwh_t1");
  ASSERT_EQ(c.issues.size(), 2u);
  EXPECT_EQ(c.issues[0].field, "channel");
  EXPECT_NE(c.issues[1].message.find("expected 4 fields"), std::string::npos) << c.issues[1].message;
  // Without the column every reading is of the billing channel.
  Collected plain = Parse("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,1\n");
  ASSERT_EQ(plain.readings.size(), 1u);
  EXPECT_EQ(plain.readings[0].channel, "");
}

TEST(ReadingCsv, DefaultOffsetAppliesOnlyWithoutOne) {
  Collected c = Parse("meter_id,timestamp,value\nM1,2020-10-29T23:00:00,1\nM1,2020-10-29T15:00:00Z,2\n", 8 * 3600);
  ASSERT_TRUE(c.status.ok());
  ASSERT_EQ(c.readings.size(), 2u);
  EXPECT_EQ(c.readings[0].ts, 1603983600);
  EXPECT_EQ(c.readings[1].ts, 1603983600);
}

TEST(ReadingCsv, ToleratesBomCrlfSpacesBlankLinesAndMissingFinalNewline) {
  Collected c = Parse(
      "\xEF\xBB\xBF METER_ID , Timestamp ,value\r\n"
      "\r\n"
      "  M1 ,\t2020-10-29T15:00:00Z ,  7.5 \r\n"
      "   \r\n"
      "M2,2020-10-29T15:30:00Z,8");
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  ASSERT_EQ(c.readings.size(), 2u);
  EXPECT_TRUE(c.issues.empty());
  EXPECT_EQ(c.readings[0].meter_id, "M1");
  EXPECT_EQ(c.readings[0].value, 7.5);
  EXPECT_EQ(c.readings[1].meter_id, "M2");
  EXPECT_EQ(c.readings[1].ts, 1603985400);
  EXPECT_EQ(c.readings[1].value, 8.0);
  EXPECT_EQ(c.lines, (std::vector<int64_t>{3, 5}));
}

TEST(ReadingCsv, UnparseableValuesAreNullReadingsWithRawText) {
  Collected c = Parse(
      "meter_id,timestamp,value\n"
      "M1,2020-10-29T15:00:00Z,\n"
      "M1,2020-10-29T15:00:00Z,NaN\n"
      "M1,2020-10-29T15:00:00Z,inf\n"
      "M1,2020-10-29T15:00:00Z,1e400\n"
      "M1,2020-10-29T15:00:00Z,12a\n"
      "M1,2020-10-29T15:00:00Z,--1\n"
      "M1,2020-10-29T15:00:00Z,+-1\n"
      "M1,2020-10-29T15:00:00Z,.\n"
      "M1,2020-10-29T15:00:00Z,0x10\n");
  ASSERT_TRUE(c.status.ok());
  EXPECT_TRUE(c.issues.empty());
  std::vector<std::string> raws;
  for (const Reading& r : c.readings) {
    EXPECT_FALSE(r.value.has_value()) << r.raw_value;
    raws.push_back(r.raw_value);
  }
  EXPECT_EQ(raws, (std::vector<std::string>{"", "NaN", "inf", "1e400", "12a", "--1", "+-1", ".", "0x10"}));
}

TEST(ReadingCsv, LongRawValueIsCutAtCharacterBoundary) {
  std::string value(kMaxRawTextBytes - 1, 'x');
  value += "\xC3\xA9tail";  // é straddles the limit
  Collected c = Parse("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z," + value + "\n");
  ASSERT_EQ(c.readings.size(), 1u);
  EXPECT_EQ(c.readings[0].raw_value, std::string(kMaxRawTextBytes - 1, 'x'));
}

// Raw text is stored and served as JSON: invalid UTF-8 must not survive the parser (a byte-level
// garbage value once crashed the daemon when its event was serialised).
TEST(ReadingCsv, RawTextIsMadeValidUtf8) {
  Collected c = Parse("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,a\xC3\x28\xFF\n");
  ASSERT_EQ(c.readings.size(), 1u);
  EXPECT_EQ(c.readings[0].raw_value, "a\xEF\xBF\xBD(\xEF\xBF\xBD");
  Collected bad = Parse("meter_id,timestamp,value\nM1,\xFF\xFE,1\n");
  ASSERT_EQ(bad.issues.size(), 1u);
  EXPECT_EQ(bad.issues[0].text, "M1,\xEF\xBF\xBD\xEF\xBF\xBD,1");
}

TEST(ReadingCsv, QuotedFieldsFollowRfc4180) {
  Collected c = Parse(
      "\"meter_id\",\"timestamp\",\"value\"\n"
      "\"M1\",\"2020-10-29T15:00:00Z\",\"203.25\"\n"
      "M2 , \"2020-10-29T15:00:00Z\" ,\"1,5\"\n"
      "M3,2020-10-29T15:00:00Z,\"say \"\"hi\"\"\"\n"
      "M4,2020-10-29T15:00:00Z,\"open\n"
      "M5,2020-10-29T15:00:00Z,\"a\"b\n");
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  ASSERT_EQ(c.readings.size(), 3u);
  EXPECT_EQ(c.readings[0].meter_id, "M1");
  EXPECT_EQ(c.readings[0].value, 203.25);
  EXPECT_FALSE(c.readings[1].value);
  EXPECT_EQ(c.readings[1].raw_value, "1,5");
  EXPECT_EQ(c.readings[2].raw_value, "say \"hi\"");
  ASSERT_EQ(c.issues.size(), 2u);
  EXPECT_EQ(c.issues[0].line, 5);
  EXPECT_NE(c.issues[0].message.find("unterminated"), std::string::npos);
  EXPECT_EQ(c.issues[1].line, 6);
  EXPECT_NE(c.issues[1].message.find("closing quote"), std::string::npos);
}

TEST(ReadingCsv, BadRowsAreIssuesAndGoodRowsStillArrive) {
  const std::string id33(33, 'A');
  Collected c = Parse(
      "meter_id,timestamp,value\n"
      "M1,2020-10-29T15:00:00Z,1\n"             // 2 ok
      "M1,2020-10-29T15:00:00Z\n"               // 3 too few fields
      "M1,2020-10-29T15:00:00Z,1,extra\n"       // 4 too many fields
      "" + id33 + ",2020-10-29T15:00:00Z,1\n"   // 5 meter id too long
      "M 1,2020-10-29T15:00:00Z,1\n"            // 6 bad character
      ",2020-10-29T15:00:00Z,1\n"               // 7 empty meter id
      "M1,yesterday,1\n"                        // 8 bad timestamp
      "M1,2020-13-01T00:00:00Z,1\n"             // 9 month out of range
      "M1,,1\n"                                 // 10 empty timestamp
      "M1," + std::string(500, '9') + "x,1\n"   // 11 huge timestamp
      "M2,2020-10-29T15:00:00Z,2\n");           // 12 ok
  ASSERT_TRUE(c.status.ok());
  ASSERT_EQ(c.readings.size(), 2u);
  EXPECT_EQ(c.lines, (std::vector<int64_t>{2, 12}));
  std::vector<int64_t> lines;
  std::vector<std::string> fields;
  for (const RowIssue& i : c.issues) {
    lines.push_back(i.line);
    fields.push_back(i.field);
    EXPECT_FALSE(i.message.empty());
    EXPECT_LE(i.message.size(), 300u);
    EXPECT_LE(i.text.size(), kMaxRawTextBytes);
  }
  EXPECT_EQ(lines, (std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(fields, (std::vector<std::string>{"", "", "meter_id", "meter_id", "meter_id", "timestamp", "timestamp",
                                              "timestamp", "timestamp"}));
  EXPECT_EQ(c.issues[0].message, "expected 3 fields (meter_id,timestamp,value), found 2");
  EXPECT_EQ(c.issues[0].text, "M1,2020-10-29T15:00:00Z");
  EXPECT_EQ(c.issues[2].message, "meter id longer than 32 characters");
}

TEST(ReadingCsv, MaxLengthMeterIdIsAccepted) {
  const std::string id32(32, 'Z');
  Collected c = Parse("meter_id,timestamp,value\n" + id32 + ",2020-10-29T15:00:00Z,1\n");
  ASSERT_EQ(c.readings.size(), 1u);
  EXPECT_EQ(c.readings[0].meter_id, id32);
}

TEST(ReadingCsv, MissingOrWrongHeaderIsAnErrorNamingLineOne) {
  for (std::string_view text : {std::string_view(""), std::string_view("\n\n"), std::string_view("meter,ts,value\n"),
                                std::string_view("meter_id,timestamp\nM1,2020-10-29T15:00:00Z\n"),
                                std::string_view("meter_id;timestamp;value\n"),
                                std::string_view("\x01\x02\xff garbage")}) {
    Collected c = Parse(text);
    EXPECT_EQ(c.status.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(c.status.message().find("line 1"), std::string::npos) << c.status.message();
    EXPECT_NE(c.status.message().find("meter_id,timestamp,value"), std::string::npos) << c.status.message();
  }
  Collected headerless = Parse("M1,2020-10-29T15:00:00Z,1\n");
  EXPECT_NE(headerless.status.message().find("header line is missing"), std::string::npos);
  Collected semicolons = Parse("meter_id;timestamp;value\n");
  EXPECT_NE(semicolons.status.message().find("separated by ','"), std::string::npos);
}

TEST(ReadingCsv, TruncatedFileKeepsCompleteRows) {
  Collected c = Parse("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,1\nM1,2020-10-2");
  ASSERT_TRUE(c.status.ok());
  ASSERT_EQ(c.readings.size(), 1u);
  ASSERT_EQ(c.issues.size(), 1u);
  EXPECT_EQ(c.issues[0].line, 3);
  EXPECT_EQ(c.issues[0].field, "");
  EXPECT_EQ(c.issues[0].message, "expected 3 fields (meter_id,timestamp,value), found 2");
  // Cut inside the value: still a row, the value is what arrived.
  Collected d = Parse("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,20");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].value, 20.0);
}

TEST(ReadingCsv, ParseValueMatchesFromChars) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> digits(1, 18), frac(0, 9), sign(0, 3);
  for (int n = 0; n < 200000; ++n) {
    std::string s;
    if (sign(rng) == 0) s += '-';
    int d = digits(rng);
    for (int i = 0; i < d; ++i) s += static_cast<char>('0' + rng() % 10);
    int f = frac(rng);
    if (f > 0 || rng() % 5 == 0) s += '.';
    for (int i = 0; i < f; ++i) s += static_cast<char>('0' + rng() % 10);
    double expected = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), expected);
    ASSERT_TRUE(ec == std::errc() && p == s.data() + s.size()) << s;
    std::optional<double> got = ParseValue(s);
    ASSERT_TRUE(got.has_value()) << s;
    ASSERT_EQ(std::signbit(*got), std::signbit(expected)) << s;
    ASSERT_EQ(*got, expected) << s;
  }
  EXPECT_EQ(ParseValue(" 1.5 "), 1.5);
  EXPECT_EQ(ParseValue("+2"), 2.0);
  EXPECT_EQ(ParseValue("1.5e2"), 150.0);
  EXPECT_EQ(ParseValue("0.1"), 0.1);
  EXPECT_EQ(ParseValue("99999.9"), 99999.9);
  EXPECT_FALSE(ParseValue(""));
  EXPECT_FALSE(ParseValue("-"));
  EXPECT_FALSE(ParseValue("nan"));
  EXPECT_FALSE(ParseValue("-inf"));
  EXPECT_FALSE(ParseValue("1e400"));
  EXPECT_FALSE(ParseValue("1 2"));
}

// The ISO fast path and ParseTimestamp must agree on every input, valid or not (a time before
// 1970 or after 9999 is then refused by the range check, on both paths).
TEST(ReadingCsv, TimestampFastPathAgreesWithParseTimestamp) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789-+T:Z ";
  int valid = 0;
  for (int n = 0; n < 100000; ++n) {
    std::string ts = n % 4 == 1 ? "2020-10-29T15:00:00Z" : "2020-10-29T15:00:00+05:30";
    if (n % 2 == 0) {
      // A random well-formed instant (also days 29-31 of every month, and hour 24).
      ts = std::to_string(1970 + rng() % 130);
      char buf[32];
      std::snprintf(buf, sizeof buf, "-%02d-%02dT%02d:%02d:%02d", static_cast<int>(rng() % 14),
                    static_cast<int>(rng() % 33), static_cast<int>(rng() % 26), static_cast<int>(rng() % 61),
                    static_cast<int>(rng() % 62));
      ts += buf;
      if (rng() % 2) {
        ts += 'Z';
      } else {
        std::snprintf(buf, sizeof buf, "%c%02d:%02d", rng() % 2 ? '+' : '-', static_cast<int>(rng() % 16),
                      static_cast<int>(rng() % 61));
        ts += buf;
      }
    } else {
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) ts[rng() % ts.size()] = alphabet[rng() % alphabet.size()];
    }
    Result<int64_t> expected = ParseTimestamp(ts);
    Collected c = Parse("meter_id,timestamp,value\nM1," + ts + ",1\n");
    if (expected.ok() && IsReadingTimeInRange(*expected)) {
      ++valid;
      ASSERT_EQ(c.readings.size(), 1u) << ts;
      ASSERT_EQ(c.readings[0].ts, *expected) << ts;
    } else {
      ASSERT_EQ(c.issues.size(), 1u) << ts;
    }
  }
  EXPECT_GT(valid, 30000);
}

// Issue 10 item 5: 0001-01-01 and negative epochs are refused like epoch -1 (the clock of a meter
// that lost its battery); the rest of the file is read.
TEST(ReadingCsv, TimestampsOutsideTheReadingRangeAreRefused) {
  Collected c = Parse("meter_id,timestamp,value\nM1,0001-01-01T00:00:00Z,1\nM1,-1,1\nM1,1969-12-31T23:59:59Z,1\n"
                      "M1,10000-01-01T00:00:00Z,1\nM1,2020-10-29T15:00:00Z,1\n");
  ASSERT_EQ(c.readings.size(), 1u);
  EXPECT_EQ(c.issues.size(), 4u);
  for (const auto& i : c.issues) EXPECT_EQ(i.field, "timestamp");
}

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    path_ = (std::filesystem::temp_directory_path() / ("mh_csv_test_" + std::to_string(getpid()) + "_" +
                                                        std::to_string(counter_++) + ".csv"))
                .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST(ReadingCsvFile, ParsesThroughMmapAndReportsProgress) {
  std::string text = "meter_id,timestamp,value\n";
  const int rows = 60000;  // ~2.3 MB: at least two progress steps
  for (int i = 0; i < rows; ++i)
    text += "METER-" + std::to_string(i % 100) + "," + FormatIsoUtc(1603983600 + i * 60) + "," +
            std::to_string(i) + ".5\n";
  TempFile f(text);
  int64_t n = 0;
  double sum = 0;
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  Status s = ParseReadingCsvFile(
      f.path(),
      [&](const Reading& r, int64_t) {
        ++n;
        sum += *r.value;
      },
      [&](const RowIssue& i) { ADD_FAILURE() << i.line << ": " << i.message; },
      [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(n, rows);
  EXPECT_DOUBLE_EQ(sum, rows * (rows - 1.0) / 2.0 + rows * 0.5);
  ASSERT_GE(progress.size(), 3u);
  EXPECT_EQ(progress.back(), std::make_pair(uint64_t{text.size()}, uint64_t{text.size()}));
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].first, progress[i - 1].first);
}

TEST(ReadingCsvFile, ErrorsNameThePath) {
  Status missing = ParseReadingCsvFile("/nonexistent/readings.csv", {}, {});
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("/nonexistent/readings.csv"), std::string::npos);
  TempFile empty("");
  Status s = ParseReadingCsvFile(empty.path(), {}, {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(empty.path()), std::string::npos);
  EXPECT_NE(s.message().find("line 1"), std::string::npos);
  Status dir = ParseReadingCsvFile(std::filesystem::temp_directory_path().string(), {}, {});
  EXPECT_FALSE(dir.ok());
}

TEST(ReadingCsvFile, CallbackMayThrowToStop) {
  TempFile f("meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,1\nM1,bad,2\nM1,2020-10-29T16:00:00Z,3\n");
  struct Stop {};
  int readings = 0;
  for (int round = 0; round < 2; ++round) {
    EXPECT_THROW((void)ParseReadingCsvFile(
                     f.path(), [&](const Reading&, int64_t) { ++readings; }, [](const RowIssue&) { throw Stop{}; }),
                 Stop);
  }
  EXPECT_EQ(readings, 2);
}

// Random bytes, and valid documents with random damage, never crash the parser.
TEST(ReadingCsvGarbage, RandomInputNeverCrashes) {
  std::mt19937_64 rng(20201029);
  const std::string valid =
      "meter_id,timestamp,value\nM1,2020-10-29T15:00:00Z,203.0\n\"M2\",1603983600,\"1,5\"\r\nM3,2020-10-29,x\n";
  const std::string specials = ",\"\r\n \t0123456789.-+eETZ:\xEF\xBB\xBF";
  int64_t delivered = 0, issues = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string text;
    if (n % 3 == 0) {
      text.resize(rng() % 300);
      for (char& ch : text) ch = static_cast<char>(rng());
    } else {
      text = valid;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 6); ++k) {
        size_t pos = rng() % (text.size() + 1);
        switch (rng() % 3) {
          case 0: text.insert(pos, 1, specials[rng() % specials.size()]); break;
          case 1: if (pos < text.size()) text.erase(pos, 1); break;
          default: if (pos < text.size()) text[pos] = static_cast<char>(rng()); break;
        }
      }
      if (n % 5 == 0) text.resize(rng() % (text.size() + 1));  // truncated
    }
    Status s = ParseReadingCsv(
        text,
        [&](const Reading& r, int64_t line) {
          ++delivered;
          EXPECT_GE(line, 2);
          EXPECT_LE(r.meter_id.size(), 32u);
          EXPECT_LE(r.raw_value.size(), kMaxRawTextBytes);
        },
        [&](const RowIssue& i) {
          ++issues;
          EXPECT_LE(i.text.size(), kMaxRawTextBytes);
        });
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(delivered, 1000);
  EXPECT_GT(issues, 1000);
}

}  // namespace
}  // namespace mh::codec
