#include "water/procedure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mh::water {

double TestDrawLitres(const ProcedureOptions& o) { return static_cast<double>(o.min_units) * o.unit_m3 * 1000.0; }

int TestDrawMinutes(const ProcedureOptions& o) {
  const double minutes = TestDrawLitres(o) / 1000.0 / o.tap_m3_per_h * 60.0;
  return std::max(1, static_cast<int>(std::ceil(minutes - 1e-9)));
}

std::string ParametersSummary(const meter::water::Correction& c) {
  char buf[160];
  if (c.model == meter::water::Correction::kPower) {
    std::snprintf(buf, sizeof buf, "a curved error, q'=%.3g*q^%.3g%+.3g", c.a, c.b, c.c);
    return buf;
  }
  const double pct = (c.a1 - 1.0) * 100.0;
  std::snprintf(buf, sizeof buf, "read %.1f%% %s %+.3f m3/h", std::abs(pct), pct >= 0 ? "high" : "low", c.a2);
  return buf;
}

SelfCheckNotice SelfCheckNoticeFor(const std::string& terminal_id, const meter::water::Correction& c,
                                   const ProcedureOptions& o) {
  std::string url = o.upload_url;
  for (size_t at; (at = url.find("{terminal}")) != std::string::npos;) url.replace(at, 10, terminal_id);
  std::string send;
  if (!url.empty() && !o.reply_to.empty()) send = "Upload both at " + url + " or send them to " + o.reply_to + ".";
  else if (!url.empty()) send = "Upload both at " + url + ".";
  else if (!o.reply_to.empty()) send = "Send both to " + o.reply_to + ".";
  else send = "Reply with both.";
  char draw[96];
  std::snprintf(draw, sizeof draw, "%.0f L (about %d min)", TestDrawLitres(o), TestDrawMinutes(o));
  SelfCheckNotice n;
  // Short enough for three SMS segments (the SMS channel's 480 characters) with an 80-character link.
  n.text = "Meter " + terminal_id + " self-check. New parameters: " + ParametersSummary(c) + ". 1) Please pause water use for " +
           std::to_string(o.pause_minutes) + " min while the meter resets. 2) With all taps closed, "
           "photograph the counter. 3) Open one tap until the counter has advanced " + draw + ", then close it. "
           "4) Photograph the counter again (or a short video). " + send +
           " We compare them with the reference flowmeter.";
  n.procedure = {{"pause_minutes", o.pause_minutes},
                 {"test_draw_litres", TestDrawLitres(o)},
                 {"test_draw_minutes", TestDrawMinutes(o)},
                 {"upload_url", url},
                 {"reply_to", o.reply_to},
                 {"parameters_summary", ParametersSummary(c)}};
  return n;
}

}  // namespace mh::water
