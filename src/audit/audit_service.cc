#include "audit/audit_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/ledger_records.h"
#include "crypto/crypto.h"
#include "crypto/ed25519.h"
#include "meter/audit/dynamic_segment.h"
#include "meter/audit/fixed_segment.h"

namespace mh::audit {
namespace {

using json = nlohmann::json;
namespace ma = meter::audit;

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

std::string SignalMessage(const meter::audit::SignalEvent& event) {
  const LedgerEntry e = EncodeSignalEvent(event);
  return json{{"seq", e.key.seq}, {"day", e.key.window}, {"signal", e.payload}}.dump();
}

std::string SegmentsMessage(std::string_view fixed_image, std::string_view dynamic_text, std::string_view compare_text) {
  return json{{"fixed_image_hex", crypto::HexEncode(crypto::AsBytes(fixed_image))},
              {"dynamic", std::string(dynamic_text)},
              {"compare", std::string(compare_text)}}
      .dump();
}

std::string InspectionOrderJson(const InspectionOrder& o, const std::vector<std::string>& alarms) {
  return json{{"type", "inspection_order"}, {"order_id", o.order_id}, {"meter", o.meter_id},
              {"opened_at", o.opened_at},   {"priority", o.priority}, {"summary", o.summary},
              {"alarms", alarms},           {"reasons", o.reasons}}
      .dump();
}

AuditService::AuditService(AuditLedger* ledger, store::AuditStore* store, const Clock* clock, OrderSender send,
                           AuditServiceOptions options)
    : ledger_(ledger), store_(store), clock_(clock), send_(std::move(send)), options_(options) {}

AuditService::~AuditService() { Stop(); }

Status AuditService::HandleSignal(const std::string& meter_id, std::string_view payload) {
  MH_ASSIGN_OR_RETURN(json j, ParseObject(payload, "audit signal"));
  MH_ASSIGN_OR_RETURN(int64_t seq, Get<int64_t>(j, "audit signal", "seq"));
  MH_ASSIGN_OR_RETURN(int64_t day, Get<int64_t>(j, "audit signal", "day"));
  MH_ASSIGN_OR_RETURN(std::string signal, Get<std::string>(j, "audit signal", "signal"));
  LedgerEntry entry{EntryKey{meter_id, day, seq}, kSignalKind, signal};
  // Only well-formed signals of this meter go into the append-only ledger.
  Result<LedgerRecord> decoded = DecodeEntry(entry);
  if (!decoded.ok()) return InvalidArgument("audit signal: " + decoded.status().message());
  return ledger_->Append(entry);
}

Status AuditService::HandleSegments(const std::string& meter_id, std::string_view payload) {
  MH_ASSIGN_OR_RETURN(json j, ParseObject(payload, "audit segments"));
  MH_ASSIGN_OR_RETURN(std::string fixed_hex, Get<std::string>(j, "audit segments", "fixed_image_hex"));
  MH_ASSIGN_OR_RETURN(std::string dynamic, Get<std::string>(j, "audit segments", "dynamic"));
  MH_ASSIGN_OR_RETURN(std::string compare, Get<std::string>(j, "audit segments", "compare"));
  Result<crypto::Bytes> fixed = crypto::HexDecode(fixed_hex);
  if (!fixed.ok()) return InvalidArgument("audit segments: field 'fixed_image_hex' is not hex");
  // The segments are evidence: kept as sent, but they must parse and be this meter's.
  MH_ASSIGN_OR_RETURN(ma::DynamicSegment seg, ma::ParseDynamicSegment(dynamic, "dynamic"));
  if (seg.meter_id != meter_id) {
    return InvalidArgument("audit segments: the dynamic segment is meter '" + seg.meter_id + "', not '" + meter_id + "'");
  }
  MH_RETURN_IF_ERROR(ma::ParseComparisonTable(compare, "compare").status());
  return store_->PutSegments(store::AuditSegments{meter_id, std::string(fixed->begin(), fixed->end()), dynamic, compare,
                                                  clock_->NowSeconds()});
}

Status AuditService::Commission(const std::string& meter_id, std::string_view fixed_image, int64_t registered_at) {
  if (fixed_image.empty()) return InvalidArgument("the fixed image is empty");
  return ledger_->Append(EncodeCodeRegistration(meter_id, fixed_image, registered_at));
}

Status AuditService::SendOrder(store::InspectionOrderRow* order) {
  if (!send_) return Status::Ok();
  alerts::Message m;
  m.subject = order->summary;
  m.text = order->summary;
  m.json = order->content;
  Status s = send_(m);
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
  ledger_->ledger().RecheckAllRows();  // an audit on request looks at the whole log
  return RunOne(meter_id, trigger);
}

Result<store::AuditResultRow> AuditService::RunOne(const std::string& meter_id, const std::string& trigger) {
  std::lock_guard lock(mu_);
  MH_ASSIGN_OR_RETURN(std::optional<store::AuditSegments> seg, store_->GetSegments(meter_id));
  if (!seg) return NotFound("meter '" + meter_id + "' has sent no audit segments");
  MH_ASSIGN_OR_RETURN(ma::DynamicSegment dynamic, ma::ParseDynamicSegment(seg->dynamic_text, "dynamic"));
  MH_ASSIGN_OR_RETURN(std::vector<int> compare, ma::ParseComparisonTable(seg->compare_text, "compare"));
  AuditOptions ao;
  ao.tolerance_s = options_.tolerance_s;
  const int64_t now = clock_->NowSeconds();
  MH_ASSIGN_OR_RETURN(AuditResult result, RunAudit(*ledger_, meter_id, seg->fixed_image, dynamic, compare, now, ao));
  store::AuditResultRow row;
  row.meter_id = meter_id;
  row.audited_at = now;
  row.trigger = trigger;
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
    if (RunOne(m, trigger).ok()) ++n;
  }
  return n;
}

void AuditService::StartSchedule(int64_t interval_s) {
  if (interval_s <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this, interval_s] {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, std::chrono::seconds(interval_s), [this] { return stopping_; })) {
      lock.unlock();
      (void)RunAll("schedule");
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
  if (thread_.joinable()) thread_.join();
}

}  // namespace mh::audit
