#include "meter/audit/dynamic_segment.h"

#include <cctype>
#include <charconv>

#include "meter/audit/fixed_segment.h"

#include "meter/audit/text.h"

namespace mh::meter::audit {
namespace {

constexpr std::string_view kHeader = "mh-dynamic 1";

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "key=value" → value, or an error naming the expected key.
Result<std::string_view> Field(std::string_view word, std::string_view key, const std::string& where) {
  if (word.size() <= key.size() || word.substr(0, key.size()) != key || word[key.size()] != '=') {
    return InvalidArgument(where + ": expected '" + std::string(key) + "=...', got '" + std::string(word) + "'");
  }
  return word.substr(key.size() + 1);
}

Result<int64_t> IntField(std::string_view word, std::string_view key, const std::string& where, int64_t min, int64_t max) {
  MH_ASSIGN_OR_RETURN(std::string_view v, Field(word, key, where));
  int64_t x = 0;
  if (!ParseInt(v, &x) || x < min || x > max) {
    return InvalidArgument(where + ": " + std::string(key) + " '" + std::string(v) + "' is not an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return x;
}

std::string Slot(int64_t v, bool label, char mark) { return (label ? std::string(1, mark) : "") + std::to_string(v); }

// "[S0,3600]", "[7200,10800]", "[18000,E28800]".
Result<SlotPair> ParsePair(std::string_view w, const std::string& where) {
  SlotPair p;
  const size_t comma = w.find(',');
  if (w.size() < 5 || w.front() != '[' || w.back() != ']' || comma == std::string_view::npos) {
    return InvalidArgument(where + ": slot pair '" + std::string(w) + "' is not [START,END]");
  }
  std::string_view a = w.substr(1, comma - 1), b = w.substr(comma + 1, w.size() - comma - 2);
  if (!a.empty() && a.front() == 'S') {
    p.start_label = true;
    a.remove_prefix(1);
  }
  if (!b.empty() && b.front() == 'E') {
    p.end_label = true;
    b.remove_prefix(1);
  }
  if (!ParseInt(a, &p.start) || !ParseInt(b, &p.end)) {
    return InvalidArgument(where + ": slot pair '" + std::string(w) + "' has a slot that is not whole seconds");
  }
  return p;
}

}  // namespace

const WindowLine* DynamicSegment::LineOf(int window) const {
  for (const auto& l : lines) {
    if (l.window == window) return &l;
  }
  return nullptr;
}

std::string FormatWindowLine(const WindowLine& line) {
  std::string out = "W" + std::to_string(line.window) + " " + FormatDay(line.day) + " expect=" + std::to_string(line.expect);
  for (const auto& p : line.pairs) {
    out += " [" + Slot(p.start, p.start_label, 'S') + "," + Slot(p.end, p.end_label, 'E') + "]";
  }
  out += " #" + std::to_string(line.suffix);
  return out;
}

std::string FormatDynamicSegment(const DynamicSegment& s) {
  std::string out = std::string(kHeader) + "\n";
  out += "meter " + s.meter_id + "\n";
  out += "cycle " + FormatDay(s.cycle.first_day) + " D=" + std::to_string(s.cycle.d) + " tz=" +
         std::to_string(s.cycle.tz_offset_s) + " next=" + std::to_string(s.next_d) + " labels=" +
         std::to_string(s.start_labels) + "," + std::to_string(s.end_labels) + "\n";
  for (const auto& l : s.lines) out += FormatWindowLine(l) + "\n";
  return out;
}

Result<DynamicSegment> ParseDynamicSegment(std::string_view text, const std::string& name) {
  DynamicSegment s;
  const auto lines = SplitLines(text);
  if (lines.empty() || Trim(lines[0]) != kHeader) {
    return InvalidArgument(name + ":1: first line must be '" + std::string(kHeader) + "'");
  }
  bool have_meter = false, have_cycle = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string where = name + ":" + std::to_string(i + 1);
    std::string_view l = lines[i];
    if (size_t semi = l.find(';'); semi != std::string_view::npos) l = l.substr(0, semi);
    const auto w = Words(Trim(l));
    if (w.empty()) continue;
    if (w[0] == "meter") {
      if (have_meter) return InvalidArgument(where + ": second 'meter' line");
      if (w.size() != 2 || w[1].size() > 32) return InvalidArgument(where + ": want 'meter ID'");
      for (char c : w[1]) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
          return InvalidArgument(where + ": meter id '" + std::string(w[1]) + "' has a character outside [A-Za-z0-9_-]");
        }
      }
      s.meter_id = std::string(w[1]);
      have_meter = true;
    } else if (w[0] == "cycle") {
      if (have_cycle) return InvalidArgument(where + ": second 'cycle' line");
      if (w.size() != 6) return InvalidArgument(where + ": want 'cycle YYYY-MM-DD D=N tz=S next=N labels=S1,S2'");
      auto day = ParseDay(std::string(w[1]));
      if (!day.ok()) return day.status().WithContext(where + ": cycle");
      s.cycle.first_day = *day;
      MH_ASSIGN_OR_RETURN(int64_t d, IntField(w[2], "D", where, 1, 366));
      MH_ASSIGN_OR_RETURN(int64_t tz, IntField(w[3], "tz", where, -14 * 3600, 14 * 3600));
      MH_ASSIGN_OR_RETURN(int64_t next, IntField(w[4], "next", where, 1, 366));
      MH_ASSIGN_OR_RETURN(std::string_view labels, Field(w[5], "labels", where));
      const size_t comma = labels.find(',');
      int64_t s1 = -1, s2 = -1;
      if (comma == std::string_view::npos || !ParseInt(labels.substr(0, comma), &s1) ||
          !ParseInt(labels.substr(comma + 1), &s2) || s1 < 0 || s2 < 0 || s1 > 1000000 || s2 > 1000000) {
        return InvalidArgument(where + ": labels '" + std::string(labels) + "' is not S1,S2");
      }
      s.cycle.d = static_cast<int>(d);
      s.cycle.tz_offset_s = static_cast<int32_t>(tz);
      s.next_d = static_cast<int>(next);
      s.start_labels = static_cast<int>(s1);
      s.end_labels = static_cast<int>(s2);
      have_cycle = true;
    } else if (w[0].size() >= 2 && w[0][0] == 'W') {
      if (!have_cycle) return InvalidArgument(where + ": a window line before the 'cycle' line");
      WindowLine line;
      int64_t index = 0;
      if (!ParseInt(w[0].substr(1), &index) || index < 1 || index > s.cycle.d) {
        return InvalidArgument(where + ": window '" + std::string(w[0]) + "' is not W1..W" + std::to_string(s.cycle.d));
      }
      line.window = static_cast<int>(index);
      if (s.LineOf(line.window)) return InvalidArgument(where + ": second line for window " + std::to_string(index));
      if (w.size() < 4) return InvalidArgument(where + ": want 'W<n> YYYY-MM-DD expect=N [pairs...] #N'");
      auto day = ParseDay(std::string(w[1]));
      if (!day.ok()) return day.status().WithContext(where);
      if (*day != s.cycle.DayOfWindow(line.window)) {
        return InvalidArgument(where + ": window " + std::to_string(index) + " is monitored on " +
                               FormatDay(s.cycle.DayOfWindow(line.window)) + ", not " + std::string(w[1]));
      }
      line.day = *day;
      MH_ASSIGN_OR_RETURN(int64_t expect, IntField(w[2], "expect", where, 0, 1000000));
      line.expect = static_cast<int>(expect);
      const std::string_view suffix = w.back();
      int64_t total = 0;
      if (suffix.size() < 2 || suffix[0] != '#' || !ParseInt(suffix.substr(1), &total) || total < 0 || total > 1000000) {
        return InvalidArgument(where + ": the line must end with the suffix '#<slot count>', got '" + std::string(suffix) + "'");
      }
      line.suffix = static_cast<int>(total);
      const int64_t length = WindowOf(line.window, s.cycle.d).length();
      int64_t previous_end = -1;
      for (size_t k = 3; k + 1 < w.size(); ++k) {
        MH_ASSIGN_OR_RETURN(SlotPair p, ParsePair(w[k], where));
        const std::string pw = where + ": slot pair " + std::to_string(k - 2);
        if (p.start < 0 || p.end > length || p.start > p.end) {
          return InvalidArgument(pw + " '" + std::string(w[k]) + "' is not within 0 <= start <= end <= " + std::to_string(length));
        }
        if (p.start < previous_end) return InvalidArgument(pw + " overlaps or precedes the previous pair");
        if (p.start_label && p.start != 0) return InvalidArgument(pw + ": a start label only at slot 0 (the window start)");
        if (p.end_label && p.end != length) {
          return InvalidArgument(pw + ": an end label only at slot " + std::to_string(length) + " (the window end)");
        }
        previous_end = p.end;
        line.pairs.push_back(p);
      }
      s.lines.push_back(std::move(line));
    } else {
      return InvalidArgument(where + ": unknown line '" + std::string(w[0]) + "' (want meter, cycle or W<n>)");
    }
  }
  if (!have_meter) return InvalidArgument(name + ": no 'meter' line");
  if (!have_cycle) return InvalidArgument(name + ": no 'cycle' line");
  return s;
}

}  // namespace mh::meter::audit
