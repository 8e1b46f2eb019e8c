#include "meter/relay_node.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/meter_id.h"

namespace mh::meter {

Status CryptoRandomSource::Fill(std::span<uint8_t> out) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes bytes, crypto::RandomBytes(out.size()));
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return Status::Ok();
}

namespace {
constexpr int64_t kSecondsPerDay = 86400;
}  // namespace

Result<MeterNode> MeterNode::Create(MeterIdentity identity, MeterNodeOptions options, Radio& radio,
                                    const KeyStore& keys, const Clock& clock, RandomSource& random) {
  if (!IsValidMeterId(identity.meter_id)) {
    return InvalidArgument("meter id '" + identity.meter_id + "' is not 1-32 chars of [A-Za-z0-9_-]");
  }
  if (!IsDigits(identity.region_code, kRegionCodeLength)) {
    return InvalidArgument("region code '" + identity.region_code + "' is not 9 digits");
  }
  if (!IsDigits(identity.position_code, kPositionCodeLength)) {
    return InvalidArgument("position code '" + identity.position_code + "' is not 6 digits");
  }
  if (options.history_days < 1) return InvalidArgument("history_days must be >= 1");
  if (options.k < 1) return InvalidArgument("k must be >= 1");
  if (options.max_retention_days < 1) return InvalidArgument("max_retention_days must be >= 1");
  if (options.max_pending_outcomes < 1) return InvalidArgument("max_pending_outcomes must be >= 1");
  return MeterNode(std::move(identity), options, radio, keys, clock, random);
}

MeterNode::MeterNode(MeterIdentity identity, MeterNodeOptions options, Radio& radio,
                     const KeyStore& keys, const Clock& clock, RandomSource& random)
    : identity_(std::move(identity)),
      options_(options),
      radio_(&radio),
      keys_(&keys),
      clock_(&clock),
      random_(&random) {}

Result<bool> MeterNode::RecordReading(Reading reading) {
  if (reading.meter_id.empty()) reading.meter_id = identity_.meter_id;
  if (reading.meter_id != identity_.meter_id) {
    return InvalidArgument("reading of meter '" + reading.meter_id + "' recorded on meter '" +
                           identity_.meter_id + "'");
  }
  RelayBatch batch{identity_.meter_id, 0, {reading}};
  UplinkResult result = UploadCounted(batch);
  if (result.ok) {
    ++counters_.uploaded_directly;
    return true;
  }
  queue_.push_back({std::move(reading), clock_->NowSeconds(), result.failure_code});
  return false;
}

size_t MeterNode::RetryDirect() {
  if (queue_.empty()) return 0;
  RelayBatch batch{identity_.meter_id, 0, {}};
  for (const PendingReading& p : queue_) batch.readings.push_back(p.reading);
  if (!UploadCounted(batch).ok) return 0;
  size_t n = queue_.size();
  counters_.uploaded_on_retry += n;
  queue_.clear();
  return n;
}

UplinkResult MeterNode::UploadCounted(const RelayBatch& batch) {
  UplinkResult result = radio_->Upload(batch);
  ++outcome_.uplink_attempts;
  if (!result.ok) {
    ++outcome_.uplink_failures;
    std::vector<uint16_t>& codes = outcome_.uplink_failure_codes;
    auto at = std::lower_bound(codes.begin(), codes.end(), result.failure_code);
    if (at == codes.end() || *at != result.failure_code) codes.insert(at, result.failure_code);
  }
  return result;
}

void MeterNode::CloseOutcome(int64_t night_s, NightReport* report) {
  outcome_.night_s = night_s;
  outcome_.aged_out = report->aged_out;
  outcome_.queued = queue_.size();
  report->outcome = outcome_;
  pending_outcomes_.push_back(std::move(outcome_));
  outcome_ = RelayOutcome{};
  while (pending_outcomes_.size() > options_.max_pending_outcomes) {
    pending_outcomes_.pop_front();
    ++counters_.outcomes_dropped;
  }
  while (!pending_outcomes_.empty() && radio_->UploadOutcome(pending_outcomes_.front())) {
    pending_outcomes_.pop_front();
    ++counters_.outcomes_sent;
  }
}

size_t MeterNode::AgeOut() {
  const int64_t limit = static_cast<int64_t>(options_.max_retention_days) * kSecondsPerDay;
  const int64_t now = clock_->NowSeconds();
  size_t before = queue_.size();
  std::erase_if(queue_, [&](const PendingReading& p) { return now - p.first_failure_s > limit; });
  size_t dropped = before - queue_.size();
  counters_.lost_to_retention += dropped;
  return dropped;
}

int MeterNode::BeaconFrequency(std::string_view ssid) const {
  auto it = seen_count_.find(ssid);
  return it == seen_count_.end() ? 0 : it->second;
}

void MeterNode::RememberNight(std::set<std::string> seen) {
  for (const std::string& ssid : seen) ++seen_count_[ssid];
  seen_history_.push_back(std::move(seen));
  while (seen_history_.size() > static_cast<size_t>(options_.history_days)) {
    for (const std::string& ssid : seen_history_.front()) {
      auto it = seen_count_.find(ssid);
      if (--it->second == 0) seen_count_.erase(it);
    }
    seen_history_.pop_front();
  }
}

Result<NightReport> MeterNode::OnTargetSubPeriod() {
  EndTargetSubPeriod();  // a session left running from an earlier night ends here
  const int64_t night_s = clock_->NowSeconds();
  NightReport report;
  report.aged_out = AgeOut();
  Result<NightReport> done = RelayCondition() ? ActAsAccessPoint(std::move(report)) : ScanAndForward(std::move(report));
  if (done.ok()) CloseOutcome(night_s, &*done);
  return done;
}

void MeterNode::EndTargetSubPeriod() {
  if (!session_password_) return;
  radio_->StopAccessPoint();
  session_password_.reset();
}

Result<NightReport> MeterNode::ActAsAccessPoint(NightReport report) {
  report.role = NightReport::Role::kAccessPoint;
  RememberNight({});  // an access point does not scan: nothing seen tonight

  const uint8_t key_id = keys_->CurrentRegionKeyId();
  std::optional<RegionKey> key;
  for (const RegionKey& k : keys_->RegionKeys()) {
    if (k.id == key_id) key = k;
  }
  if (!key) return NotFound("current region key id " + std::to_string(key_id) + " not in the key store");

  std::array<uint8_t, 16> random16{};
  std::array<uint8_t, crypto::kGcmNonceSize> nonce{};
  MH_RETURN_IF_ERROR(random_->Fill(random16).WithContext("reference"));
  MH_RETURN_IF_ERROR(random_->Fill(nonce).WithContext("nonce"));
  MH_ASSIGN_OR_RETURN(std::string reference, ReferenceFromBytes(random16));
  MH_ASSIGN_OR_RETURN(crypto::Bytes payload, BuildReferencePayload(*key, reference, nonce));
  MH_ASSIGN_OR_RETURN(std::string ssid, MakeRelaySsid(identity_.region_code, identity_.position_code));
  MH_ASSIGN_OR_RETURN(std::string password,
                      DeriveAccessPassword(identity_.region_code, identity_.position_code, reference));

  radio_->StartAccessPoint(RelayBeacon{ssid, std::move(payload)}, password);
  session_password_ = std::move(password);
  ++counters_.access_point_sessions;
  report.ssid = std::move(ssid);
  return report;
}

Result<NightReport> MeterNode::ScanAndForward(NightReport report) {
  report.role = NightReport::Role::kScanner;
  const std::vector<RegionKey> keys = keys_->RegionKeys();
  std::vector<HeardBeacon> heard = radio_->Scan();
  report.beacons_heard = heard.size();

  // Candidates: our prefix + region and a vendor element that decrypts; one per SSID (strongest).
  struct Candidate {
    double rssi;
    std::string reference;
  };
  std::map<std::string, Candidate> candidates;
  std::vector<std::string> order;  // first-heard order, for ChooseRelays' last tie-break
  for (const HeardBeacon& b : heard) {
    if (!AcceptsBeacon(b.ssid, identity_.region_code)) {
      ++counters_.beacons_foreign;
      continue;
    }
    Result<std::string> reference = ParseReferencePayload(b.vendor_payload, keys);
    if (!reference.ok()) {
      ++counters_.beacons_rejected;
      continue;
    }
    auto [it, inserted] = candidates.try_emplace(b.ssid, Candidate{b.rssi_dbm, *reference});
    if (inserted) {
      order.push_back(b.ssid);
    } else if (b.rssi_dbm > it->second.rssi) {
      it->second = Candidate{b.rssi_dbm, std::move(reference).value()};
    }
  }
  RememberNight(std::set<std::string>(order.begin(), order.end()));

  std::vector<ScannedBeacon> scan;
  for (const std::string& ssid : order) {
    scan.push_back({ssid, candidates[ssid].rssi, static_cast<double>(BeaconFrequency(ssid))});
  }
  MH_ASSIGN_OR_RETURN(report.chosen,
                      ChooseRelays(scan, identity_.region_code, identity_.position_code,
                                   ScoreOptions{options_.alpha, options_.k}));

  // Passwords of the chosen relays, best first.
  std::vector<std::string> passwords;
  for (const ScoredRelay& r : report.chosen) {
    MH_ASSIGN_OR_RETURN(std::string password,
                        DeriveAccessPassword(identity_.region_code, r.position_code,
                                             candidates[r.ssid].reference));
    passwords.push_back(std::move(password));
  }

  // One signed batch per failure code (a batch carries one), oldest code first.
  std::vector<uint16_t> codes;
  for (const PendingReading& p : queue_) {
    if (std::find(codes.begin(), codes.end(), p.failure_code) == codes.end()) codes.push_back(p.failure_code);
  }
  const crypto::Bytes device_key = keys_->DeviceKey();
  std::set<uint16_t> delivered_codes;
  for (uint16_t code : codes) {
    if (report.chosen.empty()) break;
    SignedBatch signed_batch;
    signed_batch.batch = RelayBatch{identity_.meter_id, code, {}};
    for (const PendingReading& p : queue_) {
      if (p.failure_code == code) signed_batch.batch.readings.push_back(p.reading);
    }
    MH_ASSIGN_OR_RETURN(signed_batch.tag, SignBatch(signed_batch.batch, device_key));
    // SPEC 2.6: to each chosen relay (the head-end stores the batch once, whichever brings it),
    // or, with Fanout::kFirst, relay by relay until one reports success.
    const size_t readings = signed_batch.batch.readings.size();
    bool delivered = false;
    for (size_t i = 0; i < report.chosen.size(); ++i) {
      if (delivered && options_.fanout == Fanout::kFirst) break;
      ++counters_.relay_attempts;
      const bool ok = radio_->SendToRelay(report.chosen[i].ssid, passwords[i], signed_batch);
      outcome_.relays.push_back({report.chosen[i].ssid, code, readings, ok});
      if (ok) {
        delivered = true;
      } else {
        ++counters_.relay_failures;
      }
    }
    if (delivered) {
      delivered_codes.insert(code);
      report.delivered += readings;
    }
  }
  std::erase_if(queue_, [&](const PendingReading& p) { return delivered_codes.count(p.failure_code) > 0; });
  counters_.delivered_via_relay += report.delivered;
  report.still_queued = queue_.size();
  return report;
}

bool MeterNode::HandleRelayedBatch(std::string_view password, const SignedBatch& batch) {
  if (!session_password_ ||
      !crypto::ConstantTimeEqual(crypto::AsBytes(password), crypto::AsBytes(*session_password_))) {
    ++counters_.refused_for_others;
    return false;
  }
  if (!radio_->ForwardUpload(batch)) return false;
  ++counters_.forwarded_for_others;
  return true;
}

}  // namespace mh::meter
