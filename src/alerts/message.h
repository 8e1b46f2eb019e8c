// What an abnormal-consumption alert says (SPEC 1.2: meter, current reading, period consumption,
// T1 and the excess over it), as a short text for SMS / e-mail and as JSON for webhooks.
// The JSON is what a delivery stores as its content; the dispatcher rebuilds the text from it.
#pragma once

#include <string>

#include "alerts/channel.h"
#include "store/records.h"

namespace mh::alerts {

// The alert as a message; `address` is left empty (the terminal's, filled per delivery).
// unit: "kWh" or "m³" (see UnitForKind). JSON:
// {"type":"abnormal_consumption","alert_id":7,"meter":"M1","unit":"kWh","reading":203.0,
//  "period_start":"2020-10-28T16:00:00Z","period_consumption":12.5,"estimated_consumption":0.0,
//  "threshold":10.0,"excess":2.5,"timestamp":"2020-10-29T15:00:00Z"}
// estimated_consumption: the part of period_consumption from estimated intervals (0 when none).
// Numbers are rounded to 6 decimals so float noise (2.3000000000000007) never reaches a customer.
Message FormatAlert(const store::AlertRecord& alert, const std::string& unit);

// The message of a stored delivery content: FormatAlert's JSON gives back FormatAlert's subject
// and text; any other content is passed on as it is (text = content), so nothing is ever lost.
// `alert_id` (the delivery's) fills in an alert JSON whose alert_id is still 0.
Message MessageFromContent(const std::string& content, int64_t alert_id = 0);

// "kWh" for "electricity", "m³" for "water", "" otherwise (MeterInfo::kind).
std::string UnitForKind(const std::string& kind);

}  // namespace mh::alerts
