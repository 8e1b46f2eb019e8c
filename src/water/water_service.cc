#include "water/water_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "codec/water_frame.h"
#include "core/time.h"
#include "water/operating_json.h"

namespace mh::water {

using json = nlohmann::json;

json CorrectionJson(const Correction& c) {
  if (c.model == Correction::kPower) return {{"model", "power"}, {"a", c.a}, {"b", c.b}, {"c", c.c}};
  return {{"model", "linear"}, {"a1", c.a1}, {"a2", c.a2}};
}

std::string CommandJson(const MaintenanceCommand& c) {
  json j = {{"type", c.keep_correction ? "water_parameters" : "water_maintenance"},
            {"command_id", c.command_id},
            {"feature_code", c.feature_code},
            {"issued_at", c.issued_at},
            {"expires_at", c.expires_at}};
  if (!c.keep_correction) j["parameters"] = CorrectionJson(c.correction);
  if (!c.operating.empty()) j["operating"] = OperatingChangeJson(c.operating);
  return j.dump();
}

Result<MaintenanceAck> ParseAckJson(std::string_view payload) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("water ack: not a JSON object");
  MaintenanceAck a;
  try {
    if (!j.contains("command_id") || !j["command_id"].is_string()) {
      return InvalidArgument("water ack: field 'command_id' (string) is required");
    }
    if (!j.contains("feature_code") || !j["feature_code"].is_string()) {
      return InvalidArgument("water ack: field 'feature_code' (string) is required");
    }
    if (!j.contains("applied_at") || !j["applied_at"].is_number_integer()) {
      return InvalidArgument("water ack: field 'applied_at' (epoch seconds) is required");
    }
    a.command_id = j["command_id"];
    a.feature_code = j["feature_code"];
    a.applied_at = j["applied_at"];
    for (const char* key : {"before", "after"}) {
      if (!j.contains(key)) continue;
      Result<OperatingParameters> p = ParseOperatingJson(j[key]);
      if (!p.ok()) return InvalidArgument(std::string("water ack: field '") + key + "': " + p.status().message());
      (std::string_view(key) == "before" ? a.before : a.after) = *p;
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("water ack: ") + e.what());
  }
  return a;
}

Result<Correction> ParseCorrectionJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("parameters: not a JSON object");
  Correction c;
  try {
    const std::string model = j.value("model", "linear");
    if (model == "power") {
      c = Correction::Power(j.at("a").get<double>(), j.at("b").get<double>(), j.at("c").get<double>());
    } else if (model == "linear") {
      c = Correction::Linear(j.at("a1").get<double>(), j.at("a2").get<double>());
    } else {
      return InvalidArgument("parameters: model must be linear or power, not '" + model + "'");
    }
  } catch (const json::exception&) {
    return InvalidArgument("parameters: linear needs numbers a1, a2; power needs numbers a, b, c");
  }
  MH_RETURN_IF_ERROR(c.Validate().WithContext("parameters"));
  return c;
}

namespace {

// The reason of a work order to calibrate a reference flowmeter (the order's kind, in its text).
constexpr char kCalibrationOrder[] = "calibrate reference flowmeter ";

bool IsCalibrationOrder(const store::WaterWorkOrderRecord& o) { return o.reason.rfind(kCalibrationOrder, 0) == 0; }

// "flowmeter FM-1" as a whole word in a history detail ("terminal WT-1, flowmeter FM-1, phone …").
bool NamesFlowmeter(const std::string& detail, const std::string& flowmeter_id) {
  const std::string word = "flowmeter " + flowmeter_id;
  const size_t at = detail.find(word);
  if (at == std::string::npos) return false;
  const size_t end = at + word.size();
  return end == detail.size() || detail[end] == ',' || detail[end] == ' ' || detail[end] == ':';
}

json MappingJson(const Mapping& m) {
  json j = {{"model", m.use_power ? "power" : "linear"},
            {"a1", m.linear.a1}, {"a2", m.linear.a2}, {"se_a1", m.linear.se_a1}, {"se_a2", m.linear.se_a2},
            {"r2", m.r2}, {"degenerate", m.linear.degenerate}};
  if (m.power) {
    j["power"] = {{"a", m.power->a}, {"b", m.power->b}, {"c", m.power->c}, {"se_a", m.power->se_a},
                  {"se_b", m.power->se_b}, {"se_c", m.power->se_c}, {"f", m.power_f}, {"gap", m.power_gap}};
  }
  j["correction"] = CorrectionJson(m.correction);
  return j;
}

}  // namespace

WaterService::WaterService(store::WaterStore* store, const Clock* clock, WaterServiceOptions options, PublishFn publish,
                           NotifyFn notify)
    : store_(store), clock_(clock), options_(std::move(options)), publish_(std::move(publish)), notify_(std::move(notify)) {}

Result<std::unique_ptr<WaterService>> WaterService::Create(store::WaterStore* store, const Clock* clock,
                                                           WaterServiceOptions options, PublishFn publish, NotifyFn notify) {
  if (options.window_s <= 0 || 86400 % options.window_s != 0) {
    return InvalidArgument("water window must divide a day (6h or 12h), not " + std::to_string(options.window_s) + " s");
  }
  std::unique_ptr<WaterService> s(new WaterService(store, clock, std::move(options), std::move(publish), std::move(notify)));
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterPairRecord> pairs, store->ListPairs());
  for (const auto& p : pairs) {
    MH_RETURN_IF_ERROR(s->table_.Add(p.terminal_id, p.flowmeter_id, p.phone).WithContext("stored water pair " + p.terminal_id));
  }
  MH_RETURN_IF_ERROR(s->Restore());
  s->notifier_ = std::thread([p = s.get()] { p->NotifyLoop(); });
  return s;
}

Status WaterService::Restore() {
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterPairRecord> pairs, store_->ListPairs());
  for (const auto& p : pairs) {
    const PairingEntry* e = table_.ByTerminal(p.terminal_id);
    if (e == nullptr) continue;
    Meter& m = MeterFor(*e);
    MH_ASSIGN_OR_RETURN(std::optional<store::WaterCaseStateRecord> state, store_->GetCaseState(e->feature_code));
    bool restored = false;
    if (state) {
      Status r = m.mm->RestoreState(state->state);
      if (r.ok()) {
        restored = true;
        m.saved_state = state->state;
        m.saved_revision = m.mm->revision();
      } else {
        spdlog::error("water: {}: stored maintenance state unusable, starting from the last acknowledged command: {}",
                      e->feature_code, r.ToString());
      }
    }
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterCommandRecord> commands, store_->ListCommands(e->feature_code));
    for (const auto& c : commands) {  // photo and engineer command ids stay unique
      m.photo_commands += c.source == "photo" ? 1 : 0;
      m.engineer_commands += c.source == "engineer" ? 1 : 0;
    }
    if (!restored) {
      // The correction in force: the last acknowledged command.
      for (const auto& c : commands) {
        if (c.status != "acknowledged") continue;
        auto corr = ParseCorrectionJson(json::parse(c.correction, nullptr, false));
        if (corr.ok()) m.mm->OnExternalCorrection(c.acked_at, *corr, c.command_id, "correction_restored");
      }
    }
    m.history_stored = m.mm->History().size();  // restoring is not a new event
    MH_RETURN_IF_ERROR(LoadCalibration(m));
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterPhotoRecord> photos, store_->ListPhotos(e->terminal_id));
    for (auto p = photos.rbegin(); p != photos.rend(); ++p) {
      if (p->value.empty()) continue;
      const json outcome = json::parse(p->outcome, nullptr, false);
      if (outcome.is_object() && outcome.value("decision", "") == "no_reference") m.pending_photo = *p;
      break;
    }
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterWindowRecord> last, store_->ListWindows(e->feature_code, 1));
    if (!last.empty()) m.checked_until = last.back().window_start + options_.window_s;
    // The samples of windows not yet checked, from the stored frames.
    MH_ASSIGN_OR_RETURN(std::vector<store::WaterFrameRecord> frames,
                        store_->ListFrames(e->feature_code, "", m.checked_until == INT64_MIN ? INT64_MIN : m.checked_until,
                                           INT64_MAX));
    for (const auto& rec : frames) {
      Result<codec::WaterFrame> f = codec::DecodeWaterFrame(rec.payload);
      if (!f.ok()) continue;
      AddSamples(m, *f);
    }
  }
  return Status::Ok();
}

void WaterService::AddSamples(Meter& m, const codec::WaterFrame& f) {
  const bool flowmeter = f.kind == codec::WaterDeviceKind::kFlowmeter;
  m.interval_s = f.interval_s;
  for (size_t i = 0; i < f.samples.size(); ++i) {
    std::optional<double> q = f.FlowAt(i);
    if (!q) continue;
    const int64_t t = f.start + static_cast<int64_t>(i) * f.interval_s;
    const int64_t ws = WindowStart(t, options_.window_s);
    if (ws < m.checked_until) {
      ++late_samples_;
      continue;
    }
    (flowmeter ? m.open[ws].flowmeter : m.open[ws].terminal)[t] = *q;
  }
  m.device_now = std::max(m.device_now, f.start + static_cast<int64_t>(f.samples.size()) * f.interval_s);
}

WaterService::~WaterService() {
  {
    std::lock_guard lock(notice_mu_);
    stopping_ = true;
  }
  notice_cv_.notify_all();
  if (notifier_.joinable()) notifier_.join();
}

int64_t WaterService::frames() const {
  std::lock_guard lock(mu_);
  return frames_;
}
int64_t WaterService::late_samples() const {
  std::lock_guard lock(mu_);
  return late_samples_;
}
int64_t WaterService::notices_sent() const {
  std::lock_guard lock(notice_mu_);
  return notices_sent_;
}

Status WaterService::PutPair(const std::string& terminal_id, const std::string& flowmeter_id, const std::string& phone) {
  std::lock_guard lock(mu_);
  // Validate against the table without this terminal (re-pairing replaces its row).
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterPairRecord> pairs, store_->ListPairs());
  PairingTable next;
  for (const auto& p : pairs) {
    if (p.terminal_id != terminal_id) MH_RETURN_IF_ERROR(next.Add(p.terminal_id, p.flowmeter_id, p.phone));
  }
  MH_RETURN_IF_ERROR(next.Add(terminal_id, flowmeter_id, phone));
  const PairingEntry entry = *next.ByTerminal(terminal_id);
  auto m = meters_.find(entry.feature_code);
  const bool fresh = m == meters_.end() || m->second.entry.flowmeter_id != flowmeter_id;
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(store_->PutPair({terminal_id, entry.feature_code, flowmeter_id, phone, clock_->NowSeconds()}));
    if (fresh) {
      // A new device pair starts a fresh maintenance state (also in the store).
      if (m != meters_.end()) meters_.erase(m);
      Meter& nm = MeterFor(entry);
      nm.calibrated_at = clock_->NowSeconds();  // a flowmeter is installed calibrated
      nm.saved_state.clear();
      nm.saved_revision = UINT64_MAX;
      MH_RETURN_IF_ERROR(SaveState(nm));
    } else {
      m->second.entry.phone = phone;
    }
    return History(entry.feature_code, clock_->NowSeconds(), "paired",
                   "terminal " + terminal_id + ", flowmeter " + flowmeter_id + (phone.empty() ? "" : ", phone " + phone));
  }));
  table_ = std::move(next);
  return Status::Ok();
}

Result<std::vector<store::WaterPairRecord>> WaterService::Pairs() { return store_->ListPairs(); }

WaterService::Meter& WaterService::MeterFor(const PairingEntry& entry) {
  auto it = meters_.find(entry.feature_code);
  if (it != meters_.end()) return it->second;
  Meter& m = meters_[entry.feature_code];
  m.entry = entry;
  m.mm = std::make_unique<MeterMaintenance>(entry, options_.precheck, options_.cases);
  return m;
}

Status WaterService::History(const std::string& feature_code, int64_t at, const std::string& event, const std::string& detail) {
  return store_->AppendHistory({0, feature_code, at, event, detail}).status();
}

Status WaterService::SyncHistory(Meter& m) {
  const std::vector<HistoryRecord>& h = m.mm->History();
  for (; m.history_stored < h.size(); ++m.history_stored) {
    const HistoryRecord& r = h[m.history_stored];
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, r.at, r.event, r.detail));
  }
  return Status::Ok();
}

Status WaterService::SaveState(Meter& m) {
  if (m.mm->revision() == m.saved_revision) return Status::Ok();
  std::string state = m.mm->SaveState();
  if (state != m.saved_state) MH_RETURN_IF_ERROR(store_->PutCaseState({m.entry.feature_code, state, m.device_now}));
  m.saved_state = std::move(state);
  m.saved_revision = m.mm->revision();
  return Status::Ok();
}

Status WaterService::Commit(const std::function<Status()>& body) {
  pending_commands_.clear();
  pending_notices_.clear();
  Status s = store_->Batch(body);
  if (!s.ok()) {
    // Nothing was stored: send nothing, and rewrite every meter's state at its next event.
    pending_commands_.clear();
    pending_notices_.clear();
    for (auto& [code, m] : meters_) {
      m.saved_state.clear();
      m.saved_revision = UINT64_MAX;
    }
    return s;
  }
  // Stored: now out. The outcome of each publish is one more (small) transaction.
  std::vector<PendingCommand> commands = std::move(pending_commands_);
  pending_commands_.clear();
  if (!commands.empty()) {
    std::vector<std::pair<PendingCommand, Status>> sent;
    for (PendingCommand& c : commands) {
      Status p = publish_ ? publish_(c.terminal_id, c.payload) : Status::Ok();
      sent.emplace_back(std::move(c), std::move(p));
    }
    // A publish failure is not fatal: the command expires and the case re-issues it.
    MH_RETURN_IF_ERROR(store_->Batch([&]() -> Status {
      for (const auto& [c, p] : sent) {
        MH_RETURN_IF_ERROR(History(c.feature_code, c.at, p.ok() ? "command_sent" : "command_send_failed",
                                   c.what + (p.ok() ? "" : ": " + p.ToString())));
      }
      return Status::Ok();
    }));
  }
  if (!pending_notices_.empty()) {
    {
      std::lock_guard lock(notice_mu_);
      for (Notice& n : pending_notices_) notices_.push_back(std::move(n));
    }
    pending_notices_.clear();
    notice_cv_.notify_one();
  }
  return Status::Ok();
}

Status WaterService::OnFrame(const std::string& device, std::string_view payload) {
  Result<codec::WaterFrame> decoded = codec::DecodeWaterFrame(payload);
  if (!decoded.ok()) return InvalidArgument("water frame: " + decoded.status().message());
  const codec::WaterFrame& f = *decoded;
  std::lock_guard lock(mu_);
  const PairingEntry* e = table_.ByFeatureCode(f.feature_code);
  if (e == nullptr) return InvalidArgument("water frame: unknown feature code '" + f.feature_code + "'");
  const bool flowmeter = f.kind == codec::WaterDeviceKind::kFlowmeter;
  const std::string& expected = flowmeter ? e->flowmeter_id : e->terminal_id;
  if (f.device_id != expected) {
    return InvalidArgument("water frame: " + std::string(codec::WaterDeviceKindName(f.kind)) + " '" + f.device_id +
                           "' is not the one paired with feature code " + f.feature_code + " ('" + expected + "')");
  }
  if (device != f.device_id && !(flowmeter && device == e->terminal_id)) {
    return InvalidArgument("water frame of '" + f.device_id + "' on the topic of '" + device +
                           "' (only a flowmeter's frame may be relayed, and only by its own terminal)");
  }
  const int64_t end = f.start + static_cast<int64_t>(f.samples.size()) * f.interval_s;
  // Durable before the acknowledgement: a store failure here is retried by the MQTT layer. The
  // frame and all it causes are one transaction.
  Meter& m = MeterFor(*e);
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(store_->AddFrame({0, f.feature_code, f.device_id, flowmeter ? "flowmeter" : "terminal",
                                         f.relayed || device != f.device_id, f.start, end, clock_->NowSeconds(),
                                         std::string(payload)}).status());
    AddSamples(m, f);
    MH_RETURN_IF_ERROR(CloseWindows(m, false));
    if (flowmeter && m.pending_photo) MH_RETURN_IF_ERROR(RetryPendingPhoto(m));
    return SaveState(m);
  }));
  ++frames_;
  return Status::Ok();
}

Status WaterService::CloseWindows(Meter& m, bool force_lost) {
  while (!m.open.empty()) {
    auto it = m.open.begin();
    const int64_t ws = it->first, we = ws + options_.window_s;
    const WindowBuf& buf = it->second;
    auto covered = [&](const std::map<int64_t, double>& s) { return !s.empty() && s.rbegin()->first >= we - m.interval_s; };
    const bool complete = covered(buf.terminal) && covered(buf.flowmeter);
    const bool lost = m.device_now >= we + options_.close_after_s || force_lost;
    if (!complete && !lost) break;
    WindowBuf done = std::move(it->second);
    m.open.erase(it);
    m.checked_until = we;
    MH_RETURN_IF_ERROR(CheckWindowNow(m, ws, done));
  }
  CaseOutputs out;
  m.mm->OnTick(m.device_now, &out);
  return Emit(m, out);
}

Status WaterService::CheckWindowNow(Meter& m, int64_t ws, const WindowBuf& buf) {
  const int64_t now = ws + options_.window_s;  // checked at the window's end, in device time
  const int64_t tolerance = PairTolerance(options_.pair_tolerance_s, m.interval_s);
  std::vector<int64_t> flowmeter_used;
  const std::vector<FlowPair> pairs = MatchSamples(buf.flowmeter, buf.terminal, tolerance, &flowmeter_used);
  if (tolerance > 0) CarryUnpaired(m, now, tolerance, buf, pairs, flowmeter_used);
  // The record: the verdict on what the terminal reported, the fit of its raw flow.
  const WindowCheck check = water::CheckWindow(ws, pairs, m.mm->applied(), options_.precheck);
  store::WaterWindowRecord w;
  w.feature_code = m.entry.feature_code;
  w.window_start = ws;
  w.window_s = options_.window_s;
  w.verdict = VerdictName(check.reported.verdict);
  w.form = check.reported.form != 0 ? std::string(1, check.reported.form) : "";
  w.pairs = check.reported.pairs;
  json params = {{"reported", MappingJson(check.reported.mapping)},
                 {"raw", MappingJson(check.raw_fit)},
                 {"share_form_a", check.reported.share_form_a},
                 {"share_within_tol", check.reported.share_within_tol},
                 {"rms_residual", check.reported.rms_residual},
                 {"max_excess", check.reported.max_excess},
                 {"flowing_pairs", check.flowing_pairs},
                 {"unmatched_terminal", static_cast<int64_t>(buf.terminal.size()) - static_cast<int64_t>(pairs.size())},
                 {"unmatched_flowmeter", static_cast<int64_t>(buf.flowmeter.size()) - static_cast<int64_t>(pairs.size())}};
  w.parameters = params.dump();
  w.reason = check.reported.reason;
  w.checked_at = now;
  MH_RETURN_IF_ERROR(store_->PutWindow(w));
  MH_RETURN_IF_ERROR(History(m.entry.feature_code, now, "window_checked",
                             "window " + std::to_string(ws) + ": " + w.verdict + (w.form.empty() ? "" : " form " + w.form) +
                                 ", " + std::to_string(w.pairs) + " pairs"));
  CaseOutputs out;
  m.mm->OnTick(now, &out);
  const bool trusted = options_.calibration_period_s <= 0 || now - m.calibrated_at <= options_.calibration_period_s;
  if (trusted) {
    m.mm->OnWindow(ws, pairs, now, &out);
  } else {
    // An uncalibrated reference cannot judge the terminal: nothing is commanded from this window.
    const std::string why = "reference flowmeter " + m.entry.flowmeter_id + " last calibrated " +
                            FormatIsoUtc(m.calibrated_at) + ", more than " +
                            std::to_string(options_.calibration_period_s / 86400) + " days before the window's end";
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, now, "window_untrusted", "window " + std::to_string(ws) + ": " + why));
    if (!m.calibration_order_open) {
      out.work_orders.push_back({m.entry.feature_code, m.entry.terminal_id, kCalibrationOrder + m.entry.flowmeter_id + " (" + why + ")", now});
      m.calibration_order_open = true;
    }
  }
  return Emit(m, out);
}

Status WaterService::LoadCalibration(Meter& m) {
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterHistoryRecord> history, store_->ListHistory(m.entry.feature_code));
  int64_t paired_at = 0, calibrated_at = 0;
  bool paired = false;  // the current flowmeter's pairing seen (a later one of another flowmeter resets it)
  for (const auto& r : history) {
    if (r.event == "paired") {
      const bool this_one = NamesFlowmeter(r.detail, m.entry.flowmeter_id);
      if (this_one && !paired) paired_at = r.at;
      paired = this_one;
    } else if (r.event == "flowmeter_calibrated" &&
               (r.detail == m.entry.flowmeter_id || r.detail.rfind(m.entry.flowmeter_id + ":", 0) == 0)) {
      calibrated_at = std::max(calibrated_at, r.at);
    }
  }
  m.calibrated_at = std::max(paired_at, calibrated_at);
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterWorkOrderRecord> open, store_->ListWorkOrders("open"));
  m.calibration_order_open = std::any_of(open.begin(), open.end(), [&](const store::WaterWorkOrderRecord& o) {
    return o.feature_code == m.entry.feature_code && IsCalibrationOrder(o);
  });
  return Status::Ok();
}

Status WaterService::CloseCalibrationOrders(Meter& m, int64_t at, std::vector<int64_t>* closed) {
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterWorkOrderRecord> open, store_->ListWorkOrders("open"));
  for (const auto& o : open) {
    if (o.feature_code != m.entry.feature_code || !IsCalibrationOrder(o)) continue;
    MH_RETURN_IF_ERROR(store_->SetWorkOrderStatus(o.id, "done"));
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, at, "work_order_done", "#" + std::to_string(o.id) + " (flowmeter calibrated)"));
    closed->push_back(o.id);
  }
  m.calibration_order_open = false;
  return Status::Ok();
}

Result<std::vector<int64_t>> WaterService::FlowmeterCalibrated(const std::string& flowmeter_id,
                                                               std::optional<int64_t> when, const std::string& note) {
  const int64_t at = when ? *when : clock_->NowSeconds();
  std::lock_guard lock(mu_);
  const PairingEntry* e = table_.ByFlowmeter(flowmeter_id);
  if (e == nullptr) return NotFound("no reference flowmeter '" + flowmeter_id + "' in the pairing table");
  Meter& m = MeterFor(*e);
  std::vector<int64_t> closed;
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, at, "flowmeter_calibrated", flowmeter_id + (note.empty() ? "" : ": " + note)));
    m.calibrated_at = std::max(m.calibrated_at, at);
    return CloseCalibrationOrders(m, at, &closed);
  }));
  return closed;
}

Result<WaterService::CalibrationState> WaterService::Calibration(const std::string& flowmeter_id) {
  std::lock_guard lock(mu_);
  const PairingEntry* e = table_.ByFlowmeter(flowmeter_id);
  if (e == nullptr) return NotFound("no reference flowmeter '" + flowmeter_id + "' in the pairing table");
  const Meter& m = MeterFor(*e);
  return CalibrationState{e->terminal_id, e->feature_code, m.calibrated_at,
                          options_.calibration_period_s > 0 ? m.calibrated_at + options_.calibration_period_s : 0};
}

void WaterService::CarryUnpaired(Meter& m, int64_t window_end, int64_t tolerance, const WindowBuf& buf,
                                 const std::vector<FlowPair>& pairs, const std::vector<int64_t>& flowmeter_used) {
  // Samples near the end whose partner may sit just across the boundary, in the next window.
  std::set<int64_t> used_terminal, used_flowmeter(flowmeter_used.begin(), flowmeter_used.end());
  for (const FlowPair& p : pairs) used_terminal.insert(p.t);
  auto carry = [&](const std::map<int64_t, double>& from, const std::set<int64_t>& used, bool flowmeter) {
    for (auto it = from.lower_bound(window_end - tolerance); it != from.end(); ++it) {
      if (used.count(it->first)) continue;
      WindowBuf& next = m.open[window_end];
      (flowmeter ? next.flowmeter : next.terminal).emplace(it->first, it->second);
    }
  };
  carry(buf.terminal, used_terminal, false);
  carry(buf.flowmeter, used_flowmeter, true);
}

Status WaterService::SendCommand(Meter& m, const MaintenanceCommand& c, const std::string& source) {
  // An engineer's command keeps the correction: its record holds the operating change instead.
  const std::string what = c.keep_correction ? json{{"operating", OperatingChangeJson(c.operating)}}.dump()
                                             : CorrectionJson(c.correction).dump();
  MH_RETURN_IF_ERROR(store_->PutCommand({c.command_id, c.feature_code, m.entry.terminal_id, source, c.issued_at, c.expires_at,
                                         what, "issued", 0}));
  // Published by Commit once the batch holding this record has committed.
  pending_commands_.push_back({m.entry.feature_code, m.entry.terminal_id, CommandJson(c),
                               c.command_id + " " + (c.keep_correction ? what : c.correction.ToString()), c.issued_at});
  return Status::Ok();
}

Status WaterService::Emit(Meter& m, const CaseOutputs& out) {
  MH_RETURN_IF_ERROR(SyncHistory(m));
  for (const MaintenanceCommand& c : out.commands) MH_RETURN_IF_ERROR(SendCommand(m, c, "window"));
  for (const PhoneNotice& n : out.notices) {
    const PairingEntry* e = table_.ByFeatureCode(m.entry.feature_code);
    const std::string phone = e != nullptr ? e->phone : n.phone;  // the binding in force now
    if (phone.empty()) {
      MH_RETURN_IF_ERROR(History(m.entry.feature_code, n.at, "notice_skipped", "no phone bound"));
      continue;
    }
    // The customer's procedure (procedure.h): pause, start photo, test draw, end photo.
    const SelfCheckNotice notice = SelfCheckNoticeFor(m.entry.terminal_id, n.correction, Procedure());
    json j = {{"type", "water_self_check"}, {"terminal_id", m.entry.terminal_id}, {"feature_code", n.feature_code},
              {"text", notice.text}, {"at", n.at}, {"parameters", CorrectionJson(n.correction)},
              {"procedure", notice.procedure}};
    pending_notices_.push_back({m.entry.feature_code, "phone", phone, "Water meter self-check", notice.text, j.dump()});
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, n.at, "notice_queued", "to " + phone + ": " + notice.text));
  }
  for (const WorkOrder& w : out.work_orders) {
    MH_ASSIGN_OR_RETURN(int64_t id, store_->AddWorkOrder({0, w.feature_code, w.terminal_id, w.reason, w.at, "open"}));
    MH_RETURN_IF_ERROR(History(m.entry.feature_code, w.at, "work_order_opened", "#" + std::to_string(id) + ": " + w.reason));
    json j = {{"type", "water_work_order"}, {"id", id}, {"terminal_id", w.terminal_id}, {"feature_code", w.feature_code},
              {"reason", w.reason}, {"opened_at", w.at}};
    pending_notices_.push_back({m.entry.feature_code, "work_order", "", "Water meter work order #" + std::to_string(id),
                                "On-site visit needed for terminal " + w.terminal_id + ": " + w.reason, j.dump()});
  }
  return Status::Ok();
}

void WaterService::NotifyLoop() {
  std::unique_lock lock(notice_mu_);
  while (true) {
    notice_cv_.wait(lock, [this] { return stopping_ || !notices_.empty(); });
    if (stopping_) return;
    Notice n = std::move(notices_.front());
    notices_.pop_front();
    lock.unlock();
    Status s = Unavailable("no notifier");
    // A few quick retries; the history says whether it went out.
    for (int attempt = 0; attempt < 3; ++attempt) {
      s = notify_ ? notify_(n.kind, n.address, n.subject, n.text, n.json) : Status::Ok();
      if (s.ok() || s.code() != StatusCode::kUnavailable) break;
      std::unique_lock wait_lock(notice_mu_);
      if (notice_cv_.wait_for(wait_lock, std::chrono::milliseconds(500 << attempt), [this] { return stopping_; })) return;
    }
    {
      std::lock_guard state(mu_);
      const std::string what = n.kind == "phone" ? "phone " + n.address : "work-order channel";
      Status h = History(n.feature_code, clock_->NowSeconds(), s.ok() ? "notice_delivered" : "notice_failed",
                         what + (s.ok() ? "" : ": " + s.ToString()));
      if (!h.ok()) spdlog::error("water: cannot record a notice in the history: {}", h.ToString());
    }
    lock.lock();
    if (s.ok()) ++notices_sent_;
  }
}

Status WaterService::OnAck(const std::string& terminal_id, std::string_view payload) {
  MH_ASSIGN_OR_RETURN(MaintenanceAck ack, ParseAckJson(payload));
  std::lock_guard lock(mu_);
  const PairingEntry* e = table_.ByTerminal(terminal_id);
  if (e == nullptr) return InvalidArgument("water ack from '" + terminal_id + "', which is not a paired terminal");
  if (ack.feature_code != e->feature_code) {
    return InvalidArgument("water ack for feature code '" + ack.feature_code + "' on the topic of terminal '" + terminal_id + "'");
  }
  MH_ASSIGN_OR_RETURN(std::optional<store::WaterCommandRecord> cmd, store_->GetCommand(ack.command_id));
  if (!cmd) return InvalidArgument("water ack of unknown command '" + ack.command_id + "'");
  Meter& m = MeterFor(*e);
  if (cmd->status == "acknowledged") return Status::Ok();  // a redelivered ack
  Status refused;  // the ack's own verdict, recorded (committed) either way
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    if (cmd->source == "engineer") {
      if (ack.applied_at > cmd->expires_at) {
        refused = InvalidArgument("water ack of '" + ack.command_id + "' applied after its expiry");
        return Status::Ok();
      }
      const std::string values = ack.before && ack.after ? "before " + OperatingJson(*ack.before).dump() + " after " +
                                                               OperatingJson(*ack.after).dump()
                                                         : "(the ack carries no before/after values)";
      MH_RETURN_IF_ERROR(History(e->feature_code, ack.applied_at, "parameters_applied", ack.command_id + ": " + values));
    } else if (cmd->source == "photo") {
      if (ack.applied_at > cmd->expires_at) {
        refused = InvalidArgument("water ack of '" + ack.command_id + "' applied after its expiry");
        return Status::Ok();
      }
      MH_ASSIGN_OR_RETURN(Correction corr, ParseCorrectionJson(json::parse(cmd->correction, nullptr, false)));
      m.mm->OnExternalCorrection(ack.applied_at, corr, ack.command_id);
    } else {
      CaseOutputs out;
      Status s = m.mm->OnAck(ack, std::max(m.device_now, ack.applied_at), &out);
      MH_RETURN_IF_ERROR(SyncHistory(m));
      if (!s.ok()) {
        refused = InvalidArgument("water ack refused: " + s.message());
        return Status::Ok();
      }
      MH_RETURN_IF_ERROR(Emit(m, out));
    }
    cmd->status = "acknowledged";
    cmd->acked_at = ack.applied_at;
    MH_RETURN_IF_ERROR(store_->PutCommand(*cmd));
    MH_RETURN_IF_ERROR(SyncHistory(m));
    return SaveState(m);
  }));
  return refused;
}

Status WaterService::WorkOrderDone(int64_t id, const Correction& terminal_correction) {
  MH_RETURN_IF_ERROR(terminal_correction.Validate());
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(const store::WaterWorkOrderRecord found, FindWorkOrder(id, true));
  const store::WaterWorkOrderRecord* order = &found;
  return Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(store_->SetWorkOrderStatus(id, "done"));
    const PairingEntry* e = table_.ByFeatureCode(order->feature_code);
    if (e == nullptr) return Status::Ok();  // the terminal was unpaired since
    Meter& m = MeterFor(*e);
    const int64_t at = std::max(m.device_now, order->opened_at);
    if (IsCalibrationOrder(*order)) {
      // The engineer calibrated the reference flowmeter; the terminal is left as it is.
      MH_RETURN_IF_ERROR(History(order->feature_code, at, "flowmeter_calibrated",
                                 e->flowmeter_id + ": work order #" + std::to_string(id)));
      m.calibrated_at = std::max(m.calibrated_at, at);
      m.calibration_order_open = false;
      return History(order->feature_code, at, "work_order_done", "#" + std::to_string(id));
    }
    m.mm->OnSiteVisitDone(at, terminal_correction);
    MH_RETURN_IF_ERROR(SyncHistory(m));
    MH_RETURN_IF_ERROR(History(order->feature_code, at, "work_order_done", "#" + std::to_string(id)));
    return SaveState(m);
  });
}

Result<store::WaterWorkOrderRecord> WaterService::FindWorkOrder(int64_t id, bool open) {
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterWorkOrderRecord> orders, store_->ListWorkOrders(""));
  for (const auto& o : orders) {
    if (o.id != id) continue;
    if (open && o.status == "done") return FailedPrecondition("water work order " + std::to_string(id) + " is already done");
    return o;
  }
  return NotFound("no water work order " + std::to_string(id));
}

Result<std::string> WaterService::PushParameters(int64_t id, const meter::water::OperatingChange& change) {
  if (change.empty()) return InvalidArgument("operating parameters: nothing to set");
  MH_RETURN_IF_ERROR(change.AppliedTo({}).Validate());
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(const store::WaterWorkOrderRecord order, FindWorkOrder(id, true));
  const PairingEntry* e = table_.ByFeatureCode(order.feature_code);
  if (e == nullptr) return FailedPrecondition("the terminal of water work order " + std::to_string(id) + " is no longer paired");
  Meter& m = MeterFor(*e);
  MaintenanceCommand cmd;
  cmd.feature_code = e->feature_code;
  cmd.issued_at = std::max(clock_->NowSeconds(), m.device_now);
  cmd.expires_at = cmd.issued_at + options_.cases.command_ttl_s;
  cmd.keep_correction = true;
  cmd.operating = change;
  cmd.command_id = e->feature_code + "-wo" + std::to_string(id) + "-params-" + std::to_string(m.engineer_commands + 1);
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(History(e->feature_code, cmd.issued_at, "parameters_pushed",
                               "work order #" + std::to_string(id) + ": " + cmd.command_id + " " +
                                   OperatingChangeJson(change).dump()));
    return SendCommand(m, cmd, "engineer");
  }));
  ++m.engineer_commands;
  return cmd.command_id;
}

Result<bool> WaterService::ScheduleVisit(int64_t id, int64_t visit_at, const std::string& note) {
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(const store::WaterWorkOrderRecord order, FindWorkOrder(id, true));
  const PairingEntry* e = table_.ByFeatureCode(order.feature_code);
  const std::string phone = e != nullptr ? e->phone : "";
  const int64_t now = clock_->NowSeconds();
  const std::string text = "An engineer will visit to service your water meter " + order.terminal_id + " on " +
                           FormatIsoUtc(visit_at) + " (UTC)." + (note.empty() ? "" : " " + note);
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(History(order.feature_code, now, "visit_scheduled",
                               "work order #" + std::to_string(id) + ": visit at " + FormatIsoUtc(visit_at)));
    if (phone.empty()) return History(order.feature_code, now, "notice_skipped", "no phone bound");
    json j = {{"type", "water_visit_scheduled"}, {"work_order_id", id}, {"terminal_id", order.terminal_id},
              {"feature_code", order.feature_code}, {"visit_at", visit_at}, {"text", text}};
    pending_notices_.push_back({order.feature_code, "phone", phone, "Water meter visit", text, j.dump()});
    return History(order.feature_code, now, "notice_queued", "to " + phone + ": " + text);
  }));
  return !phone.empty();
}

void WaterService::Tick() {
  std::lock_guard lock(mu_);
  // One transaction for the tick (mostly nothing to write).
  Status s = Commit([&]() -> Status {
    for (auto& [code, m] : meters_) {
      MH_RETURN_IF_ERROR(CloseWindows(m, false).WithContext(code));
      MH_RETURN_IF_ERROR(SaveState(m).WithContext(code));
    }
    return Status::Ok();
  });
  if (!s.ok()) spdlog::error("water: tick: {}", s.ToString());
}

}  // namespace mh::water
