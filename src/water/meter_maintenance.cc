#include "water/meter_maintenance.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace mh::water {

using json = nlohmann::json;

void MeterMaintenance::Absorb() {
  if (!case_) return;
  const auto& h = case_->history();
  for (; case_absorbed_ < h.size(); ++case_absorbed_) log_.push_back(h[case_absorbed_]);
}

void MeterMaintenance::Record(int64_t at, const std::string& event, const std::string& detail) {
  Absorb();  // the case's records first: the log keeps the order things happened in
  log_.push_back({at, entry_.feature_code, event, detail});
}

void MeterMaintenance::OnWindow(int64_t window_start, const std::vector<FlowPair>& pairs, int64_t now,
                                CaseOutputs* out) {
  std::vector<FlowPair> raw = pairs;
  for (FlowPair& p : raw) p.q2 = (p.t < applied_since_ ? previous_ : applied_).Forward(p.q2);

  if (awaiting_visit()) return;
  if (!case_ || case_->final()) {
    const WindowCheck check = CheckWindow(window_start, pairs, raw, precheck_);
    const Verdict v = check.reported.verdict;
    if (v != Verdict::kSteady && v != Verdict::kUnsteady) return;
    ++revision_;
    Absorb();
    auto opened = MaintenanceCase::Open(entry_, ++cases_, check, now, options_, out);
    if (!opened.ok()) return;
    case_.emplace(std::move(*opened));
    case_absorbed_ = 0;
    raw_since_detection_ = raw;
    verify_.clear();
    Absorb();
    return;
  }

  ++revision_;
  raw_since_detection_.insert(raw_since_detection_.end(), raw.begin(), raw.end());
  if (raw_since_detection_.size() > kMaxPooledPairs) {
    raw_since_detection_.erase(raw_since_detection_.begin(), raw_since_detection_.end() - kMaxPooledPairs);
  }
  if (case_->state() == MaintenanceCase::State::kFitPending) {
    // Judge and fit every window since detection at once: what the terminal reports now (no new
    // correction was sent) against its raw flow.
    std::vector<FlowPair> reported = raw_since_detection_;
    for (FlowPair& p : reported) p.q2 = applied_.Inverse(p.q2);
    (void)case_->OnWindow(CheckWindow(window_start, reported, raw_since_detection_, precheck_), now, out);
    Absorb();
    return;
  }
  if (case_->state() != MaintenanceCase::State::kAcknowledged) {
    (void)case_->OnWindow(CheckWindow(window_start, pairs, raw, precheck_), now, out);
    Absorb();
    return;
  }
  // Only samples taken under the acknowledged correction can verify it.
  for (const FlowPair& p : pairs) {
    if (p.t >= applied_since_) verify_.push_back(p);
  }
  // A meter that never sees flow would pool forever: keep the most recent kMaxPooledPairs.
  if (verify_.size() > kMaxPooledPairs) verify_.erase(verify_.begin(), verify_.end() - kMaxPooledPairs);
  WindowCheck check = CheckWindow(window_start, verify_, raw_since_detection_, precheck_);
  check.window_start = std::max(window_start, applied_since_);
  const bool conclusive = check.reported.verdict == Verdict::kSteady || check.reported.verdict == Verdict::kUnsteady ||
                          check.flowing_pairs >= options_.min_flowing_pairs;
  (void)case_->OnWindow(check, now, out);  // inconclusive: recorded as window_ignored, pairs kept for the next one
  if (conclusive) verify_.clear();
  Absorb();
}

namespace {
Status AckGuard(const std::optional<MaintenanceCase>& c, const MaintenanceAck& ack) {
  if (!c) return FailedPrecondition("ack " + ack.command_id + ": no maintenance case");
  return Status::Ok();
}
}  // namespace

Status MeterMaintenance::OnAck(const MaintenanceAck& ack, int64_t now, CaseOutputs* out) {
  MH_RETURN_IF_ERROR(AckGuard(case_, ack));
  ++revision_;
  Status s = case_->OnAck(ack, now, out);
  Absorb();
  MH_RETURN_IF_ERROR(s);
  previous_ = applied_;
  applied_ = case_->applied();
  applied_since_ = ack.applied_at;
  verify_.clear();
  return Status::Ok();
}

std::string MeterMaintenance::OnPhoto(bool within, const Correction& corrected, const std::string& what, int64_t now,
                                      CaseOutputs* out) {
  if (!case_ || case_->final()) return "";
  ++revision_;
  std::string decision = case_->OnPhoto(within, corrected, what, now, out);
  Absorb();
  return decision;
}

bool MeterMaintenance::awaiting_visit() const {
  return case_ && case_->state() == MaintenanceCase::State::kWorkOrder;
}

void MeterMaintenance::OnSiteVisitDone(int64_t now, const Correction& terminal_correction) {
  ++revision_;
  Record(now, "site_visit_done", terminal_correction.ToString());
  case_.reset();
  case_absorbed_ = 0;
  previous_ = applied_ = terminal_correction;
  applied_since_ = now;
  raw_since_detection_.clear();
  verify_.clear();
}

void MeterMaintenance::OnExternalCorrection(int64_t at, const Correction& correction, const std::string& detail,
                                            const std::string& event) {
  ++revision_;
  Record(at, event, detail + (detail.empty() ? "" : ": ") + correction.ToString());
  previous_ = applied_;
  applied_ = correction;
  applied_since_ = at;
  verify_.clear();
}

void MeterMaintenance::OnTick(int64_t now, CaseOutputs* out) {
  if (!case_) return;
  const size_t before = case_->history().size();
  case_->OnTick(now, out);
  if (case_->history().size() != before) ++revision_;  // every transition is recorded
  Absorb();
}

// ---- persistence ----

namespace {

json CorrectionToJson(const Correction& c) {
  if (c.model == Correction::kPower) return {{"model", "power"}, {"a", c.a}, {"b", c.b}, {"c", c.c}};
  return {{"model", "linear"}, {"a1", c.a1}, {"a2", c.a2}};
}

Correction CorrectionFromJson(const json& j) {
  if (j.at("model").get<std::string>() == "power") {
    return Correction::Power(j.at("a").get<double>(), j.at("b").get<double>(), j.at("c").get<double>());
  }
  return Correction::Linear(j.at("a1").get<double>(), j.at("a2").get<double>());
}

// Pairs as one flat array t, q1, q2, t, q1, q2, ... (a case can pool two weeks of minutes).
json PairsToJson(const std::vector<FlowPair>& pairs) {
  json a = json::array();
  for (const FlowPair& p : pairs) {
    a.push_back(p.t);
    a.push_back(p.q1);
    a.push_back(p.q2);
  }
  return a;
}

std::vector<FlowPair> PairsFromJson(const json& a) {
  if (!a.is_array() || a.size() % 3 != 0) throw std::invalid_argument("pairs: not an array of (t, q1, q2) triples");
  std::vector<FlowPair> out;
  out.reserve(a.size() / 3);
  for (size_t i = 0; i < a.size(); i += 3) out.push_back({a[i].get<int64_t>(), a[i + 1].get<double>(), a[i + 2].get<double>()});
  return out;
}

constexpr MaintenanceCase::State kStates[] = {MaintenanceCase::State::kCommandIssued, MaintenanceCase::State::kAcknowledged,
                                              MaintenanceCase::State::kClosed, MaintenanceCase::State::kWorkOrder,
                                              MaintenanceCase::State::kFitPending};

}  // namespace

std::string MeterMaintenance::SaveState() const {
  json j = {{"version", 1},
            {"applied", CorrectionToJson(applied_)},
            {"previous", CorrectionToJson(previous_)},
            {"applied_since", applied_since_},
            {"cases", cases_},
            {"raw_since_detection", PairsToJson(raw_since_detection_)},
            {"verify", PairsToJson(verify_)},
            {"case", nullptr}};
  if (case_) {
    const MaintenanceCase& c = *case_;
    j["case"] = {{"number", c.case_number_},
                 {"state", CaseStateName(c.state_)},
                 {"command",
                  {{"command_id", c.command_.command_id},
                   {"feature_code", c.command_.feature_code},
                   {"issued_at", c.command_.issued_at},
                   {"expires_at", c.command_.expires_at},
                   {"correction", CorrectionToJson(c.command_.correction)}}},
                 {"attempt", c.attempt_},
                 {"retries", c.retries_},
                 {"refits", c.refits_},
                 {"deferrals", c.deferrals_},
                 {"acked_at", c.acked_at_},
                 {"applied", CorrectionToJson(c.applied_)}};
  }
  return j.dump();
}

Status MeterMaintenance::RestoreState(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("maintenance state: not a JSON object");
  try {
    if (j.at("version").get<int>() != 1) return InvalidArgument("maintenance state: unknown version " + j["version"].dump());
    Correction applied = CorrectionFromJson(j.at("applied"));
    Correction previous = CorrectionFromJson(j.at("previous"));
    std::vector<FlowPair> raw = PairsFromJson(j.at("raw_since_detection"));
    std::vector<FlowPair> verify = PairsFromJson(j.at("verify"));
    std::optional<MaintenanceCase> restored;
    if (const json& c = j.at("case"); !c.is_null()) {
      MaintenanceCase mc(entry_, c.at("number").get<int>(), options_);
      const std::string state = c.at("state").get<std::string>();
      bool known = false;
      for (MaintenanceCase::State s : kStates) {
        if (state == CaseStateName(s)) {
          mc.state_ = s;
          known = true;
        }
      }
      if (!known) return InvalidArgument("maintenance state: case.state '" + state + "' is not a case state");
      const json& cmd = c.at("command");
      mc.command_.command_id = cmd.at("command_id").get<std::string>();
      mc.command_.feature_code = cmd.at("feature_code").get<std::string>();
      mc.command_.issued_at = cmd.at("issued_at").get<int64_t>();
      mc.command_.expires_at = cmd.at("expires_at").get<int64_t>();
      mc.command_.correction = CorrectionFromJson(cmd.at("correction"));
      mc.attempt_ = c.at("attempt").get<int>();
      mc.retries_ = c.at("retries").get<int>();
      mc.refits_ = c.at("refits").get<int>();
      mc.deferrals_ = c.at("deferrals").get<int>();
      mc.acked_at_ = c.at("acked_at").get<int64_t>();
      mc.applied_ = CorrectionFromJson(c.at("applied"));
      restored.emplace(std::move(mc));
    }
    applied_ = applied;
    previous_ = previous;
    applied_since_ = j.at("applied_since").get<int64_t>();
    cases_ = j.at("cases").get<int>();
    raw_since_detection_ = std::move(raw);
    verify_ = std::move(verify);
    case_ = std::move(restored);
    case_absorbed_ = 0;
    ++revision_;
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("maintenance state: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace mh::water
