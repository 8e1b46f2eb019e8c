// The meter relay state machine (SPEC 2.4–2.6) against an in-memory radio and key store and a
// simulated clock. Score expectations follow docs/relay.md §3: own L3 = 000123, R̄ = −50.
#include "meter/relay_node.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace mh::meter {
namespace {

constexpr char kRegion[] = "330106001";
constexpr char kOwnPosition[] = "000123";
constexpr int64_t kDay = 86400;
constexpr int64_t kStartMillis = 1'700'000'000'000;

RegionKey Key(uint8_t id, uint8_t fill) {
  RegionKey k;
  k.id = id;
  k.key.fill(fill);
  return k;
}

class FakeKeyStore : public KeyStore {
 public:
  std::vector<RegionKey> keys = {Key(1, 0x11), Key(2, 0x22)};
  uint8_t current = 2;
  crypto::Bytes device_key = crypto::Bytes(32, 0x5a);

  std::vector<RegionKey> RegionKeys() const override { return keys; }
  uint8_t CurrentRegionKeyId() const override { return current; }
  crypto::Bytes DeviceKey() const override { return device_key; }
};

// Deterministic bytes: a counter, so every draw differs.
class CountingRandom : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next_++;
    return Status::Ok();
  }

 private:
  uint8_t next_ = 0;
};

struct RelaySend {
  std::string ssid;
  std::string password;
  SignedBatch batch;
};

class FakeRadio : public Radio {
 public:
  bool uplink_ok = true;
  uint16_t failure_code = 42;
  bool forward_ok = true;
  std::vector<HeardBeacon> scan;
  std::map<std::string, bool> relay_ok;  // ssid → report; absent = failure
  std::vector<RelayBatch> uploads;
  std::vector<SignedBatch> forwarded;
  std::vector<RelaySend> relay_sends;
  bool outcome_ok = true;
  std::vector<RelayOutcome> outcomes;  // the accounts the head-end acknowledged
  std::optional<RelayBeacon> beacon;
  std::string ap_password;
  int stops = 0;
  int scans = 0;

  UplinkResult Upload(const RelayBatch& batch) override {
    uploads.push_back(batch);
    return {uplink_ok, uplink_ok ? uint16_t{0} : failure_code};
  }
  bool UploadOutcome(const RelayOutcome& outcome) override {
    if (outcome_ok) outcomes.push_back(outcome);
    return outcome_ok;
  }
  bool ForwardUpload(const SignedBatch& batch) override {
    forwarded.push_back(batch);
    return forward_ok;
  }
  void StartAccessPoint(const RelayBeacon& b, const std::string& password) override {
    beacon = b;
    ap_password = password;
  }
  void StopAccessPoint() override {
    beacon.reset();
    ++stops;
  }
  std::vector<HeardBeacon> Scan() override {
    ++scans;
    return scan;
  }
  bool SendToRelay(const std::string& ssid, const std::string& password,
                   const SignedBatch& batch) override {
    relay_sends.push_back({ssid, password, batch});
    auto it = relay_ok.find(ssid);
    return it != relay_ok.end() && it->second;
  }
};

std::string Ssid(const std::string& region, const std::string& position) {
  return *MakeRelaySsid(region, position);
}

// A neighbour relay's beacon and the password it admits.
struct Neighbour {
  HeardBeacon beacon;
  std::string password;
};

Neighbour MakeNeighbour(const std::string& region, const std::string& position, double rssi,
                        const RegionKey& key, uint8_t seed) {
  std::vector<uint8_t> random16(16, seed), nonce(12, static_cast<uint8_t>(seed + 1));
  std::string reference = *ReferenceFromBytes(random16);
  Neighbour n;
  n.beacon = {Ssid(region, position), rssi, *BuildReferencePayload(key, reference, nonce)};
  n.password = *DeriveAccessPassword(region, position, reference);
  return n;
}

class MeterNodeTest : public ::testing::Test {
 protected:
  MeterNode Node(MeterNodeOptions options = {}) {
    auto node = MeterNode::Create({"m-001", kRegion, kOwnPosition}, options, radio_, keys_, clock_, random_);
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    return std::move(node).value();
  }
  Reading At(int64_t ts, double value) { return Reading{"m-001", ts, value, ""}; }

  FakeRadio radio_;
  FakeKeyStore keys_;
  SimulatedClock clock_{kStartMillis};
  CountingRandom random_;
};

TEST_F(MeterNodeTest, CreateRejectsBadIdentity) {
  EXPECT_FALSE(MeterNode::Create({"m 1", kRegion, kOwnPosition}, {}, radio_, keys_, clock_, random_).ok());
  EXPECT_FALSE(MeterNode::Create({"m-1", "33010600", kOwnPosition}, {}, radio_, keys_, clock_, random_).ok());
  EXPECT_FALSE(MeterNode::Create({"m-1", kRegion, "12345a"}, {}, radio_, keys_, clock_, random_).ok());
  MeterNodeOptions bad;
  bad.k = 0;
  EXPECT_FALSE(MeterNode::Create({"m-1", kRegion, kOwnPosition}, bad, radio_, keys_, clock_, random_).ok());
}

TEST_F(MeterNodeTest, HealthyMeterUploadsDirectlyAndRelays) {
  MeterNode node = Node();
  auto sent = node.RecordReading({"", 1700000000, 12.5, ""});  // empty id is filled in
  ASSERT_TRUE(sent.ok());
  EXPECT_TRUE(*sent);
  ASSERT_EQ(radio_.uploads.size(), 1u);
  EXPECT_EQ(radio_.uploads[0].origin_meter_id, "m-001");
  EXPECT_EQ(radio_.uploads[0].readings[0].meter_id, "m-001");
  EXPECT_EQ(node.counters().uploaded_directly, 1u);
  EXPECT_TRUE(node.RelayCondition());
  EXPECT_FALSE(node.RecordReading({"m-002", 1, 1.0, ""}).ok());

  auto night = node.OnTargetSubPeriod();
  ASSERT_TRUE(night.ok()) << night.status().ToString();
  EXPECT_EQ(night->role, NightReport::Role::kAccessPoint);
  EXPECT_EQ(radio_.scans, 0);
  ASSERT_TRUE(radio_.beacon.has_value());
  EXPECT_EQ(radio_.beacon->ssid, "elecmeter_AP330106001000123");
  EXPECT_EQ(night->ssid, radio_.beacon->ssid);
  ASSERT_EQ(radio_.beacon->vendor_payload.size(), kReferencePayloadSize);
  EXPECT_EQ(radio_.beacon->vendor_payload[4], 2);  // the current key id
  auto reference = ParseReferencePayload(radio_.beacon->vendor_payload, keys_.keys);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  // CountingRandom drew 00 01 .. 0f for the reference.
  EXPECT_EQ(*reference, "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(radio_.ap_password, *DeriveAccessPassword(kRegion, kOwnPosition, *reference));
  EXPECT_TRUE(node.access_point_running());
  EXPECT_EQ(node.counters().access_point_sessions, 1u);

  // A neighbour with the right password is forwarded; a wrong password is refused.
  SignedBatch b;
  b.batch = RelayBatch{"m-009", 3, {{"m-009", 1700000000, 1.0, ""}}};
  EXPECT_TRUE(node.HandleRelayedBatch(radio_.ap_password, b));
  EXPECT_FALSE(node.HandleRelayedBatch("00000000000000000000000000000000", b));
  EXPECT_EQ(radio_.forwarded.size(), 1u);
  EXPECT_EQ(node.counters().forwarded_for_others, 1u);
  EXPECT_EQ(node.counters().refused_for_others, 1u);

  node.EndTargetSubPeriod();
  EXPECT_FALSE(radio_.beacon.has_value());
  EXPECT_EQ(radio_.stops, 1);
  EXPECT_FALSE(node.HandleRelayedBatch(radio_.ap_password, b));  // no session any more

  // The next night draws a fresh reference, hence a different password.
  std::string first_password = radio_.ap_password;
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());
  EXPECT_NE(radio_.ap_password, first_password);
}

// The first-success failover (Fanout::kFirst): relay by relay, best first, until one succeeds.
TEST_F(MeterNodeTest, FailingMeterForwardsThroughTheBestRelays) {
  MeterNodeOptions first;
  first.fanout = Fanout::kFirst;
  MeterNode node = Node(first);
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  ASSERT_FALSE(*node.RecordReading(At(1700000900, 11)));
  ASSERT_EQ(node.queue().size(), 2u);
  EXPECT_EQ(node.queue()[0].failure_code, 42);
  EXPECT_EQ(node.queue()[0].first_failure_s, kStartMillis / 1000);
  EXPECT_FALSE(node.RelayCondition());

  Neighbour n120 = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  Neighbour n130 = MakeNeighbour(kRegion, "000130", -60, keys_.keys[1], 2);
  Neighbour n100 = MakeNeighbour(kRegion, "000100", -40, keys_.keys[0], 3);  // previous key, still held
  Neighbour n125 = MakeNeighbour(kRegion, "000125", -50, keys_.keys[1], 4);
  // Strong, but of another region: ignored, and kept out of R̄.
  Neighbour foreign = MakeNeighbour("330106002", "000122", -20, keys_.keys[1], 5);
  // Strong, our region, but a flipped ciphertext byte: the tag fails.
  Neighbour tampered = MakeNeighbour(kRegion, "000124", -20, keys_.keys[1], 6);
  tampered.beacon.vendor_payload[20] ^= 0x01;
  radio_.scan = {n120.beacon, foreign.beacon, n130.beacon, tampered.beacon, n100.beacon, n125.beacon};
  radio_.relay_ok = {{n100.beacon.ssid, false}, {n120.beacon.ssid, true}};

  radio_.uplink_ok = true;  // the own uplink is not tried at the target sub-period
  auto night = node.OnTargetSubPeriod();
  ASSERT_TRUE(night.ok()) << night.status().ToString();
  EXPECT_EQ(night->role, NightReport::Role::kScanner);
  EXPECT_FALSE(radio_.beacon.has_value());
  EXPECT_EQ(night->beacons_heard, 6u);
  EXPECT_EQ(node.counters().beacons_foreign, 1u);
  EXPECT_EQ(node.counters().beacons_rejected, 1u);

  // F = 1 for all (seen tonight only), max(α, F) = 3, R̄ = −50:
  // 000100: 3/(1+e^(−10/23)) = 1.821045; 000120, 000125: 1.5 (tie → lower position); 000130: 0.579964.
  ASSERT_EQ(night->chosen.size(), 3u);
  EXPECT_EQ(night->chosen[0].position_code, "000100");
  EXPECT_EQ(night->chosen[1].position_code, "000120");
  EXPECT_EQ(night->chosen[2].position_code, "000125");
  EXPECT_NEAR(night->chosen[0].score, 1.821045, 1e-6);
  EXPECT_NEAR(night->chosen[1].score, 1.5, 1e-9);

  // The best relay failed, the second succeeded; the third was not needed.
  ASSERT_EQ(radio_.relay_sends.size(), 2u);
  EXPECT_EQ(radio_.relay_sends[0].ssid, n100.beacon.ssid);
  EXPECT_EQ(radio_.relay_sends[0].password, n100.password);
  const RelaySend& ok = radio_.relay_sends[1];
  EXPECT_EQ(ok.ssid, n120.beacon.ssid);
  EXPECT_EQ(ok.password, n120.password);
  EXPECT_EQ(ok.batch.batch.origin_meter_id, "m-001");
  EXPECT_EQ(ok.batch.batch.failure_code, 42);
  ASSERT_EQ(ok.batch.batch.readings.size(), 2u);
  EXPECT_EQ(ok.batch.batch.readings[1].ts, 1700000900);
  EXPECT_TRUE(VerifyBatch(ok.batch.batch, ok.batch.tag, keys_.device_key).ok());
  RelayBatch altered = ok.batch.batch;
  altered.readings[0].value = 99;
  EXPECT_EQ(VerifyBatch(altered, ok.batch.tag, keys_.device_key).code(), StatusCode::kUnauthenticated);

  EXPECT_EQ(night->delivered, 2u);
  EXPECT_EQ(night->still_queued, 0u);
  EXPECT_TRUE(node.RelayCondition());
  EXPECT_EQ(node.counters().delivered_via_relay, 2u);
  EXPECT_EQ(node.counters().relay_attempts, 2u);
  EXPECT_EQ(node.counters().relay_failures, 1u);
}

// SPEC 2.6, seed step 108 (issue 11, item 7): by default the batch goes to every chosen relay,
// each forwarding it and reporting back, even after one has succeeded; the same signed batch each
// time, so the head-end stores it once whichever relay brings it.
TEST_F(MeterNodeTest, FanoutAllSendsTheBatchToEveryChosenRelay) {
  MeterNode node = Node();
  EXPECT_EQ(node.options().fanout, Fanout::kAll);
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  ASSERT_FALSE(*node.RecordReading(At(1700000900, 11)));
  Neighbour n120 = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  Neighbour n130 = MakeNeighbour(kRegion, "000130", -60, keys_.keys[1], 2);
  Neighbour n100 = MakeNeighbour(kRegion, "000100", -40, keys_.keys[0], 3);
  Neighbour n125 = MakeNeighbour(kRegion, "000125", -50, keys_.keys[1], 4);
  radio_.scan = {n120.beacon, n130.beacon, n100.beacon, n125.beacon};
  radio_.relay_ok = {{n100.beacon.ssid, false}, {n120.beacon.ssid, true}, {n125.beacon.ssid, true}};

  auto night = node.OnTargetSubPeriod();
  ASSERT_TRUE(night.ok()) << night.status().ToString();
  ASSERT_EQ(night->chosen.size(), 3u);
  ASSERT_EQ(radio_.relay_sends.size(), 3u);  // the third relay too, though the second succeeded
  EXPECT_EQ(radio_.relay_sends[0].ssid, n100.beacon.ssid);
  EXPECT_EQ(radio_.relay_sends[1].ssid, n120.beacon.ssid);
  EXPECT_EQ(radio_.relay_sends[2].ssid, n125.beacon.ssid);
  EXPECT_EQ(radio_.relay_sends[2].password, n125.password);
  for (const RelaySend& send : radio_.relay_sends) {
    EXPECT_EQ(send.batch.tag, radio_.relay_sends[0].batch.tag);
    EXPECT_TRUE(VerifyBatch(send.batch.batch, send.batch.tag, keys_.device_key).ok());
  }
  EXPECT_EQ(night->delivered, 2u);  // the readings count once
  EXPECT_TRUE(node.RelayCondition());
  EXPECT_EQ(node.counters().delivered_via_relay, 2u);
  EXPECT_EQ(node.counters().relay_attempts, 3u);
  EXPECT_EQ(node.counters().relay_failures, 1u);

  // The switch the head-end's relay_target flips: back to first-success failover.
  node.set_fanout(Fanout::kFirst);
  ASSERT_FALSE(*node.RecordReading(At(1700001800, 12)));
  radio_.relay_sends.clear();
  clock_.AdvanceMillis(kDay * 1000);
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());
  EXPECT_EQ(radio_.relay_sends.size(), 2u);
}

// Issue 11, item 6: every night the meter accounts for its own uplink (attempts, failures, their
// codes), every relay it tried and the readings aged out unsent, and sends the account over its
// own uplink; an account that does not get through waits, oldest first, for the next night.
TEST_F(MeterNodeTest, NightlyOutcomeReachesTheHeadEndOrWaits) {
  MeterNodeOptions options;
  options.max_pending_outcomes = 2;
  MeterNode node = Node(options);
  radio_.uplink_ok = true;
  ASSERT_TRUE(*node.RecordReading(At(1700000000, 10)));
  radio_.uplink_ok = false;
  radio_.failure_code = 7;
  ASSERT_FALSE(*node.RecordReading(At(1700000900, 11)));
  radio_.failure_code = 3;
  ASSERT_FALSE(*node.RecordReading(At(1700001800, 12)));
  ASSERT_FALSE(*node.RecordReading(At(1700002700, 13)));
  Neighbour a = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  Neighbour b = MakeNeighbour(kRegion, "000130", -60, keys_.keys[1], 2);
  radio_.scan = {a.beacon, b.beacon};
  radio_.relay_ok = {{a.beacon.ssid, true}};
  radio_.outcome_ok = false;  // the account itself cannot get through tonight

  auto night1 = node.OnTargetSubPeriod();
  ASSERT_TRUE(night1.ok());
  const RelayOutcome& o = night1->outcome;
  EXPECT_EQ(o.night_s, kStartMillis / 1000);
  EXPECT_EQ(o.uplink_attempts, 4u);
  EXPECT_EQ(o.uplink_failures, 3u);
  EXPECT_EQ(o.uplink_failure_codes, (std::vector<uint16_t>{3, 7}));
  // Two batches (codes 7 then 3), each to both relays: a succeeds, b fails.
  ASSERT_EQ(o.relays.size(), 4u);
  EXPECT_EQ(o.relays[0].ssid, a.beacon.ssid);
  EXPECT_EQ(o.relays[0].failure_code, 7);
  EXPECT_EQ(o.relays[0].readings, 1u);
  EXPECT_TRUE(o.relays[0].ok);
  EXPECT_EQ(o.relays[1].ssid, b.beacon.ssid);
  EXPECT_FALSE(o.relays[1].ok);
  EXPECT_EQ(o.relays[2].failure_code, 3);
  EXPECT_EQ(o.relays[2].readings, 2u);
  EXPECT_EQ(o.queued, 0u);
  EXPECT_TRUE(radio_.outcomes.empty());
  ASSERT_EQ(node.pending_outcomes().size(), 1u);

  // Night 2: an access-point night with nothing to report but itself; the account still fails.
  clock_.AdvanceMillis(kDay * 1000);
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());
  EXPECT_EQ(node.pending_outcomes().size(), 2u);
  // Night 3: a third pending account would exceed max_pending_outcomes = 2: the oldest goes.
  clock_.AdvanceMillis(kDay * 1000);
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700173000, 14)));
  radio_.scan.clear();  // no relay heard
  radio_.outcome_ok = true;
  auto night3 = node.OnTargetSubPeriod();
  ASSERT_TRUE(night3.ok());
  EXPECT_EQ(node.counters().outcomes_dropped, 1u);
  ASSERT_EQ(radio_.outcomes.size(), 2u);  // nights 2 and 3, oldest first
  EXPECT_EQ(radio_.outcomes[0].night_s, kStartMillis / 1000 + kDay);
  EXPECT_EQ(radio_.outcomes[0].uplink_attempts, 0u);
  EXPECT_TRUE(radio_.outcomes[0].relays.empty());
  EXPECT_EQ(radio_.outcomes[1].night_s, kStartMillis / 1000 + 2 * kDay);
  EXPECT_EQ(radio_.outcomes[1].uplink_attempts, 1u);
  EXPECT_EQ(radio_.outcomes[1].uplink_failures, 1u);
  EXPECT_EQ(radio_.outcomes[1].queued, 1u);
  EXPECT_TRUE(node.pending_outcomes().empty());
  EXPECT_EQ(node.counters().outcomes_sent, 2u);

  // Readings aged out unsent are in the account of the night that dropped them.
  clock_.AdvanceMillis(31 * kDay * 1000);
  auto late = node.OnTargetSubPeriod();
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->outcome.aged_out, 1u);
  EXPECT_EQ(radio_.outcomes.back().aged_out, 1u);
}

TEST_F(MeterNodeTest, EveryRelayFailsSoReadingsWaitForTheNextNight) {
  MeterNode node = Node();
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  Neighbour a = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  Neighbour b = MakeNeighbour(kRegion, "000130", -55, keys_.keys[1], 2);
  radio_.scan = {a.beacon, b.beacon};

  auto first = node.OnTargetSubPeriod();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->delivered, 0u);
  EXPECT_EQ(first->still_queued, 1u);
  EXPECT_EQ(node.counters().relay_attempts, 2u);
  EXPECT_EQ(node.counters().relay_failures, 2u);
  EXPECT_FALSE(node.RelayCondition());

  clock_.AdvanceMillis(kDay * 1000);
  radio_.relay_ok[b.beacon.ssid] = true;
  auto second = node.OnTargetSubPeriod();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->delivered, 1u);
  EXPECT_TRUE(node.RelayCondition());
  EXPECT_EQ(node.counters().relay_attempts, 4u);
  EXPECT_EQ(node.counters().delivered_via_relay, 1u);

  // With an empty queue the third night is an access-point night.
  auto third = node.OnTargetSubPeriod();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->role, NightReport::Role::kAccessPoint);
}

TEST_F(MeterNodeTest, OneSignedBatchPerFailureCode) {
  MeterNode node = Node();
  radio_.uplink_ok = false;
  radio_.failure_code = 7;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  radio_.failure_code = 9;
  ASSERT_FALSE(*node.RecordReading(At(1700000900, 11)));
  ASSERT_FALSE(*node.RecordReading(At(1700001800, 12)));
  Neighbour a = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  radio_.scan = {a.beacon};
  radio_.relay_ok[a.beacon.ssid] = true;

  auto night = node.OnTargetSubPeriod();
  ASSERT_TRUE(night.ok());
  ASSERT_EQ(radio_.relay_sends.size(), 2u);
  EXPECT_EQ(radio_.relay_sends[0].batch.batch.failure_code, 7);
  EXPECT_EQ(radio_.relay_sends[0].batch.batch.readings.size(), 1u);
  EXPECT_EQ(radio_.relay_sends[1].batch.batch.failure_code, 9);
  EXPECT_EQ(radio_.relay_sends[1].batch.batch.readings.size(), 2u);
  for (const RelaySend& s : radio_.relay_sends) {
    EXPECT_TRUE(VerifyBatch(s.batch.batch, s.batch.tag, keys_.device_key).ok());
  }
  EXPECT_EQ(night->delivered, 3u);
  EXPECT_TRUE(node.RelayCondition());
}

TEST_F(MeterNodeTest, PlainRetryOverTheOwnUplink) {
  MeterNode node = Node();
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  ASSERT_FALSE(*node.RecordReading(At(1700000900, 11)));
  EXPECT_EQ(node.RetryDirect(), 0u);
  EXPECT_EQ(node.queue().size(), 2u);
  radio_.uplink_ok = true;
  EXPECT_EQ(node.RetryDirect(), 2u);
  EXPECT_TRUE(node.RelayCondition());
  EXPECT_EQ(node.counters().uploaded_on_retry, 2u);
  EXPECT_EQ(node.counters().uploaded_directly, 0u);
}

TEST_F(MeterNodeTest, RetentionDropsAndCountsOldReadings) {
  MeterNode node = Node();
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));  // fails at t0
  clock_.AdvanceMillis(2 * kDay * 1000);
  ASSERT_FALSE(*node.RecordReading(At(1700172800, 11)));  // fails at t0 + 2 days

  clock_.AdvanceMillis(28 * kDay * 1000);  // t0 + 30 days: exactly 30 days old is kept
  EXPECT_EQ(node.AgeOut(), 0u);
  clock_.AdvanceMillis(1000);  // one second past 30 days
  EXPECT_EQ(node.AgeOut(), 1u);
  EXPECT_EQ(node.counters().lost_to_retention, 1u);
  ASSERT_EQ(node.queue().size(), 1u);
  EXPECT_EQ(node.queue()[0].reading.ts, 1700172800);

  // The target sub-period ages out first; with the queue then empty the meter becomes a relay.
  clock_.AdvanceMillis(2 * kDay * 1000);
  auto night = node.OnTargetSubPeriod();
  ASSERT_TRUE(night.ok());
  EXPECT_EQ(night->aged_out, 1u);
  EXPECT_EQ(night->role, NightReport::Role::kAccessPoint);
  EXPECT_EQ(node.counters().lost_to_retention, 2u);
  EXPECT_EQ(radio_.scans, 0);
}

TEST_F(MeterNodeTest, BeaconFrequencyCountsNightsSeenInTheHistoryWindow) {
  MeterNode node = Node();
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));  // stays queued: every relay fails
  Neighbour x = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  Neighbour y = MakeNeighbour(kRegion, "000130", -60, keys_.keys[1], 2);
  const bool x_seen[7] = {true, true, false, true, false, true, true};  // 5 of 7 nights
  for (bool seen : x_seen) {
    radio_.scan = {y.beacon, y.beacon};  // heard twice in one night: still one night
    if (seen) radio_.scan.push_back(x.beacon);
    ASSERT_TRUE(node.OnTargetSubPeriod().ok());
    clock_.AdvanceMillis(kDay * 1000);
  }
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 5);
  EXPECT_EQ(node.BeaconFrequency(y.beacon.ssid), 7);
  EXPECT_EQ(node.BeaconFrequency(Ssid(kRegion, "000999")), 0);

  // F feeds the score on night 8: R̄ = −55, S(x) = max(3, 5) / (1 + e^(−(−50 − (−55)) / 3)).
  radio_.relay_sends.clear();
  radio_.scan = {x.beacon, y.beacon};
  auto night = node.OnTargetSubPeriod();  // night 8: night 1 leaves the window
  ASSERT_TRUE(night.ok());
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 5);  // night 1 (seen) out, night 8 (seen) in
  ASSERT_EQ(night->chosen.size(), 2u);
  EXPECT_EQ(night->chosen[0].ssid, x.beacon.ssid);
  EXPECT_DOUBLE_EQ(night->chosen[0].frequency, 5);
  EXPECT_NEAR(night->chosen[0].score, 5.0 / (1.0 + std::exp(-5.0 / 3.0)), 1e-12);
  EXPECT_DOUBLE_EQ(night->chosen[1].frequency, 7);

  // Two nights without x: nights 2 (seen) and 3 (not) leave the window.
  radio_.scan = {y.beacon};
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 4);
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 4);
}

TEST_F(MeterNodeTest, AnAccessPointNightCountsAsNothingSeen) {
  MeterNodeOptions options;
  options.history_days = 2;
  MeterNode node = Node(options);
  radio_.uplink_ok = false;
  ASSERT_FALSE(*node.RecordReading(At(1700000000, 10)));
  Neighbour x = MakeNeighbour(kRegion, "000120", -50, keys_.keys[1], 1);
  radio_.scan = {x.beacon};
  radio_.relay_ok[x.beacon.ssid] = true;
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());  // scans, sees x, delivers
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 1);
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());  // queue empty: access point, sees nothing
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 1);
  ASSERT_TRUE(node.OnTargetSubPeriod().ok());  // the scanning night left the 2-night window
  EXPECT_EQ(node.BeaconFrequency(x.beacon.ssid), 0);
  EXPECT_EQ(radio_.stops, 1);  // the first access point session was stopped by the next night
}

}  // namespace
}  // namespace mh::meter
