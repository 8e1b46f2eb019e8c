// The rows MeterHub keeps: meters, terminals, readings, quarantine, alerts and their deliveries.
// Plain values shared by the store backends and the modules that fill them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/reading.h"

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
};

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
  std::string source;    // "mqtt" | "http" | "import" | "relay"
  std::string quality;   // e.g. NEM12 quality flag "A"/"V"/"E"; empty when not given
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
};

// Free-form events attached to a meter's readings: NEM12 400 records, resets, spike re-judgements.
struct ReadingEvent {
  std::string meter_id;
  int64_t ts_from = 0;
  int64_t ts_to = 0;
  std::string kind;      // "nem12_400" | "reset" | "requarantine" | ...
  std::string detail;    // JSON text
};

// Per-meter validation and alert state, persisted in the same transaction as the readings it
// explains, so a crash never leaves the two out of step. `state_json` is owned by src/vee.
struct MeterStateRecord {
  std::string meter_id;
  std::string state_json;
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
};

// Everything one pipeline step writes, atomically and durably.
struct IngestBatch {
  std::vector<StoredReading> accepted;
  std::vector<QuarantinedReading> quarantined;
  std::vector<ReadingEvent> events;
  std::vector<MeterStateRecord> states;
  std::vector<NewAlert> alerts;
  std::vector<ReadingKey> remove_accepted;  // accepted readings moved to quarantine on re-judgement
  // Readings re-judged ok (reset / sustained-rise detection): their `error` and `sudden` rows
  // leave the quarantine (`null` rows stay). Applied after this batch's quarantine inserts.
  std::vector<ReadingKey> remove_quarantined;
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
};

struct RelayBatchTotals {
  int64_t accepted = 0, rejected = 0, unknown_origin = 0;
  int64_t duplicates = 0;       // copies beyond the first, over all batches
  int64_t readings = 0;         // readings in accepted batches
};

}  // namespace mh::store
