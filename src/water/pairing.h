// Pairing of seed 001 (claims 5, 6, 8; SPEC 3.2): the preset table feature code → terminal →
// flowmeter and terminal → customer phone, and the matching of decoded flow frames into
// (q1 flowmeter, q2 terminal) pairs by feature code and timestamp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "codec/water_frame.h"

namespace mh::water {

// SPEC 0.1: the first 16 hex chars (lowercase) of SHA-256 of the terminal id.
std::string FeatureCodeOf(std::string_view terminal_id);
bool IsValidFeatureCode(std::string_view code);
// A phone number as the SMS gateway takes it: optional '+', then 6–15 digits.
bool IsValidPhone(std::string_view phone);

struct PairingEntry {
  std::string feature_code;   // derived from terminal_id
  std::string terminal_id;
  std::string flowmeter_id;
  std::string phone;          // the bound user terminal (claim 8); may be empty (no customer app)
};

class PairingTable {
 public:
  // Registers a terminal with its flowmeter and phone. Ids follow SPEC 0.1; a terminal, a flowmeter
  // or a feature code can appear once (one flowmeter per terminal, seed 001).
  Status Add(const std::string& terminal_id, const std::string& flowmeter_id, const std::string& phone);
  // Rebinds the customer's phone (a new customer moved in).
  Status BindPhone(const std::string& terminal_id, const std::string& phone);

  const PairingEntry* ByFeatureCode(std::string_view code) const;
  const PairingEntry* ByTerminal(std::string_view terminal_id) const;
  const PairingEntry* ByFlowmeter(std::string_view flowmeter_id) const;
  size_t size() const { return by_code_.size(); }

 private:
  std::map<std::string, PairingEntry, std::less<>> by_code_;
  std::map<std::string, std::string, std::less<>> code_by_terminal_;
  std::map<std::string, std::string, std::less<>> code_by_flowmeter_;
};

// One instant measured by both devices (m³/h).
struct FlowPair {
  int64_t t = 0;
  double q1 = 0;  // flowmeter (reference)
  double q2 = 0;  // terminal
};

struct PairingResult {
  // Pairs per feature code, in time order.
  std::map<std::string, std::vector<FlowPair>> pairs;
  // Frames refused (unknown feature code, device not the one the table pairs, …), each naming the
  // frame's index and why; their samples are not used.
  std::vector<std::string> rejected_frames;
  uint64_t unmatched_flowmeter = 0;  // samples with no terminal sample at the same instant
  uint64_t unmatched_terminal = 0;
  uint64_t missing = 0;              // samples marked missing in a frame
  uint64_t conflicts = 0;            // the same device, instant given twice with different values
};

// Pair tolerance meaning "half the sample interval" (the default of water.pair_tolerance).
inline constexpr int64_t kHalfInterval = -1;

// Matches two sample series (instant → m³/h) whose clocks may disagree: each terminal sample, in
// time order, pairs with the nearest not yet used flowmeter sample at most `tolerance_s` away (0 =
// identical instants only); the pair carries the terminal's instant. A device clock that runs
// ahead or behind by less than half the sample interval thus still pairs every sample, one to one.
// `flowmeter_used`, when given, receives the flowmeter instants paired (in pair order).
std::vector<FlowPair> MatchSamples(const std::map<int64_t, double>& flowmeter, const std::map<int64_t, double>& terminal,
                                   int64_t tolerance_s, std::vector<int64_t>* flowmeter_used = nullptr);
// The tolerance in force: `tolerance_s`, or half of `interval_s` for kHalfInterval.
inline int64_t PairTolerance(int64_t tolerance_s, int64_t interval_s) {
  return tolerance_s == kHalfInterval ? interval_s / 2 : tolerance_s;
}

// Matches the frames (any order, both kinds mixed) through the table. A flowmeter frame is used
// when its feature code is in the table and its device id is that entry's flowmeter (relayed or
// not); a terminal frame when its device id is that entry's terminal. Samples pair by MatchSamples
// within `tolerance_s` (kHalfInterval: half the terminal's sample interval; 0: identical instants).
PairingResult PairFrames(const PairingTable& table, const std::vector<codec::WaterFrame>& frames,
                         int64_t tolerance_s = kHalfInterval);

// Window of a UTC instant: windows of `window_s` (a divisor of 86400) aligned to UTC midnight.
inline int64_t WindowStart(int64_t t, int64_t window_s) {
  int64_t q = t / window_s;
  if (t % window_s < 0) --q;
  return q * window_s;
}
// Splits time-ordered pairs into windows (start → pairs).
std::map<int64_t, std::vector<FlowPair>> SplitWindows(const std::vector<FlowPair>& pairs, int64_t window_s);

}  // namespace mh::water
