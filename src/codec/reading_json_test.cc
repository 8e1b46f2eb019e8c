#include "codec/reading_json.h"

#include <gtest/gtest.h>

#include <random>

namespace mh::codec {
namespace {

ParsedReadings MustParse(std::string_view body, std::string_view expected_meter = {}) {
  Result<ParsedReadings> r = ParseReadingsJson(body, expected_meter);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ParsedReadings();
}

TEST(ReadingJson, ParsesTheSpecExample) {
  ParsedReadings p = MustParse(R"({"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0})");
  ASSERT_EQ(p.readings.size(), 1u);
  EXPECT_TRUE(p.issues.empty());
  EXPECT_EQ(p.readings[0].meter_id, "M1");
  EXPECT_EQ(p.readings[0].ts, 1603983600);
  EXPECT_EQ(p.readings[0].value, 203.0);
  EXPECT_EQ(p.readings[0].raw_value, "");
}

TEST(ReadingJson, ParsesArraysEpochTimesAndValueForms) {
  ParsedReadings p = MustParse(R"([
    {"meter":"M1","ts":1603983600,"value":203},
    {"meter":"M1","ts":1603983600.9,"value":"203.5"},
    {"meter":"M1","ts":"1603983600","value":null},
    {"meter":"M1","ts":"2020-10-29T23:00:00+08:00","value":"E-07"},
    {"value":7,"unit":"kWh","extra":{"nested":[1,2,{"meter":"X"}]},"ts":"2020-10-29","meter":"M2"},
    {"meter":"M1","ts":"2020-10-29T15:00:00Z"},
    {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":18446744073709551615}
  ])");
  EXPECT_TRUE(p.issues.empty());
  ASSERT_EQ(p.readings.size(), 7u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(p.readings[i].ts, 1603983600) << i;
  EXPECT_EQ(p.readings[0].value, 203.0);
  EXPECT_EQ(p.readings[1].value, 203.5);
  EXPECT_FALSE(p.readings[2].value);
  EXPECT_EQ(p.readings[2].raw_value, "");
  EXPECT_FALSE(p.readings[3].value);
  EXPECT_EQ(p.readings[3].raw_value, "E-07");
  EXPECT_EQ(p.readings[4].meter_id, "M2");
  EXPECT_EQ(p.readings[4].ts, 1603929600);
  EXPECT_EQ(p.readings[4].value, 7.0);
  EXPECT_FALSE(p.readings[5].value);  // missing value: a null reading, judged later
  EXPECT_EQ(p.readings[6].value, 18446744073709551615.0);
}

// Issue 16: "channel" is optional; absent or null = the billing channel.
TEST(ReadingJson, AnOptionalChannel) {
  auto r = ParseReadingsJson(R"([{"meter":"M1","ts":1,"value":2,"channel":"export_kwh"},{"meter":"M1","ts":1,"value":2},)"
                             R"({"meter":"M1","ts":1,"value":2,"channel":null},{"meter":"M1","ts":1,"value":2,"channel":7}])");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->readings.size(), 3u);
  EXPECT_EQ(r->readings[0].channel, "export_kwh");
  EXPECT_EQ(r->readings[1].channel, "");
  EXPECT_EQ(r->readings[2].channel, "");
  ASSERT_EQ(r->issues.size(), 1u);
  EXPECT_EQ(r->issues[0].field, "channel");
  EXPECT_EQ(ReadingToJson(r->readings[0]), R"({"meter":"M1","ts":"1970-01-01T00:00:01Z","value":2.0,"channel":"export_kwh"})");
}

TEST(ReadingJson, EmptyArrayIsNothing) {
  ParsedReadings p = MustParse(" [ ] ");
  EXPECT_TRUE(p.readings.empty());
  EXPECT_TRUE(p.issues.empty());
}

TEST(ReadingJson, BadElementsAreIssuesWithIndexAndField) {
  ParsedReadings p = MustParse(R"([
    {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":1},
    {"ts":"2020-10-29T15:00:00Z","value":1},
    {"meter":42,"ts":"2020-10-29T15:00:00Z","value":1},
    {"meter":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ts":"2020-10-29T15:00:00Z","value":1},
    {"meter":"M 1","ts":"2020-10-29T15:00:00Z","value":1},
    {"meter":"M1","value":1},
    {"meter":"M1","ts":true,"value":1},
    {"meter":"M1","ts":"yesterday","value":1},
    {"meter":"M1","ts":1603983600000,"value":1},
    {"meter":"M1","ts":-5,"value":1},
    {"meter":"M1","ts":1e300,"value":1},
    {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":true},
    {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":[1]},
    {"meter":"M1","ts":"2020-10-29T15:00:00Z","value":{"v":1}},
    "M1",
    [1,2],
    null,
    {"meter":"M2","ts":"2020-10-29T15:00:00Z","value":2}
  ])");
  ASSERT_EQ(p.readings.size(), 2u);
  EXPECT_EQ(p.readings[0].meter_id, "M1");
  EXPECT_EQ(p.readings[1].meter_id, "M2");
  struct Want {
    int64_t index;
    const char* field;
    const char* message_part;
  };
  const Want want[] = {
      {1, "meter", "meter: missing"},
      {2, "meter", "meter: expected a string, got a number"},
      {3, "meter", "not a meter id"},
      {4, "meter", "not a meter id"},
      {5, "ts", "ts: missing"},
      {6, "ts", "ts: expected an ISO-8601 string or epoch seconds, got a boolean"},
      {7, "ts", "ts: expected an ISO-8601 string or epoch seconds, got 'yesterday'"},
      {8, "ts", "milliseconds?"},
      {9, "ts", "out of range"},
      {10, "ts", "out of range"},
      {11, "value", "value: expected a number, null or a string, got a boolean"},
      {12, "value", "got an object or array"},
      {13, "value", "got an object or array"},
      {14, "", "expected an object"},
      {15, "", "expected an object"},
      {16, "", "expected an object"},
  };
  ASSERT_EQ(p.issues.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(p.issues[i].line, want[i].index) << i;
    EXPECT_EQ(p.issues[i].field, want[i].field) << i;
    EXPECT_NE(p.issues[i].message.find(want[i].message_part), std::string::npos)
        << i << ": " << p.issues[i].message;
  }
}

TEST(ReadingJson, ExpectedMeterFromTheTopic) {
  ParsedReadings p = MustParse(R"([{"ts":1603983600,"value":1},{"meter":"M1","ts":1603983600,"value":2},
                                   {"meter":"M2","ts":1603983600,"value":3}])",
                               "M1");
  ASSERT_EQ(p.readings.size(), 2u);
  EXPECT_EQ(p.readings[0].meter_id, "M1");
  EXPECT_EQ(p.readings[1].meter_id, "M1");
  ASSERT_EQ(p.issues.size(), 1u);
  EXPECT_EQ(p.issues[0].line, 2);
  EXPECT_EQ(p.issues[0].field, "meter");
  EXPECT_NE(p.issues[0].message.find("'M2' is not the meter of this topic ('M1')"), std::string::npos);
  EXPECT_EQ(ParseReadingsJson("{}", "bad topic!").status().code(), StatusCode::kInvalidArgument);
}

TEST(ReadingJson, MalformedJsonNamesTheByteOffset) {
  for (std::string_view body : {std::string_view(""), std::string_view("{"), std::string_view("[{\"meter\":\"M1\",}]"),
                                std::string_view("{\"meter\":\"M1\"} trailing"), std::string_view("\x00\xff\xfe", 3),
                                std::string_view("{\"meter\":\"\xff\"}"), std::string_view("[1e400]"),
                                std::string_view("{\"value\":1e400}")}) {
    Result<ParsedReadings> r = ParseReadingsJson(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("malformed JSON at byte offset "), std::string::npos) << r.status().message();
    for (char c : r.status().message()) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << r.status().message();
  }
  Result<ParsedReadings> r = ParseReadingsJson("[{\"meter\":\"M1\"} x]");
  EXPECT_NE(r.status().message().find("at byte offset 16:"), std::string::npos) << r.status().message();
}

TEST(ReadingJson, TopLevelScalarIsAnError) {
  for (std::string_view body : {"42", "\"M1\"", "null", "true"}) {
    Result<ParsedReadings> r = ParseReadingsJson(body);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("expected a JSON object or an array"), std::string::npos);
  }
}

TEST(ReadingJson, TooManyElementsIsResourceExhausted) {
  std::string body = "[";
  for (size_t i = 0; i <= kMaxReadingsPerMessage; ++i) body += i ? ",1" : "1";
  body += "]";
  Result<ParsedReadings> r = ParseReadingsJson(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("100000"), std::string::npos);

  const std::string three = R"([{"meter":"M","ts":1,"value":1},{"meter":"M","ts":2},{"meter":"M","ts":3}])";
  EXPECT_EQ(ParseReadingsJson(three, {}, 2).status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(ParseReadingsJson(three, {}, 3).ok());
  EXPECT_EQ(ParseReadingsJson(three, {}, 3)->readings.size(), 3u);
}

TEST(ReadingJson, DeepNestingDoesNotOverflowTheStack) {
  const int depth = 1000000;
  std::string body = R"({"meter":"M1","ts":1,"value":1,"x":)";
  body += std::string(depth, '[') + std::string(depth, ']') + "}";
  ParsedReadings p = MustParse(body);
  EXPECT_EQ(p.readings.size(), 1u);
  EXPECT_FALSE(ParseReadingsJson(std::string(depth, '[')).ok());
}

TEST(ReadingJson, ReadingToJsonRoundTrips) {
  Reading r;
  r.meter_id = "M1";
  r.ts = 1603983600;
  r.value = 203.0;
  EXPECT_EQ(ReadingToJson(r), R"({"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0})");
  r.value = 0.1;
  EXPECT_EQ(ReadingToJson(r), R"({"meter":"M1","ts":"2020-10-29T15:00:00Z","value":0.1})");
  r.value.reset();
  EXPECT_EQ(ReadingToJson(r), R"({"meter":"M1","ts":"2020-10-29T15:00:00Z","value":null})");
  r.raw_value = "E-07 \"x\"";
  EXPECT_EQ(ReadingToJson(r), R"({"meter":"M1","ts":"2020-10-29T15:00:00Z","value":"E-07 \"x\""})");
  r.raw_value = "\xff\xfe";  // from a binary CSV row: must not throw
  EXPECT_EQ(ReadingToJson(r), "{\"meter\":\"M1\",\"ts\":\"2020-10-29T15:00:00Z\",\"value\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");

  for (double v : {0.0, -1.5, 1e-7, 123456789.123, 99999.9}) {
    Reading in;
    in.meter_id = "W-7";
    in.ts = 1700000000;
    in.value = v;
    ParsedReadings p = MustParse(ReadingToJson(in));
    ASSERT_EQ(p.readings.size(), 1u);
    EXPECT_EQ(p.readings[0].meter_id, in.meter_id);
    EXPECT_EQ(p.readings[0].ts, in.ts);
    EXPECT_EQ(p.readings[0].value, in.value);
  }
}

// Random bytes, and valid documents with random damage, never crash the parser.
TEST(ReadingJsonGarbage, RandomInputNeverCrashes) {
  std::mt19937_64 rng(20201029);
  const std::string valid =
      R"([{"meter":"M1","ts":"2020-10-29T15:00:00Z","value":203.0},{"meter":"M2","ts":1603983600,"value":null},)"
      R"({"meter":"M3","ts":"2020-10-29","value":"x","more":[{"a":1e5}]}])";
  const std::string specials = "{}[]\",:0123456789.-eE\\ntrufalsenul\xff";
  int ok = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string body;
    if (n % 3 == 0) {
      body.resize(rng() % 200);
      for (char& ch : body) ch = static_cast<char>(rng());
    } else {
      body = valid;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
        size_t pos = rng() % (body.size() + 1);
        switch (rng() % 3) {
          case 0: body.insert(pos, 1, specials[rng() % specials.size()]); break;
          case 1: if (pos < body.size()) body.erase(pos, 1); break;
          default: if (pos < body.size()) body[pos] = static_cast<char>(rng()); break;
        }
      }
    }
    Result<ParsedReadings> r = ParseReadingsJson(body, n % 2 ? "M1" : "");
    if (r.ok()) {
      ++ok;
      for (const Reading& reading : r->readings) EXPECT_LE(reading.meter_id.size(), 32u);
    }
  }
  EXPECT_GT(ok, 100);
}

}  // namespace
}  // namespace mh::codec
