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
  char buf[200];
  if (c.model == meter::water::Correction::kPower) {
    std::snprintf(buf, sizeof buf, "a curved error is corrected (q' = %.4g*q^%.4g + %.4g)", c.a, c.b, c.c);
    return buf;
  }
  const double pct = (c.a1 - 1.0) * 100.0;
  std::snprintf(buf, sizeof buf, "the meter read %.1f %% %s%s%.3f m3/h (q' = %.4g*q %c %.4g)", std::abs(pct),
                pct >= 0 ? "high" : "low", c.a2 >= 0 ? " plus " : " minus ", std::abs(c.a2), c.a1, c.a2 >= 0 ? '+' : '-',
                std::abs(c.a2));
  return buf;
}

SelfCheckNotice SelfCheckNoticeFor(const std::string& terminal_id, const meter::water::Correction& c,
                                   const ProcedureOptions& o) {
  std::string url = o.upload_url;
  for (size_t at; (at = url.find("{terminal}")) != std::string::npos;) url.replace(at, 10, terminal_id);
  char draw[160];
  std::snprintf(draw, sizeof draw, "at least %.0f litres (%.3f m3, %lld steps of the last drum; about %d minute%s)",
                TestDrawLitres(o), TestDrawLitres(o) / 1000.0, static_cast<long long>(o.min_units), TestDrawMinutes(o),
                TestDrawMinutes(o) == 1 ? "" : "s");
  std::string send;
  if (!url.empty() && !o.reply_to.empty()) send = "Upload both at " + url + " or send them to " + o.reply_to + ".";
  else if (!url.empty()) send = "Upload both at " + url + ".";
  else if (!o.reply_to.empty()) send = "Send both to " + o.reply_to + ".";
  else send = "Reply to this message with both.";
  SelfCheckNotice n;
  n.text = "Your water meter " + terminal_id + " is running a remote self-check with new parameters: " +
           ParametersSummary(c) + ". 1) Please pause water use for " + std::to_string(o.pause_minutes) +
           " minutes while the meter resets and applies its correction. 2) Then, with every tap closed, take a photo "
           "of the meter's counter. 3) Open one tap fully until the counter has advanced by " + draw +
           ", then close it. 4) Take a second photo of the counter (a few seconds of video also work). " + send +
           " We compare the counter with the reference flowmeter over the same span.";
  n.procedure = {{"pause_minutes", o.pause_minutes},
                 {"test_draw_litres", TestDrawLitres(o)},
                 {"test_draw_minutes", TestDrawMinutes(o)},
                 {"upload_url", url},
                 {"reply_to", o.reply_to},
                 {"parameters_summary", ParametersSummary(c)}};
  return n;
}

}  // namespace mh::water
