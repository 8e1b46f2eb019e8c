#include "water/procedure.h"

#include <gtest/gtest.h>

namespace mh::water {
namespace {

using meter::water::Correction;

TEST(Procedure, TheNoticeSaysPauseStartPhotoTestDrawEndPhotoAndWhereToSend) {
  ProcedureOptions o;
  o.upload_url = "https://meters.example.com/water/{terminal}/photos";
  const SelfCheckNotice n = SelfCheckNoticeFor("WT-0001", Correction::Linear(1.04, 0.008), o);
  EXPECT_EQ(n.text,
            "Meter WT-0001 self-check. New parameters: read 4.0% high +0.008 m3/h. 1) Please pause water use for 15 min "
            "while the meter resets. 2) With all taps closed, photograph the counter. 3) Open one tap "
            "until the counter has advanced 100 L (about 10 min), then close it. 4) Photograph the counter again (or a "
            "short video). Upload both at https://meters.example.com/water/WT-0001/photos. We compare them with the "
            "reference flowmeter.");
  EXPECT_EQ(n.procedure["test_draw_litres"], 100.0);
  EXPECT_EQ(n.procedure["test_draw_minutes"], 10);
  EXPECT_EQ(n.procedure["upload_url"], "https://meters.example.com/water/WT-0001/photos");
  // Three SMS segments (the SMS channel cuts at 480 characters) hold it with an 80-character link.
  o.upload_url = "https://" + std::string(64, 'x') + "/{terminal}";
  EXPECT_LE(SelfCheckNoticeFor("WT-0001", Correction::Power(1.5, 1.25, -0.125), o).text.size(), 480u);
}

TEST(Procedure, ReplyAddressAndDrawFollowTheOptions) {
  ProcedureOptions o;
  o.reply_to = "photos@water.example.com";
  o.min_units = 50;
  o.unit_m3 = 0.0001;  // a 0.1 L last drum: 5 litres, one minute
  const SelfCheckNotice n = SelfCheckNoticeFor("WT-2", Correction::Linear(0.97, -0.01), o);
  EXPECT_NE(n.text.find("New parameters: read 3.0% low -0.010 m3/h. 1)"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("advanced 5 L (about 1 min)"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("Send both to photos@water.example.com."), std::string::npos) << n.text;
  o.reply_to.clear();
  EXPECT_NE(SelfCheckNoticeFor("WT-2", Correction::Identity(), o).text.find("Reply with both."), std::string::npos);
}

}  // namespace
}  // namespace mh::water
