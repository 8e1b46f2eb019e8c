// The rows MeterHub keeps: meters, terminals, readings, quarantine, alerts and their deliveries.
// Plain values shared by the store backends and the modules that fill them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/reading.h"
#include "core/zone.h"

namespace mh::store {

struct MeterInfo {
  std::string meter_id;
  std::string kind = "electricity";      // "electricity" (kWh) or "water" (m³)
  std::string customer_id;               // owner; a customer token sees only its meters
  int32_t tz_offset_s = 8 * 3600;        // the meter's time zone for periods (default UTC+8)
  int64_t interval_s = 900;              // nominal upload interval (for gaps)
  std::optional<double> register_max;    // e.g. 99999.9: enables rollover detection
  std::optional<double> customer_t1;     // a threshold the customer set: wins over the learned one
  int64_t created_at = 0;
  std::string group;                     // meter group ('' = none): per-group settings ([groups.NAME])
  std::string timezone;                  // IANA zone name; '' = the fixed offset tz_offset_s
  // A meter read over its own protocol (issue 16): raw frames carrying `address` (as the decoder
  // prints it: 12 BCD digits for dlt645, 14 for cjt188, ...) are this meter's. `gateway` is the
  // device (concentrator, DTU) whose MQTT credentials may publish those frames; '' = the meter itself.
  std::string protocol;                  // "" | "dlt645" | "cjt188" | "dlms" | "wmbus"
  std::string address;                   // '' = none; unique per protocol
  std::string gateway;
  std::string billing_channel;           // the channel the pipeline judges; '' = the kind's default
};

// The channel a meter is billed on (docs/channels.md): its own billing_channel, else import_kwh
// for electricity and volume_m3 for water. Readings of it are stored as channel "".
std::string BillingChannelOf(const MeterInfo& m);

// The zone a meter's periods are cut in: its IANA `timezone` when set (and known to this machine's
// tzdata — else, with a warning, the fixed `tz_offset_s`), else the fixed `tz_offset_s`.
TimeZone ZoneOf(const MeterInfo& m);
// Sets both columns from a zone: `timezone` = the IANA name or '', `tz_offset_s` = the fixed offset,
// or an IANA zone's offset now (what a reader of the offset column alone sees).
void SetZone(MeterInfo& m, const TimeZone& tz);

// A customer terminal bound to a meter (seed 003 claim 1): where alerts go.
struct Terminal {
  std::string terminal_id;
  std::string meter_id;
  std::string channel;   // "webhook" | "sms" | "email"
  std::string address;   // URL, phone number or e-mail address
};

// An accepted (ok) reading. consumption = value − previous accepted value (0 for a meter's first).
struct StoredReading {
  std::string meter_id;
  int64_t ts = 0;
  double value = 0;
  double consumption = 0;
  std::string source;    // "mqtt" | "http" | "import" | "relay:<relay id>" | "correction"
  std::string quality;   // e.g. NEM12 quality flag "A"/"V"/"E"; empty when not given
  std::string channel;   // the register; "" = the meter's billing channel
  uint32_t version = 1;  // 1 = as first accepted; n = corrected n-1 times (reading_versions keeps the others)
  bool estimated = false;  // an estimate (the E of VEE), not a measurement
  // The writer knows the store holds nothing at (meter, channel, ts), so Commit need not look
  // there (the batch's own changes still count): the pipeline knows it of a reading later than the
  // meter's last accepted one. False = look.
  bool known_absent = false;
};

// An abnormal reading, kept apart from consumption (claim 6), auditable.
struct QuarantinedReading {
  std::string meter_id;
  int64_t ts = 0;
  std::optional<double> value;
  std::string raw_value;   // the value as received when it did not parse
  Verdict verdict = Verdict::kNull;
  std::string reason;      // e.g. "d=-5 < 0 against accepted 208 at 2020-10-29T15:00:00Z"
  std::string source;
  int64_t received_at = 0;
  std::string channel;     // "" = the billing channel
};

// Free-form events attached to a meter's readings: NEM12 400 records, resets, spike re-judgements.
struct ReadingEvent {
  std::string meter_id;
  int64_t ts_from = 0;
  int64_t ts_to = 0;
  std::string kind;      // "nem12_400" | "reset" | "requarantine" | "value_conflict" | "future_timestamp" | ...
  std::string detail;    // JSON text
};

// Per-meter validation and alert state, persisted in the same transaction as the readings it
// explains, so a crash never leaves the two out of step. `state` is opaque bytes owned by src/vee.
struct MeterStateRecord {
  std::string meter_id;
  std::string state;
};

// A value a reading had before it was corrected (one version mechanism for operator corrections,
// trusted revision files and estimates superseded by actual readings).
struct ReadingVersion {
  std::string meter_id;
  std::string channel;
  int64_t ts = 0;
  uint32_t version = 1;       // the version this value was
  double value = 0;
  double consumption = 0;
  std::string source;
  std::string quality;
  int64_t replaced_at = 0;    // epoch s
  std::string replaced_by;    // who corrected it: a token's name, "import", "meterhub" (estimation)
  std::string reason;
};

// How an estimated reading (StoredReading::estimated) was made (docs/estimation.md).
struct ReadingEstimate {
  std::string meter_id;
  std::string channel;       // "" = the billing channel
  int64_t ts = 0;
  std::string method;        // "linear" | "profile" | an import's quality method ("E52")
  std::string inputs;        // JSON text: what the estimate was made from
  std::string estimated_by;  // "meterhub" (the pipeline) | "import" (a NEM12 E interval)
  int64_t created_at = 0;    // epoch s
};

struct AlertRecord {
  int64_t id = 0;          // assigned by the store
  std::string meter_id;
  std::string terminal_id;
  int64_t period_start = 0;
  int64_t ts = 0;          // the reading that crossed T1
  double reading = 0;
  double period_consumption = 0;
  double threshold = 0;
  double excess = 0;
  int64_t created_at = 0;
  // The part of period_consumption that came from estimated intervals (docs/estimation.md): the
  // consumption of the estimated readings in the period up to ts; 0 when none.
  double estimated_consumption = 0;
};

enum class DeliveryStatus { kPending, kSent, kFailed };
const char* DeliveryStatusName(DeliveryStatus s);
// The inverse of DeliveryStatusName ("pending" | "sent" | "failed").
std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name);

// One send of an alert over one channel: time, channel, content, result (claim 7).
struct Delivery {
  int64_t id = 0;
  int64_t alert_id = 0;
  std::string meter_id;    // the alert's meter (filled when read; written with the alert)
  std::string terminal_id;
  std::string channel;
  std::string address;
  std::string content;     // JSON text of the message
  DeliveryStatus status = DeliveryStatus::kPending;
  int attempts = 0;
  int64_t next_attempt_at = 0;  // epoch ms
  std::string last_error;
  int64_t updated_at = 0;       // epoch ms
  // The current round of attempts: one starts when the delivery is created and again when it is
  // re-queued. The dispatcher's give-up budget and attempt cap count from here.
  int64_t round_started_at = 0;  // epoch ms of the round's first attempt; 0 = none yet
  int round_base = 0;            // attempts made before this round
};

// Failed deliveries to put back in the queue (Store::RequeueFailedDeliveries). Every filter set
// must match; none set = every failed delivery.
struct DeliveryRequeue {
  int64_t delivery_id = 0;   // 0 = any
  std::string meter_id;      // "" = any
  int64_t failed_since = 0;  // epoch ms: only deliveries marked failed at or after this; 0 = any
  int64_t limit = 0;         // at most this many, oldest first; <= 0 = no limit
  int64_t at_ms = 0;         // when: they are due at once, in a new round of attempts
  std::string requested_by;  // who asked (kept in the delivery log)
};

// One re-queue of a delivery, as the delivery log keeps it.
struct DeliveryRequeueRecord {
  int64_t delivery_id = 0;
  int64_t at_ms = 0;
  int after_attempts = 0;    // attempts made before it
  std::string requested_by;
};

// One attempt at a delivery, as the delivery log keeps it: when, and what came of it.
struct DeliveryAttempt {
  int64_t delivery_id = 0;
  int attempt = 0;          // 1, 2, ...
  int64_t at_ms = 0;        // epoch ms
  DeliveryStatus status = DeliveryStatus::kPending;  // after the attempt: sent, failed, or pending (retry)
  std::string error;        // empty when sent
};

// An alert and the deliveries to create with it (one per bound terminal).
struct NewAlert {
  AlertRecord alert;
  Delivery delivery;       // alert_id filled by the store
};

struct ReadingKey {
  std::string meter_id;
  int64_t ts = 0;
  std::string channel;
};

// Everything one pipeline step writes, atomically and durably.
struct IngestBatch {
  // Meters first seen in this batch (auto-registration), inserted in the same transaction as
  // their readings; a row that exists already is left as it is.
  std::vector<MeterInfo> new_meters;
  std::vector<StoredReading> accepted;
  std::vector<QuarantinedReading> quarantined;
  std::vector<ReadingEvent> events;
  std::vector<MeterStateRecord> states;
  std::vector<NewAlert> alerts;
  std::vector<ReadingKey> remove_accepted;  // accepted readings moved to quarantine on re-judgement
  // Readings re-judged ok (reset / sustained-rise detection): their `error` and `sudden` rows
  // leave the quarantine (`null` rows stay). Applied after this batch's quarantine inserts.
  std::vector<ReadingKey> remove_quarantined;
  // Values replaced by this batch's accepted readings (corrections), kept as versions.
  std::vector<ReadingVersion> versions;
  // How this batch's estimated readings were made (a row that exists is replaced).
  std::vector<ReadingEstimate> estimates;
  // Bulk loading: accepted readings and states are held in memory and become durable at the next
  // Store::Pack() (the rest of the batch is durable at once). Never for acknowledged input.
  bool deferred = false;
};

struct TimeRange {
  int64_t from = INT64_MIN;  // inclusive
  int64_t to = INT64_MAX;    // inclusive
};

struct ApiToken {
  std::string token_sha256;  // hex; the token itself is never stored
  std::string name;
  std::string role;          // admin | operator | auditor | customer | supervisor
  std::string customer_id;   // for role customer
  int64_t created_at = 0;
  int64_t expires_at = 0;    // 0 = never
  int64_t revoked_at = 0;    // 0 = not revoked; a revoked token is kept for the record
};

// A dashboard account (SPEC 5 roles). The password is kept only as a slow salted hash
// (the encoded Argon2id string: algorithm, parameters, salt and hash in one).
struct UserRecord {
  std::string username;
  std::string role;
  std::string customer_id;  // for role customer
  std::string password_hash;
  int64_t created_at = 0;
};

// A logged-in browser: the cookie's secret is kept only as its SHA-256. A session stands for
// exactly one of a user or an API token, and ends with it.
struct SessionRecord {
  std::string session_sha256;
  std::string username;      // set for a password login
  std::string token_sha256;  // set for a token login
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

// --- aggregates for the dashboard's fleet view ---

// A page of the meter list, searched; `total` counts every match, not just the page.
struct MeterSnapshot {
  MeterInfo info;
  std::vector<Terminal> terminals;
  std::optional<std::string> state;  // MeterStateRecord::state; none before the meter's first reading
};

struct MeterQuery {
  std::string customer_id;  // empty = every customer
  std::string kind;         // empty = any kind
  std::string region_code;  // empty = any (relay region; meters without one have "")
  std::string text;         // substring of the meter id or customer id; empty = any
  int64_t offset = 0;
  int64_t limit = 100;
  std::string after;        // keyset paging: meters with a larger id only; empty = from the first
  bool count_total = true;  // false: MeterPage::total is left 0 (a fleet-wide count costs a scan)
};
struct MeterPage {
  std::vector<MeterInfo> meters;
  int64_t total = 0;
};

// Counts over the whole fleet, each as (key, count) pairs ordered by key.
struct FleetCounts {
  int64_t meters = 0;
  std::vector<std::pair<std::string, int64_t>> by_kind;
  std::vector<std::pair<std::string, int64_t>> by_region;      // "" = not a relay meter
  std::vector<std::pair<std::string, int64_t>> by_state;       // alerted | quarantined | normal
  std::vector<std::pair<std::string, int64_t>> quarantine_by_verdict;
  std::vector<std::pair<std::string, int64_t>> deliveries_by_status;
  int64_t alerts_since = 0;  // alerts created at or after the given time
};

// --- relay retransmission (seed 000), head-end side ---

// A meter's relay identity, registered at commissioning: where it sits and the key that signs
// the batches it has neighbours forward (SPEC 2.5 [beyond]).
struct RelayMeter {
  std::string meter_id;
  std::string region_code;    // 9 digits (SPEC 0.1)
  std::string position_code;  // 6 digits
  std::string region_name;    // the name its sub-periods are allocated from (SPEC 2.1)
  std::string device_key_hex; // 64 hex chars; secret
  int64_t registered_at = 0;  // epoch s
};

// One (sub-period, level) pair a meter reported (SPEC 2.3); a new report of a meter replaces all
// of its previous ones.
struct RelayLevelReport {
  std::string meter_id;
  std::string region_code;
  int sub_period = 0;
  int level = 0;
  int64_t reported_at = 0;  // epoch s
};

struct RegionKeyRecord {
  std::string region_code;
  int key_id = 0;           // 1..255
  std::string key_hex;      // 64 hex chars; secret
  int64_t created_at = 0;   // epoch ms; the newest is the current key
};

// A forwarded batch as the head-end saw it, keyed by the digest of its content and tag: one row
// however many relays carried it (`copies` counts them); an altered copy is a row of its own.
struct RelayBatchRecord {
  std::string digest_hex;       // SHA-256(canonical batch bytes ‖ tag), hex
  std::string origin_meter_id;
  std::string relay_meter_id;   // the first relay that delivered it
  std::string outcome;          // accepted | rejected | unknown_origin
  int64_t readings = 0;
  int64_t copies = 1;
  int64_t received_at = 0;      // epoch ms of the first copy
  std::optional<int> failure_code;  // of the original upload (SPEC 2.6); none for batches recorded before schema 4
};

struct RelayBatchTotals {
  int64_t accepted = 0, rejected = 0, unknown_origin = 0;
  int64_t duplicates = 0;       // copies beyond the first, over all batches
  int64_t readings = 0;         // readings in accepted batches
};

// A meter's account of one night (docs/relay.md §9, relay/outcome) as the head-end keeps it: one
// row per (meter, night), so a report sent again is the same row.
struct RelayOutcomeRecord {
  std::string meter_id;
  std::string region_code;           // the meter's when the report arrived
  int64_t night = 0;                 // epoch s: start of the target sub-period the report covers
  int64_t uplink_attempts = 0;       // the meter's own reading uploads since its previous report
  int64_t uplink_failures = 0;
  std::string uplink_failure_codes;  // their distinct codes, ascending, comma-separated: "7,42"
  int64_t relay_attempts = 0;        // (batch, relay) pairs tried
  int64_t relay_failures = 0;
  int64_t delivered_via_relay = 0;   // readings of the batches at least one relay delivered
  int64_t aged_out = 0;              // readings dropped unsent by retention
  int64_t queued = 0;                // readings still queued after the night
  std::string relays_json;           // every relay tried: [{"ssid","failure_code","readings","ok"}, …]
  int64_t received_at = 0;           // epoch ms

  // The night the own uplink was down: tried, and every attempt failed.
  bool UplinkFailed() const { return uplink_attempts > 0 && uplink_failures == uplink_attempts; }
  bool operator==(const RelayOutcomeRecord&) const = default;
};

struct RelayOutcomeTotals {
  int64_t reports = 0;
  int64_t meters = 0;                // distinct meters that reported
  int64_t uplink_attempts = 0, uplink_failures = 0;
  int64_t uplink_failed_nights = 0;  // reports with UplinkFailed()
  int64_t relay_attempts = 0, relay_failures = 0;
  int64_t delivered_via_relay = 0;
  int64_t aged_out = 0;
};

// A maintenance work order for a meter whose own uplink failed on relay.uplink_failure_nights
// consecutive nights: one per streak of failed nights, keyed by the streak's first night.
struct RelayWorkOrder {
  int64_t id = 0;
  std::string meter_id;
  int64_t first_night = 0;   // epoch s: the streak's first failed night
  int64_t last_night = 0;    // the failed night that completed the streak and opened the order
  int64_t nights = 0;        // failed nights in the streak when it was opened
  std::string content;       // the order as JSON (what the webhook receives)
  std::string state;         // open (not sent yet) | sent | failed (refused for good)
  int64_t attempts = 0;
  std::string last_error;
  int64_t opened_at = 0;     // epoch ms
  int64_t updated_at = 0;    // epoch ms

  bool operator==(const RelayWorkOrder&) const = default;
};

}  // namespace mh::store
