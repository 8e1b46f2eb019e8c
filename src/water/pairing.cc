#include "water/pairing.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>

#include "core/meter_id.h"
#include "crypto/crypto.h"

namespace mh::water {

std::string FeatureCodeOf(std::string_view terminal_id) {
  const crypto::Digest d = crypto::Sha256(terminal_id);
  return crypto::HexEncode(d).substr(0, 16);
}

bool IsValidFeatureCode(std::string_view code) {
  if (code.size() != 16) return false;
  return std::all_of(code.begin(), code.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsValidPhone(std::string_view phone) {
  if (!phone.empty() && phone.front() == '+') phone.remove_prefix(1);
  if (phone.size() < 6 || phone.size() > 15) return false;
  return std::all_of(phone.begin(), phone.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status PairingTable::Add(const std::string& terminal_id, const std::string& flowmeter_id, const std::string& phone) {
  if (!IsValidMeterId(terminal_id)) return InvalidArgument("terminal id '" + terminal_id + "' is not 1-32 chars [A-Za-z0-9_-]");
  if (!IsValidMeterId(flowmeter_id)) return InvalidArgument("flowmeter id '" + flowmeter_id + "' is not 1-32 chars [A-Za-z0-9_-]");
  if (terminal_id == flowmeter_id) return InvalidArgument("terminal and flowmeter share the id '" + terminal_id + "'");
  if (!phone.empty() && !IsValidPhone(phone)) return InvalidArgument("phone '" + phone + "' is not +digits (6-15)");
  if (code_by_terminal_.count(terminal_id) || code_by_flowmeter_.count(terminal_id)) {
    return AlreadyExists("terminal " + terminal_id + " is already paired");
  }
  if (code_by_flowmeter_.count(flowmeter_id) || code_by_terminal_.count(flowmeter_id)) {
    return AlreadyExists("flowmeter " + flowmeter_id + " is already paired");
  }
  std::string code = FeatureCodeOf(terminal_id);
  if (by_code_.count(code)) return AlreadyExists("feature code " + code + " of " + terminal_id + " collides");
  code_by_terminal_[terminal_id] = code;
  code_by_flowmeter_[flowmeter_id] = code;
  by_code_[code] = PairingEntry{code, terminal_id, flowmeter_id, phone};
  return Status::Ok();
}

Status PairingTable::BindPhone(const std::string& terminal_id, const std::string& phone) {
  auto it = code_by_terminal_.find(terminal_id);
  if (it == code_by_terminal_.end()) return NotFound("terminal " + terminal_id + " is not paired");
  if (!phone.empty() && !IsValidPhone(phone)) return InvalidArgument("phone '" + phone + "' is not +digits (6-15)");
  by_code_[it->second].phone = phone;
  return Status::Ok();
}

const PairingEntry* PairingTable::ByFeatureCode(std::string_view code) const {
  auto it = by_code_.find(code);
  return it == by_code_.end() ? nullptr : &it->second;
}
const PairingEntry* PairingTable::ByTerminal(std::string_view id) const {
  auto it = code_by_terminal_.find(id);
  return it == code_by_terminal_.end() ? nullptr : ByFeatureCode(it->second);
}
const PairingEntry* PairingTable::ByFlowmeter(std::string_view id) const {
  auto it = code_by_flowmeter_.find(id);
  return it == code_by_flowmeter_.end() ? nullptr : ByFeatureCode(it->second);
}

std::vector<FlowPair> MatchSamples(const std::map<int64_t, double>& flowmeter, const std::map<int64_t, double>& terminal,
                                   int64_t tolerance_s, std::vector<int64_t>* flowmeter_used) {
  std::vector<FlowPair> out;
  auto next = flowmeter.begin();  // the first flowmeter sample not yet used nor passed
  for (const auto& [t, q2] : terminal) {
    while (next != flowmeter.end() && next->first < t - tolerance_s) ++next;
    if (next == flowmeter.end()) break;
    auto best = next;
    // A later sample nearer to t wins; the one passed over is then farther from every later t too.
    for (auto c = std::next(next); c != flowmeter.end() && c->first <= t + tolerance_s; ++c) {
      if (std::llabs(c->first - t) < std::llabs(best->first - t)) best = c;
    }
    if (std::llabs(best->first - t) > tolerance_s) continue;
    out.push_back({t, best->second, q2});
    if (flowmeter_used != nullptr) flowmeter_used->push_back(best->first);
    next = std::next(best);
  }
  return out;
}

PairingResult PairFrames(const PairingTable& table, const std::vector<codec::WaterFrame>& frames, int64_t tolerance_s) {
  PairingResult out;
  // feature code → instant → (flow, seen); kept per device kind.
  std::map<std::string, std::map<int64_t, double>> flow[2];
  std::map<std::string, int64_t> interval;  // the terminal's sample interval, by feature code
  for (size_t i = 0; i < frames.size(); ++i) {
    const codec::WaterFrame& f = frames[i];
    const std::string where = "frame " + std::to_string(i) + " (" + codec::WaterDeviceKindName(f.kind) + " " + f.device_id + ")";
    const PairingEntry* e = table.ByFeatureCode(f.feature_code);
    if (e == nullptr) {
      out.rejected_frames.push_back(where + ": feature code " + f.feature_code + " is not in the pairing table");
      continue;
    }
    const bool is_flowmeter = f.kind == codec::WaterDeviceKind::kFlowmeter;
    const std::string& want = is_flowmeter ? e->flowmeter_id : e->terminal_id;
    if (f.device_id != want) {
      out.rejected_frames.push_back(where + ": feature code " + f.feature_code + " pairs " +
                                    (is_flowmeter ? "flowmeter " : "terminal ") + want);
      continue;
    }
    auto& series = flow[is_flowmeter ? 0 : 1][f.feature_code];
    if (!is_flowmeter) interval[f.feature_code] = f.interval_s;
    for (size_t k = 0; k < f.samples.size(); ++k) {
      auto q = f.FlowAt(k);
      if (!q) {
        ++out.missing;
        continue;
      }
      const int64_t t = f.start + static_cast<int64_t>(k) * f.interval_s;
      auto [it, inserted] = series.emplace(t, *q);
      if (!inserted && it->second != *q) ++out.conflicts;
    }
  }
  for (auto& [code, fm] : flow[0]) {
    auto tit = flow[1].find(code);
    if (tit == flow[1].end()) {
      out.unmatched_flowmeter += fm.size();
      continue;
    }
    auto& tm = tit->second;
    std::vector<FlowPair>& pairs = out.pairs[code];
    pairs = MatchSamples(fm, tm, PairTolerance(tolerance_s, interval[code]));
    out.unmatched_flowmeter += fm.size() - pairs.size();
    out.unmatched_terminal += tm.size() - pairs.size();
    if (pairs.empty()) out.pairs.erase(code);
  }
  for (auto& [code, tm] : flow[1]) {
    if (!flow[0].count(code)) out.unmatched_terminal += tm.size();
  }
  return out;
}

std::map<int64_t, std::vector<FlowPair>> SplitWindows(const std::vector<FlowPair>& pairs, int64_t window_s) {
  std::map<int64_t, std::vector<FlowPair>> out;
  for (const FlowPair& p : pairs) out[WindowStart(p.t, window_s)].push_back(p);
  return out;
}

}  // namespace mh::water
