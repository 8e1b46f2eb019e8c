#include "relay/relay_service.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include <nlohmann/json.hpp>

#include "core/meter_id.h"
#include "core/time.h"
#include "crypto/crypto.h"
#include "meter/access_password.h"
#include "meter/key_delivery.h"
#include "relay/messages.h"

namespace mh::relay {
namespace {

bool AllDigits(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<meter::RegionKey> ToRegionKey(const store::RegionKeyRecord& r) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes bytes, crypto::HexDecode(r.key_hex));
  if (bytes.size() != 32 || r.key_id < 1 || r.key_id > 255)
    return Internal("region " + r.region_code + " key " + std::to_string(r.key_id) + " is malformed in the store");
  meter::RegionKey key;
  key.id = static_cast<uint8_t>(r.key_id);
  std::copy(bytes.begin(), bytes.end(), key.key.begin());
  return key;
}

}  // namespace

RelayService::RelayService(store::Store* store, const Clock* clock, meter::RandomSource* random,
                           CommandSink commands, ReadingSink readings, RelayServiceOptions options)
    : store_(store),
      clock_(clock),
      random_(random),
      commands_(std::move(commands)),
      readings_(std::move(readings)),
      options_(std::move(options)) {
  Result<int> n = meter::SlotCount(options_.slots);
  slot_count_ = n.ok() ? *n : 0;  // validated by the config; 0 leaves every region without slots
}

Result<store::RelayMeter> RelayService::RegisterMeter(const RelayRegistration& r) {
  const std::string what = "register relay meter '" + r.meter_id + "'";
  if (!IsValidMeterId(r.meter_id)) return InvalidArgument(what + ": not a valid meter id");
  if (!AllDigits(r.region_code, 9)) return InvalidArgument(what + ": region_code must be 9 digits");
  if (!AllDigits(r.position_code, 6)) return InvalidArgument(what + ": position_code must be 6 digits");
  if (r.install_address.size() > kMaxInstallAddressBytes)
    return InvalidArgument(what + ": install_address is " + std::to_string(r.install_address.size()) +
                           " bytes; at most " + std::to_string(kMaxInstallAddressBytes));
  MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> known, store_->GetMeter(r.meter_id));
  if (!known) return NotFound(what + ": no such meter; register it first (POST /api/v1/meters)");
  store::RelayMeter m;
  m.meter_id = r.meter_id;
  m.region_code = r.region_code;
  m.position_code = r.position_code;
  if (r.install_address.empty()) {
    m.region_name = r.region_code;  // no address: the code names the region
  } else {
    MH_ASSIGN_OR_RETURN(m.region_name, ExtractRegionName(r.install_address, options_.region_pattern));
  }
  if (r.device_key_hex.empty()) {
    crypto::Bytes key(32);
    MH_RETURN_IF_ERROR(random_->Fill(key).WithContext(what));
    m.device_key_hex = crypto::HexEncode(key);
  } else {
    Result<crypto::Bytes> key = crypto::HexDecode(r.device_key_hex);
    if (!key.ok() || key->size() != 32) return InvalidArgument(what + ": device_key must be 64 hex chars");
    m.device_key_hex = crypto::HexEncode(*key);
  }
  m.registered_at = clock_->NowSeconds();
  MH_RETURN_IF_ERROR(store_->UpsertRelayMeter(m));

  MH_ASSIGN_OR_RETURN(std::vector<store::RegionKeyRecord> keys, store_->ListRegionKeys(m.region_code));
  if (keys.empty()) {
    MH_RETURN_IF_ERROR(RotateKey(m.region_code).status());  // sends the keys to every meter, this one too
  } else {
    MH_RETURN_IF_ERROR(SendKeys(m, keys));
  }
  MH_ASSIGN_OR_RETURN(std::vector<LevelReport> reports, ReportsOf(m.region_code));
  if (std::optional<int> target = TargetSubPeriod(reports)) MH_RETURN_IF_ERROR(SendTarget(m, *target));
  return m;
}

Result<std::optional<int>> RelayService::Report(const std::string& meter_id, const std::vector<LevelReport>& reports) {
  const std::string what = "relay report of meter '" + meter_id + "'";
  MH_ASSIGN_OR_RETURN(std::optional<store::RelayMeter> meter, store_->GetRelayMeter(meter_id));
  if (!meter) return NotFound(what + ": the meter is not registered for relaying");
  const std::vector<int> allocated = meter::AllocateSlots(meter->region_name, slot_count_, options_.slots.slots_per_region);
  std::vector<store::RelayLevelReport> rows;
  std::set<int> seen;
  const int64_t now = clock_->NowSeconds();
  for (const LevelReport& r : reports) {
    if (std::find(allocated.begin(), allocated.end(), r.sub_period) == allocated.end())
      return InvalidArgument(what + ": sub-period " + std::to_string(r.sub_period) +
                             " is not allocated to region " + meter->region_code);
    if (r.level < 0 || r.level > options_.max_level)
      return InvalidArgument(what + ": level " + std::to_string(r.level) + " outside 0.." +
                             std::to_string(options_.max_level));
    if (!seen.insert(r.sub_period).second)
      return InvalidArgument(what + ": sub-period " + std::to_string(r.sub_period) + " reported twice");
    rows.push_back({meter_id, meter->region_code, r.sub_period, r.level, now});
  }
  MH_ASSIGN_OR_RETURN(std::vector<LevelReport> before, ReportsOf(meter->region_code));
  const std::optional<int> old_target = TargetSubPeriod(before);
  MH_RETURN_IF_ERROR(store_->ReplaceLevelReports(meter_id, rows));
  MH_ASSIGN_OR_RETURN(std::vector<LevelReport> after, ReportsOf(meter->region_code));
  const std::optional<int> target = TargetSubPeriod(after);
  if (!target) return target;
  if (target != old_target) {
    MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> region, store_->ListRelayMeters(meter->region_code));
    for (const store::RelayMeter& m : region) MH_RETURN_IF_ERROR(SendTarget(m, *target));
  } else {
    MH_RETURN_IF_ERROR(SendTarget(*meter, *target));
  }
  return target;
}

Result<std::vector<LevelReport>> RelayService::ReportsOf(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayLevelReport> rows, store_->ListLevelReports(region_code));
  std::vector<LevelReport> reports;
  reports.reserve(rows.size());
  for (const store::RelayLevelReport& r : rows) reports.push_back({r.meter_id, r.sub_period, r.level});
  return reports;
}

Result<RegionView> RelayService::BuildView(const std::string& region_code,
                                           const std::vector<store::RelayMeter>& meters) {
  RegionView v;
  v.region_code = region_code;
  v.meters = static_cast<int64_t>(meters.size());
  if (!meters.empty()) {
    v.region_name = meters.front().region_name;
    v.sub_periods = meter::AllocateSlots(v.region_name, slot_count_, options_.slots.slots_per_region);
  }
  MH_ASSIGN_OR_RETURN(std::vector<LevelReport> reports, ReportsOf(region_code));
  v.levels = RegionLevels(reports);
  for (const LevelReport& r : reports) ++v.reporters[r.sub_period];
  v.target = TargetSubPeriod(reports);
  MH_ASSIGN_OR_RETURN(std::vector<store::RegionKeyRecord> keys, store_->ListRegionKeys(region_code));
  for (const store::RegionKeyRecord& k : keys) v.key_ids.push_back(k.key_id);
  return v;
}

Result<std::vector<RegionView>> RelayService::Regions() {
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> all, store_->ListRelayMeters(""));
  std::vector<RegionView> views;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].region_code == all[i].region_code) ++j;
    MH_ASSIGN_OR_RETURN(RegionView v, BuildView(all[i].region_code, {all.begin() + i, all.begin() + j}));
    views.push_back(std::move(v));
    i = j;
  }
  return views;
}

Result<RegionView> RelayService::Region(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> meters, store_->ListRelayMeters(region_code));
  if (meters.empty()) return NotFound("region " + region_code + " has no registered meters");
  return BuildView(region_code, meters);
}

Result<int> RelayService::RotateKey(const std::string& region_code) {
  const std::string what = "rotate key of region " + region_code;
  MH_ASSIGN_OR_RETURN(std::vector<store::RegionKeyRecord> keys, store_->ListRegionKeys(region_code));
  crypto::Bytes secret(32);
  MH_RETURN_IF_ERROR(random_->Fill(secret).WithContext(what));
  store::RegionKeyRecord fresh;
  fresh.region_code = region_code;
  fresh.key_id = keys.empty() ? 1 : keys.front().key_id % 255 + 1;
  fresh.key_hex = crypto::HexEncode(secret);
  // Strictly newer than the current key even when the clock stands still (tests, clock steps).
  fresh.created_at = std::max(clock_->NowMillis(), keys.empty() ? 0 : keys.front().created_at + 1);
  // The id comes round again after 255 rotations: the old holder of it is long gone, drop it.
  for (const store::RegionKeyRecord& k : keys)
    if (k.key_id == fresh.key_id) MH_RETURN_IF_ERROR(store_->DeleteRegionKey(region_code, k.key_id));
  MH_RETURN_IF_ERROR(store_->PutRegionKey(fresh));
  // Keep the current and the previous key; older ones are no longer accepted anywhere.
  for (size_t i = 1; i < keys.size(); ++i)
    if (keys[i].key_id != fresh.key_id) MH_RETURN_IF_ERROR(store_->DeleteRegionKey(region_code, keys[i].key_id));
  std::vector<store::RegionKeyRecord> kept = {fresh};
  if (!keys.empty() && keys.front().key_id != fresh.key_id) kept.push_back(keys.front());
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> meters, store_->ListRelayMeters(region_code));
  for (const store::RelayMeter& m : meters) MH_RETURN_IF_ERROR(SendKeys(m, kept));
  return fresh.key_id;
}

Result<int> RelayService::RotateDueKeys() {
  MH_ASSIGN_OR_RETURN(std::vector<RegionView> regions, Regions());
  int rotated = 0;
  const int64_t now_ms = clock_->NowMillis();
  for (const RegionView& r : regions) {
    MH_ASSIGN_OR_RETURN(std::vector<store::RegionKeyRecord> keys, store_->ListRegionKeys(r.region_code));
    if (!keys.empty() && now_ms - keys.front().created_at < options_.key_rotation_s * 1000) continue;
    MH_RETURN_IF_ERROR(RotateKey(r.region_code).status());
    ++rotated;
  }
  return rotated;
}

Status RelayService::SendKeys(const store::RelayMeter& meter, const std::vector<store::RegionKeyRecord>& records) {
  std::vector<meter::RegionKey> keys;
  for (const store::RegionKeyRecord& r : records) {
    MH_ASSIGN_OR_RETURN(meter::RegionKey k, ToRegionKey(r));
    keys.push_back(k);
  }
  MH_ASSIGN_OR_RETURN(crypto::Bytes device_key, crypto::HexDecode(meter.device_key_hex));
  MH_ASSIGN_OR_RETURN(crypto::Bytes sealed, meter::SealRegionKeys(device_key, meter.meter_id, keys, *random_));
  KeysCommand c{meter.region_code, keys.front().id, std::move(sealed)};
  return commands_(meter.meter_id, EncodeKeysCommand(c));
}

Status RelayService::SendTarget(const store::RelayMeter& meter, int target) {
  return commands_(meter.meter_id, EncodeTargetCommand(TargetCommand{
                                        meter.region_code, meter::TargetAssignment{target, options_.slots, options_.fanout}}));
}

Result<ForwardOutcome> RelayService::Forward(const ForwardedBatch& f) {
  const std::string& origin = f.batch.origin_meter_id;
  const std::string what = "forwarded batch of meter '" + origin + "' via '" + f.relay_meter_id + "'";
  MH_ASSIGN_OR_RETURN(crypto::Bytes content, meter::CanonicalBatchBytes(f.batch));
  content.insert(content.end(), f.tag.begin(), f.tag.end());
  store::RelayBatchRecord record;
  record.digest_hex = crypto::HexEncode(crypto::Sha256(content));
  record.origin_meter_id = origin;
  record.relay_meter_id = f.relay_meter_id;
  record.readings = static_cast<int64_t>(f.batch.readings.size());
  record.received_at = clock_->NowMillis();
  record.failure_code = f.batch.failure_code;
  MH_ASSIGN_OR_RETURN(std::optional<store::RelayMeter> meter, store_->GetRelayMeter(origin));
  if (!meter) {
    record.outcome = "unknown_origin";
    MH_RETURN_IF_ERROR(store_->RecordRelayBatch(record).status());
    return NotFound(what + ": the origin is not registered for relaying");
  }
  MH_ASSIGN_OR_RETURN(crypto::Bytes device_key, crypto::HexDecode(meter->device_key_hex));
  if (Status verified = meter::VerifyBatch(f.batch, f.tag, device_key); !verified.ok()) {
    record.outcome = "rejected";
    MH_RETURN_IF_ERROR(store_->RecordRelayBatch(record).status());
    return Unauthenticated(what + ": " + verified.message());
  }
  // Readings first, record after: a crash in between leaves the relay unacknowledged, it sends
  // again, the pipeline finds the readings stored, and the record lands then.
  MH_RETURN_IF_ERROR(readings_(f.batch.readings, "relay:" + f.relay_meter_id).WithContext(what));
  record.outcome = "accepted";
  MH_ASSIGN_OR_RETURN(bool fresh, store_->RecordRelayBatch(record));
  return fresh ? ForwardOutcome::kAccepted : ForwardOutcome::kDuplicate;
}

Result<store::RelayBatchTotals> RelayService::Totals() { return store_->SumRelayBatches(); }

namespace {

// Whole days between two nights' target sub-periods: 1 for consecutive nights (12–36 h apart),
// whatever the target sub-period did in between.
int64_t DayGap(int64_t later, int64_t earlier) { return std::llround(static_cast<double>(later - earlier) / 86400.0); }

}  // namespace

std::string JoinFailureCodes(const std::vector<uint16_t>& codes) {
  std::string out;
  for (uint16_t c : codes) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

std::vector<uint16_t> SplitFailureCodes(std::string_view text) {
  std::vector<uint16_t> codes;
  while (!text.empty()) {
    const size_t comma = std::min(text.find(','), text.size());
    uint16_t code = 0;
    const std::string_view part = text.substr(0, comma);
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), code);
    if (ec == std::errc() && end == part.data() + part.size()) codes.push_back(code);
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return codes;
}

int64_t RelayService::FailedStreak(const std::vector<store::RelayOutcomeRecord>& newest_first) {
  int64_t streak = 0;
  for (size_t i = 0; i < newest_first.size(); ++i) {
    if (!newest_first[i].UplinkFailed()) break;
    if (i > 0 && DayGap(newest_first[i - 1].night, newest_first[i].night) != 1) break;
    ++streak;
  }
  return streak;
}

Result<bool> RelayService::Outcome(const std::string& meter_id, const meter::RelayOutcome& o) {
  const std::string what = "relay outcome of meter '" + meter_id + "' for night " + std::to_string(o.night_s);
  MH_ASSIGN_OR_RETURN(std::optional<store::RelayMeter> meter, store_->GetRelayMeter(meter_id));
  if (!meter) return NotFound(what + ": the meter is not registered for relaying");
  if (o.uplink_failures > o.uplink_attempts) return InvalidArgument(what + ": more uplink failures than attempts");
  store::RelayOutcomeRecord r;
  r.meter_id = meter_id;
  r.region_code = meter->region_code;
  r.night = o.night_s;
  r.uplink_attempts = static_cast<int64_t>(o.uplink_attempts);
  r.uplink_failures = static_cast<int64_t>(o.uplink_failures);
  r.uplink_failure_codes = JoinFailureCodes(o.uplink_failure_codes);
  // A batch carries one failure code, and with fanout "all" goes to several relays: its readings
  // count once when any of them delivered it.
  std::map<uint16_t, std::pair<size_t, bool>> batches;  // failure code → (readings, delivered)
  for (const meter::RelayTry& t : o.relays) {
    ++r.relay_attempts;
    if (!t.ok) ++r.relay_failures;
    auto& [readings, delivered] = batches[t.failure_code];
    readings = std::max(readings, t.readings);
    delivered = delivered || t.ok;
  }
  for (const auto& [code, batch] : batches)
    if (batch.second) r.delivered_via_relay += static_cast<int64_t>(batch.first);
  r.aged_out = static_cast<int64_t>(o.aged_out);
  r.queued = static_cast<int64_t>(o.queued);
  r.relays_json = EncodeRelayTries(o.relays);
  r.received_at = clock_->NowMillis();
  MH_ASSIGN_OR_RETURN(bool fresh, store_->PutRelayOutcome(r));
  if (fresh) {
    counters_.reports += 1;
    counters_.uplink_failures += r.uplink_failures;
    counters_.uplink_failed_nights += r.UplinkFailed() ? 1 : 0;
    counters_.relay_successes += r.relay_attempts - r.relay_failures;
    counters_.relay_failures += r.relay_failures;
    counters_.aged_out += r.aged_out;
  }
  // Also for a report sent again: a crash between the two writes must not lose the order, and
  // the order's own key keeps it from being opened twice.
  if (r.UplinkFailed()) MH_RETURN_IF_ERROR(OpenWorkOrderIfDue(*meter, r.night).WithContext(what));
  return fresh;
}

Status RelayService::OpenWorkOrderIfDue(const store::RelayMeter& meter, int64_t night) {
  const int64_t n = std::max(1, options_.uplink_failure_nights);
  // The streak ending at this night, looked at one night further than needed: exactly n failed
  // nights is the moment to open the order; more means it was opened (or is due) at an earlier
  // night of the same streak.
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayOutcomeRecord> recent, store_->ListRelayOutcomes(meter.meter_id, night, n + 1));
  if (FailedStreak(recent) != n) return Status::Ok();
  std::set<uint16_t> codes;
  int64_t attempts = 0;
  for (int64_t i = 0; i < n; ++i) {
    attempts += recent[i].uplink_attempts;
    for (uint16_t code : SplitFailureCodes(recent[i].uplink_failure_codes)) codes.insert(code);
  }
  store::RelayWorkOrder order;
  order.meter_id = meter.meter_id;
  order.first_night = recent[n - 1].night;
  order.last_night = night;
  order.nights = n;
  order.state = "open";
  order.opened_at = order.updated_at = clock_->NowMillis();
  std::string code_text;
  for (uint16_t c : codes) code_text += (code_text.empty() ? "" : ", ") + std::to_string(c);
  const std::string summary = "meter " + meter.meter_id + ": own uplink failed on " + std::to_string(n) +
                              " consecutive nights (failure codes " + (code_text.empty() ? "none" : code_text) + ")";
  order.content = nlohmann::json{{"type", "relay_uplink_work_order"},
                                 {"order_id", "RWO-" + meter.meter_id + "-" + std::to_string(order.first_night)},
                                 {"meter", meter.meter_id},
                                 {"region_code", meter.region_code},
                                 {"position_code", meter.position_code},
                                 {"nights", n},
                                 {"first_night", FormatIsoUtc(order.first_night)},
                                 {"last_night", FormatIsoUtc(order.last_night)},
                                 {"uplink_attempts", attempts},
                                 {"uplink_failure_codes", std::vector<uint16_t>(codes.begin(), codes.end())},
                                 {"opened_at", FormatIsoUtc(order.opened_at / 1000)},
                                 {"summary", summary}}
                      .dump();
  MH_ASSIGN_OR_RETURN(bool opened, store_->OpenRelayWorkOrder(&order));
  if (!opened) return Status::Ok();
  counters_.work_orders_opened += 1;
  if (order_opened_) order_opened_();
  return Status::Ok();
}

int RelayService::SendPendingWorkOrders() {
  if (!work_orders_) return 0;
  std::lock_guard lock(send_mu_);
  Result<std::vector<store::RelayWorkOrder>> open = store_->ListRelayWorkOrders("", "open", 1000);
  if (!open.ok()) return 0;
  int sent = 0;
  for (auto it = open->rbegin(); it != open->rend(); ++it) {  // oldest first
    store::RelayWorkOrder& order = *it;
    const Status s = work_orders_(order.content);
    ++order.attempts;
    order.updated_at = clock_->NowMillis();
    if (s.ok()) {
      order.state = "sent";
      order.last_error.clear();
      ++sent;
      counters_.work_orders_sent += 1;
    } else {
      order.last_error = s.message();
      if (s.code() != StatusCode::kUnavailable) {
        order.state = "failed";
        counters_.work_orders_failed += 1;
      }
    }
    if (!store_->UpdateRelayWorkOrder(order).ok()) break;  // the store is in trouble: next pass
  }
  return sent;
}

Result<MeterRelayView> RelayService::MeterView(const std::string& meter_id, int64_t limit) {
  MH_ASSIGN_OR_RETURN(std::optional<store::RelayMeter> meter, store_->GetRelayMeter(meter_id));
  if (!meter) return NotFound("meter '" + meter_id + "' is not registered for relaying");
  MeterRelayView v;
  v.meter = *meter;
  v.meter.device_key_hex.clear();
  MH_ASSIGN_OR_RETURN(v.batches, store_->ListRelayBatchesFrom(meter_id, limit));
  MH_ASSIGN_OR_RETURN(v.outcomes, store_->ListRelayOutcomes(meter_id, INT64_MAX, limit));
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayOutcomeRecord> recent, store_->ListRelayOutcomes(meter_id, INT64_MAX, 400));
  v.uplink_failed_nights = FailedStreak(recent);
  MH_ASSIGN_OR_RETURN(v.work_orders, store_->ListRelayWorkOrders(meter_id, "", limit));
  return v;
}

Result<RegionOutcomes> RelayService::RegionOutcomeView(const std::string& region_code) {
  MH_ASSIGN_OR_RETURN(std::vector<store::RelayMeter> meters, store_->ListRelayMeters(region_code));
  if (meters.empty()) return NotFound("region " + region_code + " has no registered meters");
  RegionOutcomes v;
  v.region_code = region_code;
  MH_ASSIGN_OR_RETURN(v.totals, store_->SumRelayOutcomes(region_code));
  for (const store::RelayMeter& m : meters) {
    MH_ASSIGN_OR_RETURN(std::vector<store::RelayOutcomeRecord> recent, store_->ListRelayOutcomes(m.meter_id, INT64_MAX, 400));
    if (int64_t streak = FailedStreak(recent); streak > 0) v.failing[m.meter_id] = streak;
  }
  return v;
}

}  // namespace mh::relay
