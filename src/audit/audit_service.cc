#include "audit/audit_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "audit/ledger_records.h"
#include "core/meter_id.h"
#include "core/time.h"
#include "crypto/crypto.h"
#include "crypto/ed25519.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/fixed_segment.h"

namespace mh::audit {
namespace {

using json = nlohmann::json;
namespace ma = meter::audit;

constexpr char kFirstReason[] = "commissioning";

Result<json> ParseObject(std::string_view payload, const char* what) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument(std::string(what) + ": not a JSON object");
  return j;
}

template <typename T>
Result<T> Get(const json& j, const char* what, const char* name) {
  auto it = j.find(name);
  try {
    if (it != j.end()) return it->get<T>();
  } catch (const json::exception&) {
  }
  return InvalidArgument(std::string(what) + ": field '" + name + "' missing or of the wrong type");
}

bool IsRegionCode(const std::string& s) {
  return s.size() == 9 && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// The request's table (the reference one when none is given), parsed: InvalidArgument naming it.
Result<std::pair<std::string, std::vector<int>>> TableOf(const CommissionRequest& request) {
  const std::string text =
      request.compare_text.empty() ? ma::FormatComparisonTable(ma::DefaultComparisonLines()) : request.compare_text;
  MH_ASSIGN_OR_RETURN(std::vector<int> lines, ma::ParseComparisonTable(text, "field 'compare'"));
  return std::make_pair(text, lines);
}

}  // namespace

Result<std::string> LoadOrCreateLedgerKey(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) return ReadLedgerKeyFile(path);
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  MH_ASSIGN_OR_RETURN(crypto::Ed25519KeyPair pair, crypto::Ed25519Generate());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return FailedPrecondition("cannot create ledger key file '" + path + "'");
  const std::string text = crypto::HexEncode(pair.private_key) + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return FailedPrecondition("cannot write ledger key file '" + path + "'");
  return std::string(pair.private_key.begin(), pair.private_key.end());
}

std::string InspectionOrderJson(const InspectionOrder& o, const std::vector<std::string>& alarms) {
  return json{{"type", "inspection_order"}, {"order_id", o.order_id}, {"meter", o.meter_id},
              {"opened_at", o.opened_at},   {"priority", o.priority}, {"summary", o.summary},
              {"alarms", alarms},           {"reasons", o.reasons}}
      .dump();
}

AuditService::AuditService(AuditLedger* ledger, store::AuditStore* store, const Clock* clock, AuditServiceIo io,
                           AuditServiceOptions options)
    : ledger_(ledger),
      store_(store),
      clock_(clock),
      io_(std::move(io)),
      options_(options),
      requests_(options.max_waiting_runs),
      planner_(io_.readings, store, options.cycle) {}

AuditService::~AuditService() { Stop(); }

// --- what meters send ---

Result<bool> AuditService::IsCommissioned(const std::string& meter_id) {
  {
    std::lock_guard lock(known_mu_);
    if (commissioned_.count(meter_id)) return true;
  }
  MH_ASSIGN_OR_RETURN(std::optional<store::LedgerLeaf> code, ledger_->store().FindByKey(store::LedgerKey{meter_id, 0, 0}));
  if (!code) return false;
  std::lock_guard lock(known_mu_);
  commissioned_.insert(meter_id);
  return true;
}

Status AuditService::HandleSignal(const std::string& meter_id, std::string_view payload) {
  MH_ASSIGN_OR_RETURN(json j, ParseObject(payload, "audit signal"));
  MH_ASSIGN_OR_RETURN(int64_t seq, Get<int64_t>(j, "audit signal", "seq"));
  MH_ASSIGN_OR_RETURN(int64_t day, Get<int64_t>(j, "audit signal", "day"));
  MH_ASSIGN_OR_RETURN(std::string signal, Get<std::string>(j, "audit signal", "signal"));
  LedgerEntry entry{EntryKey{meter_id, day, seq}, kSignalKind, signal};
  // Only well-formed signals of commissioned meters go into the append-only ledger.
  Result<LedgerRecord> decoded = DecodeEntry(entry);
  if (!decoded.ok()) return InvalidArgument("audit signal: " + decoded.status().message());
  MH_ASSIGN_OR_RETURN(bool known, IsCommissioned(meter_id));
  if (!known) return InvalidArgument("audit signal of meter '" + meter_id + "', which is not commissioned");
  MH_RETURN_IF_ERROR(ledger_->Append(entry));
  const ma::SignalEvent& e = decoded->event;
  if (e.kind == ma::SignalEvent::kOpen && e.window == 1 && !SendNextCycle(e).ok()) ++cycle_errors_;
  return Status::Ok();
}

Status AuditService::SendNextCycle(const ma::SignalEvent& open) {
  if (!io_.readings || !io_.send_command) return Status::Ok();
  std::lock_guard lock(plan_mu_);
  MH_ASSIGN_OR_RETURN(std::optional<store::AuditMeterRow> row, store_->GetMeter(open.meter_id));
  store::AuditMeterRow meter = row.value_or(store::AuditMeterRow{open.meter_id});
  // The consumption of the days before this cycle sets the length of the next one.
  MH_ASSIGN_OR_RETURN(CyclePlan plan, planner_.Plan(meter, open.day, open.tz_offset_s));
  const int64_t from = open.day + open.d;
  MH_RETURN_IF_ERROR(io_.send_command(open.meter_id, FormatCommand(AuditCycleCommand{plan.d, from})));
  ++cycles_sent_;
  meter.cycle_d = plan.d;
  meter.cycle_from = from;
  meter.cycle_sent_at = clock_->NowSeconds();
  return store_->PutMeter(meter);
}

Status AuditService::HandleSegments(const std::string& meter_id, std::string_view payload) {
  MH_ASSIGN_OR_RETURN(SegmentsMessage m, ParseSegmentsMessage(payload));
  // The segments are evidence: kept as sent, but they must parse and be this meter's.
  MH_ASSIGN_OR_RETURN(ma::DynamicSegment seg, ma::ParseDynamicSegment(m.dynamic_text, "dynamic"));
  if (seg.meter_id != meter_id) {
    return InvalidArgument("audit segments: the dynamic segment is meter '" + seg.meter_id + "', not '" + meter_id + "'");
  }
  MH_RETURN_IF_ERROR(ma::ParseComparisonTable(m.compare_text, "compare").status());
  const store::AuditSegments segments{meter_id, m.fixed_image, m.dynamic_text, m.compare_text, clock_->NowSeconds()};
  MH_RETURN_IF_ERROR(store_->PutSegments(segments));
  if (!m.request_id.empty()) requests_.Deliver(meter_id, m.request_id, segments);
  return Status::Ok();
}

// --- commissioning ---

Result<std::optional<Commissioning>> AuditService::LatestOf(const std::string& meter_id) {
  MH_ASSIGN_OR_RETURN(std::vector<LedgerEntry> entries, ledger_->EntriesOf(meter_id));
  std::vector<LedgerEntry> setup;
  for (const LedgerEntry& e : entries) {
    if (e.key.window == 0 && (e.kind == kCodeKind || e.kind == kCompareKind)) setup.push_back(e);
  }
  MH_ASSIGN_OR_RETURN(std::vector<LedgerRecord> records, DecodeEntries(std::move(setup)));
  return LatestCommissioning(records);
}

Result<CommissionResult> AuditService::Append(const std::string& meter_id, const CommissionRequest& request, int number,
                                              const std::string& reason, const std::optional<Commissioning>& latest) {
  if (request.fixed_image.empty()) return InvalidArgument("the fixed image is empty");
  MH_RETURN_IF_ERROR(CheckReason(reason).WithContext("field 'reason'"));
  MH_ASSIGN_OR_RETURN(auto table, TableOf(request));
  MH_ASSIGN_OR_RETURN(std::optional<store::AuditMeterRow> row, store_->GetMeter(meter_id));
  store::AuditMeterRow meter = row.value_or(store::AuditMeterRow{meter_id});
  if (request.user_attribute) {
    MH_RETURN_IF_ERROR(QuantifiedUserAttribute(*request.user_attribute).status().WithContext("field 'user_attribute'"));
    meter.user_attribute = *request.user_attribute;
  }
  if (request.region) {
    if (!request.region->empty() && !IsRegionCode(*request.region)) {
      return InvalidArgument("field 'region': a region code is 9 digits (SPEC 0.1)");
    }
    meter.region = *request.region;
  }
  CommissionResult out;
  out.number = number;
  out.registered_at = request.registered_at ? *request.registered_at
                      : latest && latest->number == number ? latest->registered_at
                                                           : clock_->NowSeconds();
  out.compare_text = table.first;
  const std::vector<LedgerEntry> entries{
      EncodeCodeRegistration(meter_id, request.fixed_image, out.registered_at, number),
      EncodeComparisonTable(meter_id, table.first, out.registered_at, reason, number)};
  const int64_t before = ledger_->size();
  Status appended = ledger_->AppendAll(entries);
  if (appended.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("meter '" + meter_id + "' is already commissioned with another fixed image or table: a change "
                         "is a re-commissioning (POST /api/v1/audit/meters/" + meter_id + "/recommission with a reason)");
  }
  MH_RETURN_IF_ERROR(appended);
  out.appended = ledger_->size() > before;
  meter.commissioned_at = out.registered_at;
  MH_RETURN_IF_ERROR(store_->PutMeter(meter));
  out.meter = meter;
  out.ledger_size = ledger_->size();
  std::lock_guard lock(known_mu_);
  commissioned_.insert(meter_id);
  return out;
}

Result<CommissionResult> AuditService::Commission(const std::string& meter_id, const CommissionRequest& request) {
  if (!IsValidMeterId(meter_id)) return InvalidArgument("meter id '" + meter_id + "': 1-32 characters of [A-Za-z0-9_-]");
  // The ledger keeps whatever is appended forever: only meters the readings store knows.
  if (io_.readings) {
    MH_ASSIGN_OR_RETURN(bool known, io_.readings->IsRegistered(meter_id));
    if (!known) {
      return NotFound("meter '" + meter_id + "' is not registered: register it first (POST /api/v1/meters), then commission it");
    }
  }
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(std::optional<Commissioning> latest, LatestOf(meter_id));
  return Append(meter_id, request, 0, kFirstReason, latest && latest->number == 0 ? latest : std::nullopt);
}

Result<CommissionResult> AuditService::Recommission(const std::string& meter_id, const CommissionRequest& request) {
  if (!IsValidMeterId(meter_id)) return InvalidArgument("meter id '" + meter_id + "': 1-32 characters of [A-Za-z0-9_-]");
  if (request.reason.empty()) return InvalidArgument("field 'reason' is required: why the code or table changes");
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(std::optional<Commissioning> latest, LatestOf(meter_id));
  if (!latest) return NotFound("meter '" + meter_id + "' was never commissioned: commission it first");
  MH_ASSIGN_OR_RETURN(auto table, TableOf(request));
  // A retried request (its answer lost) must not become yet another commissioning.
  if (latest->fixed_image == request.fixed_image && latest->compare_text == table.first && latest->reason == request.reason &&
      (!request.registered_at || *request.registered_at == latest->registered_at)) {
    return Append(meter_id, request, latest->number, request.reason, latest);
  }
  return Append(meter_id, request, latest->number + 1, request.reason, std::nullopt);
}

// --- audits ---

Status AuditService::SendOrder(store::InspectionOrderRow* order) {
  if (!io_.send_order) return Status::Ok();
  alerts::Message m;
  m.subject = order->summary;
  m.text = order->summary;
  m.json = order->content;
  Status s = io_.send_order(m);
  ++order->attempts;
  if (s.ok()) {
    order->state = "sent";
    order->last_error.clear();
  } else {
    order->last_error = s.message();
    if (s.code() != StatusCode::kUnavailable || order->attempts >= options_.max_send_attempts) order->state = "failed";
  }
  return store_->PutOrder(*order);
}

Result<store::AuditResultRow> AuditService::Run(const std::string& meter_id, const std::string& trigger) {
  // Never a command (or a silence count) for a meter the audit does not know.
  if (!IsValidMeterId(meter_id)) return InvalidArgument("meter id '" + meter_id + "': 1-32 characters of [A-Za-z0-9_-]");
  MH_ASSIGN_OR_RETURN(bool known, IsCommissioned(meter_id));
  if (!known) return NotFound("meter '" + meter_id + "' is not commissioned for the tamper audit");
  ledger_->ledger().RecheckAllRows();  // an audit on request looks at the whole log
  if (!io_.send_command) return RunOne(meter_id, trigger, std::nullopt, Fetch::kNotAsked, "");
  // Ask the meter; wait without holding the audit lock (other audits go on meanwhile).
  MH_ASSIGN_OR_RETURN(std::string request_id, requests_.Open(meter_id, clock_->NowMillis()));
  if (Status sent = io_.send_command(meter_id, FormatCommand(SendSegmentsCommand{request_id})); !sent.ok()) {
    requests_.Cancel(request_id);
    return RunOne(meter_id, trigger, std::nullopt, Fetch::kNotSent, sent.message());
  }
  std::optional<store::AuditSegments> fresh =
      requests_.Wait(request_id, std::chrono::milliseconds(options_.segments_timeout_ms));
  return RunOne(meter_id, trigger, fresh, fresh ? Fetch::kAnswered : Fetch::kSilent, "");
}

Result<store::AuditResultRow> AuditService::RunOne(const std::string& meter_id, const std::string& trigger,
                                                   const std::optional<store::AuditSegments>& fresh, Fetch fetch,
                                                   const std::string& fetch_error) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_->NowSeconds();
  store::AuditResultRow row;
  row.meter_id = meter_id;
  row.audited_at = now;
  row.trigger = trigger;
  int misses = 0;
  if (fetch == Fetch::kAnswered || fetch == Fetch::kSilent) {
    MH_ASSIGN_OR_RETURN(std::optional<store::AuditMeterRow> m, store_->GetMeter(meter_id));
    store::AuditMeterRow meter = m.value_or(store::AuditMeterRow{meter_id});
    meter.silent_misses = fetch == Fetch::kSilent ? meter.silent_misses + 1 : 0;
    misses = meter.silent_misses;
    MH_RETURN_IF_ERROR(store_->PutMeter(meter));
  }
  std::optional<store::AuditSegments> seg = fresh;
  if (!seg) {
    MH_ASSIGN_OR_RETURN(seg, store_->GetSegments(meter_id));
  }
  AuditResult result;
  result.meter_id = meter_id;
  result.audited_at = now;
  if (fetch == Fetch::kSilent) {
    ++silent_;
    row.silent = true;
    row.notes.push_back("the meter did not answer the request for its segments within " +
                        std::to_string(options_.segments_timeout_ms / 1000) + " s (" + std::to_string(misses) +
                        " in a row)" + (seg ? ": audited on the segments it sent " + FormatIsoUtc(seg->received_at) : ""));
  }
  if (fetch == Fetch::kNotSent) {
    row.notes.push_back("the request for fresh segments could not be sent (" + fetch_error + "): audited on the stored ones");
  }
  const bool silence_alarm = fetch == Fetch::kSilent && misses >= options_.max_silent;
  if (!seg) {
    if (!silence_alarm) {
      return NotFound("meter '" + meter_id + "' has sent no audit segments" +
                      (fetch == Fetch::kSilent ? " and did not answer the request for them (" + std::to_string(misses) +
                                                     " of " + std::to_string(options_.max_silent) + " misses)"
                                               : std::string()));
    }
  } else {
    row.segments = fresh ? "fresh" : "stored";
    MH_ASSIGN_OR_RETURN(ma::DynamicSegment dynamic, ma::ParseDynamicSegment(seg->dynamic_text, "dynamic"));
    MH_ASSIGN_OR_RETURN(std::vector<int> meter_table, ma::ParseComparisonTable(seg->compare_text, "compare"));
    AuditOptions ao;
    ao.tolerance_s = options_.tolerance_s;
    // A meter commissioned before tables went into the ledger is audited on the reference table.
    MH_ASSIGN_OR_RETURN(result,
                        RunAudit(*ledger_, meter_id, seg->fixed_image, dynamic, ma::DefaultComparisonLines(), now, ao));
    if (!result.ledger_table && !result.has(Alarm::kLedger)) {
      row.notes.push_back("the ledger holds no comparison table for this meter (commissioned before tables were "
                          "registered): the reference table (lines " + FormatLineList(result.table) + ") was used");
    }
    if (!result.has(Alarm::kLedger) && meter_table != result.table) {
      row.notes.push_back("the meter's comparison table (lines " + FormatLineList(meter_table) +
                          ") differs from the registered one (lines " + FormatLineList(result.table) + "): ignored");
    }
  }
  if (silence_alarm) {
    result.alarms.push_back({Alarm::kSilence, misses,
                             "the meter did not answer " + std::to_string(misses) + " requests for its segments in a row"});
  }
  return Record(meter_id, std::move(result), std::move(row));
}

Result<store::AuditResultRow> AuditService::Record(const std::string& meter_id, AuditResult result,
                                                   store::AuditResultRow row) {
  const int64_t now = row.audited_at;
  row.pass = result.pass();
  for (const Alarm& a : result.alarms) {
    row.alarms.push_back(a.Line());
    row.reasons.push_back(a.Line() + ": " + a.detail);
  }
  ++audits_;
  std::optional<store::InspectionOrderRow> order;
  if (std::optional<InspectionOrder> o = InspectionOrderFor(result)) {
    ++alarmed_;
    // The id is the meter and the audit's second: a second alarmed audit of the same meter in the
    // same second gets its own order, never overwrites the first.
    const std::string base_id = o->order_id;
    for (int n = 2;; ++n) {
      MH_ASSIGN_OR_RETURN(std::optional<store::InspectionOrderRow> taken, store_->GetOrder(o->order_id));
      if (!taken) break;
      o->order_id = base_id + "-" + std::to_string(n);
    }
    row.order_id = o->order_id;
    order = store::InspectionOrderRow{o->order_id, meter_id, now, o->priority, o->summary,
                                      InspectionOrderJson(*o, row.alarms), "open", 0, ""};
    MH_RETURN_IF_ERROR(store_->PutOrder(*order));
  }
  MH_ASSIGN_OR_RETURN(row.id, store_->AddResult(row));
  if (order) MH_RETURN_IF_ERROR(SendOrder(&*order));
  return row;
}

int AuditService::SendPendingOrders() {
  std::lock_guard lock(mu_);
  auto open = store_->Orders("open", 1000);
  if (!open.ok()) return 0;
  int sent = 0;
  for (auto& o : *open) {
    if (SendOrder(&o).ok() && o.state == "sent") ++sent;
  }
  return sent;
}

Result<int> AuditService::RunAll(const std::string& trigger) {
  SendPendingOrders();
  MH_ASSIGN_OR_RETURN(std::vector<std::string> meters, store_->MetersWithSegments());
  // One whole-log check for deleted rows per pass; each audit then checks only what was appended.
  ledger_->ledger().RecheckAllRows();
  int n = 0;
  for (const std::string& m : meters) {
    if (RunOne(m, trigger, std::nullopt, Fetch::kNotAsked, "").ok()) ++n;
  }
  return n;
}

void AuditService::StartSchedule(int64_t interval_s, std::function<bool()> active) {
  if (interval_s <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this, interval_s, active = std::move(active)] {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, std::chrono::seconds(interval_s), [this] { return stopping_; })) {
      lock.unlock();
      if (!active || active()) (void)RunAll("schedule");
      lock.lock();
    }
  });
}

void AuditService::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  requests_.Shutdown();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mh::audit
