// The customer's part of the remote self-check, written out as a procedure (SPEC 3.5–3.6). SPEC
// 3.5 asks the customer to pause water use while the terminal maintains itself; the photo
// comparison of 3.6 needs water to flow. Both hold in sequence:
//   1. pause: no water is used while the terminal resets and applies its correction;
//   2. start photo of the counter, every tap still closed;
//   3. a guided test draw: one tap opened until the counter has advanced by a stated volume
//      (photo_min_units steps of the last drum; about `minutes` at a fully open tap), then closed;
//   4. end photo (or a few seconds of video) of the counter, the tap closed again.
// The platform compares the register's advance between the two photos with the reference
// flowmeter's volume over the same span; with no flow at either end, the flowmeter's one-minute
// samples cover the span exactly. The notice the phone gets says this, with the new parameters'
// summary and where to send the photos.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "meter/water/correction.h"

namespace mh::water {

struct ProcedureOptions {
  double unit_m3 = 0.001;        // one step of the register's last drum (water.photo_unit_m3)
  int64_t min_units = 100;       // steps a span must cover (water.photo_min_units)
  int pause_minutes = 15;        // step 1
  double tap_m3_per_h = 0.6;     // a fully open kitchen tap (10 L/min): the draw's stated time
  std::string upload_url;        // water.upload_url; "{terminal}" is replaced by the terminal's id
  std::string reply_to;          // water.reply_to: where photos may be sent instead (MMS / e-mail)
};

// The test draw: its volume in litres and its time at a fully open tap, in whole minutes.
double TestDrawLitres(const ProcedureOptions& o);
int TestDrawMinutes(const ProcedureOptions& o);

// "read 4.0% high +0.008 m3/h": what the new parameters correct (the formula is in the notice's JSON).
std::string ParametersSummary(const meter::water::Correction& c);

// The phone notice of a command: its text and its JSON ("procedure" and "parameters" fields).
struct SelfCheckNotice {
  std::string text;
  nlohmann::json procedure;
};
SelfCheckNotice SelfCheckNoticeFor(const std::string& terminal_id, const meter::water::Correction& c,
                                   const ProcedureOptions& o);

}  // namespace mh::water
