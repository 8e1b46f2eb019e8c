#include "codec/reading_json.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/meter_id.h"
#include "core/time.h"

namespace mh::codec {
namespace {

using nlohmann::json;

constexpr int64_t kMaxEpochSeconds = kMaxReadingTs;

// Printable ASCII only: parser messages echo input bytes, and error text travels in JSON and logs.
std::string Printable(std::string_view s, size_t max_bytes = 120) {
  std::string out;
  for (char c : s.substr(0, max_bytes)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
  if (s.size() > max_bytes) out += "...";
  return out;
}

// Streams the document through nlohmann's SAX interface (iterative, no DOM): deep nesting costs
// one bit per level, and the element limit stops the parse early.
class ReadingsSax {
 public:
  ReadingsSax(std::string_view expected_meter, size_t max_readings, ParsedReadings* out)
      : expected_meter_(expected_meter), max_readings_(max_readings), out_(out) {}

  // What stopped the parse, when the handler did.
  enum class Stop { kNone, kTooMany, kNotReadings, kSyntax };
  Stop stop() const { return stop_; }
  const std::string& stop_message() const { return stop_message_; }
  size_t error_offset() const { return error_offset_; }

  bool null() { return Scalar(Kind::kNull, {}); }
  bool boolean(bool v) { return Scalar(Kind::kBool, v ? "true" : "false"); }
  bool number_integer(json::number_integer_t v) {
    num_ = static_cast<double>(v);
    int_ = v;
    int_ok_ = true;
    return Scalar(Kind::kNumber, std::to_string(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    num_ = static_cast<double>(v);
    int_ok_ = v <= static_cast<json::number_unsigned_t>(INT64_MAX);
    int_ = int_ok_ ? static_cast<int64_t>(v) : 0;
    return Scalar(Kind::kNumber, std::to_string(v));
  }
  bool number_float(json::number_float_t v, const std::string& lexeme) {
    num_ = v;
    int_ok_ = false;
    return Scalar(Kind::kNumber, lexeme);
  }
  bool string(std::string& v) { return Scalar(Kind::kString, v); }
  bool binary(json::binary_t&) { return Scalar(Kind::kOther, {}); }
  bool key(std::string& k) {
    if (in_element_ && depth_ == element_depth_) field_ = k == "meter" ? 0 : k == "ts" ? 1 : k == "value" ? 2 : k == "channel" ? 3 : -1;
    return true;
  }
  bool start_object(size_t) { return Open(true); }
  bool start_array(size_t) { return Open(false); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    stop_ = Stop::kSyntax;
    error_offset_ = position > 0 ? position - 1 : 0;  // nlohmann counts from 1
    std::string what = ex.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." → the tail.
    if (size_t k = what.find("] "); k != std::string::npos) what.erase(0, k + 2);
    stop_message_ = Printable(what, 200);
    return false;
  }

 private:
  enum class Kind { kNull, kBool, kNumber, kString, kOther, kContainer };

  struct Element {
    size_t index = 0;
    bool has[4] = {false, false, false, false};
    std::string meter;
    int64_t ts = 0;
    std::optional<double> value;
    std::string raw_value;
    std::string channel;        // "" = the billing channel
    std::string error[4];       // the first problem with meter, ts, value, channel
    std::string error_text[4];  // the offending text
  };

  static const char* KindName(Kind k) {
    switch (k) {
      case Kind::kNull: return "null";
      case Kind::kBool: return "a boolean";
      case Kind::kNumber: return "a number";
      case Kind::kString: return "a string";
      case Kind::kOther: return "binary data";
      case Kind::kContainer: return "an object or array";
    }
    return "?";
  }

  // An element that is not an object, at the top of an array.
  void NotAnObject(Kind kind) {
    RowIssue issue;
    issue.line = static_cast<int64_t>(count_ - 1);
    issue.message = std::string("expected an object {\"meter\",\"ts\",\"value\"}, got ") + KindName(kind);
    out_->issues.push_back(std::move(issue));
  }

  bool CountElement() {
    if (++count_ > max_readings_) {
      stop_ = Stop::kTooMany;
      return false;
    }
    return true;
  }

  bool Open(bool object) {
    if (depth_ == 0) {
      if (object) {
        is_array_ = false;
        if (!CountElement()) return false;
        BeginElement(1);
      } else {
        is_array_ = true;
      }
    } else if (is_array_ && depth_ == 1) {
      if (!CountElement()) return false;
      if (object) {
        BeginElement(2);
      } else {
        NotAnObject(Kind::kContainer);
      }
    } else if (in_element_ && depth_ == element_depth_) {
      Field(Kind::kContainer, {});
    }
    ++depth_;
    return true;
  }

  bool Close() {
    --depth_;
    if (in_element_ && depth_ == element_depth_ - 1) EndElement();
    return true;
  }

  bool Scalar(Kind kind, std::string_view text) {
    if (depth_ == 0) {
      stop_ = Stop::kNotReadings;
      stop_message_ = std::string("expected a JSON object or an array of objects, got ") + KindName(kind);
      return false;
    }
    if (is_array_ && depth_ == 1) {
      if (!CountElement()) return false;
      NotAnObject(kind);
    } else if (in_element_ && depth_ == element_depth_) {
      Field(kind, text);
    }
    return true;
  }

  void BeginElement(int depth) {
    in_element_ = true;
    element_depth_ = depth;
    element_ = Element();
    element_.index = count_ - 1;
    field_ = -1;
  }

  void SetError(int f, std::string message, std::string_view text) {
    element_.error[f] = std::move(message);
    element_.error_text[f] = TruncateUtf8(text, kMaxRawTextBytes);
  }

  // The value of key field_ inside the current element.
  void Field(Kind kind, std::string_view text) {
    int f = field_;
    field_ = -1;
    if (f < 0) return;
    // A repeated key: the last one wins, as in most JSON readers.
    element_.has[f] = true;
    element_.error[f].clear();
    element_.error_text[f].clear();
    switch (f) {
      case 0:
        if (kind != Kind::kString) {
          SetError(0, std::string("meter: expected a string, got ") + KindName(kind), text);
        } else {
          element_.meter.assign(text);
        }
        break;
      case 1:
        if (kind == Kind::kString) {
          Result<int64_t> t = ParseTimestamp(text);
          if (!t.ok()) {
            SetError(1, "ts: expected an ISO-8601 string or epoch seconds, got '" + Printable(text, 64) + "'", text);
          } else if (!IsReadingTimeInRange(*t)) {
            SetError(1, "ts: out of range (1970..9999): '" + Printable(text, 64) + "'", text);
          } else {
            element_.ts = *t;
          }
        } else if (kind == Kind::kNumber) {
          double v = int_ok_ ? static_cast<double>(int_) : num_;
          if (!(v >= 0 && v <= static_cast<double>(kMaxEpochSeconds))) {
            SetError(1, "ts: epoch seconds out of range (1970..9999; milliseconds?): " + Printable(text, 64), text);
          } else {
            element_.ts = int_ok_ ? int_ : static_cast<int64_t>(v);  // a fraction is dropped
          }
        } else {
          SetError(1, std::string("ts: expected an ISO-8601 string or epoch seconds, got ") + KindName(kind), text);
        }
        break;
      case 2:
        element_.value.reset();
        element_.raw_value.clear();
        if (kind == Kind::kNumber) {
          if (std::isfinite(num_)) {
            element_.value = num_;
          } else {
            element_.raw_value = TruncateUtf8(text, kMaxRawTextBytes);
          }
        } else if (kind == Kind::kString) {
          element_.value = ParseValue(text);
          if (!element_.value) element_.raw_value = TruncateUtf8(text, kMaxRawTextBytes);
        } else if (kind != Kind::kNull) {
          SetError(2, std::string("value: expected a number, null or a string, got ") + KindName(kind), text);
        }
        break;
      case 3:
        // Optional (issue 16): absent or null = the meter's billing channel.
        element_.channel.clear();
        if (kind == Kind::kString && IsValidChannel(text)) {
          element_.channel.assign(text);
        } else if (kind != Kind::kNull) {
          SetError(3, "channel: expected a channel name (1-64 characters of [A-Za-z0-9_.:-]), got " +
                          (kind == Kind::kString ? "'" + Printable(text, 64) + "'" : std::string(KindName(kind))),
                   text);
        }
        break;
    }
  }

  void EndElement() {
    in_element_ = false;
    Element& e = element_;
    if (!e.has[0]) {
      if (expected_meter_.empty()) {
        SetError(0, "meter: missing", {});
      } else {
        e.meter.assign(expected_meter_);
      }
    } else if (e.error[0].empty()) {
      if (!IsValidMeterId(e.meter)) {
        SetError(0, "meter: '" + Printable(e.meter, 64) + "' is not a meter id (1-32 chars of [A-Za-z0-9_-])", e.meter);
      } else if (!expected_meter_.empty() && e.meter != expected_meter_) {
        SetError(0, "meter: '" + e.meter + "' is not the meter of this topic ('" + std::string(expected_meter_) + "')",
                 e.meter);
      }
    }
    if (!e.has[1]) SetError(1, "ts: missing", {});
    static const char* const kFields[4] = {"meter", "ts", "value", "channel"};
    for (int f = 0; f < 4; ++f) {
      if (e.error[f].empty()) continue;
      RowIssue issue;
      issue.line = static_cast<int64_t>(e.index);
      issue.field = kFields[f];
      issue.message = std::move(e.error[f]);
      issue.text = std::move(e.error_text[f]);
      out_->issues.push_back(std::move(issue));
      return;
    }
    Reading r;
    r.meter_id = std::move(e.meter);
    r.ts = e.ts;
    r.value = e.value;
    r.raw_value = std::move(e.raw_value);
    r.channel = std::move(e.channel);
    out_->readings.push_back(std::move(r));
  }

  const std::string_view expected_meter_;
  const size_t max_readings_;
  ParsedReadings* const out_;

  int depth_ = 0;             // containers open
  bool is_array_ = false;     // the document is an array of elements
  size_t count_ = 0;          // elements seen
  bool in_element_ = false;
  int element_depth_ = 0;     // depth_ inside the current element object
  int field_ = -1;            // 0 meter, 1 ts, 2 value, -1 another key
  Element element_;
  double num_ = 0;            // the last number event
  int64_t int_ = 0;
  bool int_ok_ = false;
  Stop stop_ = Stop::kNone;
  std::string stop_message_;
  size_t error_offset_ = 0;
};

}  // namespace

Result<ParsedReadings> ParseReadingsJson(std::string_view body, std::string_view expected_meter) {
  return ParseReadingsJson(body, expected_meter, kMaxReadingsPerMessage);
}

Result<ParsedReadings> ParseReadingsJson(std::string_view body, std::string_view expected_meter,
                                         size_t max_readings) {
  if (!expected_meter.empty() && !IsValidMeterId(expected_meter))
    return InvalidArgument("expected meter '" + Printable(expected_meter, 64) + "' is not a meter id");
  ParsedReadings out;
  ReadingsSax sax(expected_meter, max_readings, &out);
  bool ok = json::sax_parse(body.data(), body.data() + body.size(), &sax);
  if (!ok || sax.stop() != ReadingsSax::Stop::kNone) {
    switch (sax.stop()) {
      case ReadingsSax::Stop::kTooMany:
        return ResourceExhausted("more than " + std::to_string(max_readings) + " readings in one message");
      case ReadingsSax::Stop::kNotReadings:
        return InvalidArgument(sax.stop_message());
      case ReadingsSax::Stop::kSyntax:
        return InvalidArgument("malformed JSON at byte offset " + std::to_string(sax.error_offset()) + ": " +
                               sax.stop_message());
      case ReadingsSax::Stop::kNone:
        return InvalidArgument("malformed JSON");
    }
  }
  return out;
}

std::string ReadingToJson(const Reading& r) {
  constexpr auto kReplace = json::error_handler_t::replace;
  std::string s = "{\"meter\":";
  s += json(r.meter_id).dump(-1, ' ', false, kReplace);
  s += ",\"ts\":\"";
  s += FormatIsoUtc(r.ts);
  s += "\",\"value\":";
  if (r.value && std::isfinite(*r.value)) {
    s += json(*r.value).dump();
  } else if (!r.raw_value.empty()) {
    s += json(r.raw_value).dump(-1, ' ', false, kReplace);
  } else {
    s += "null";
  }
  if (!r.channel.empty()) s += ",\"channel\":" + json(r.channel).dump(-1, ' ', false, kReplace);
  s += '}';
  return s;
}

}  // namespace mh::codec
