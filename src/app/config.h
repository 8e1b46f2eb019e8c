// The configuration file (TOML, SPEC 0.0). Every key has a default here, so `meterhub demo` runs
// with no file at all; README.md's configuration table lists the same keys and defaults
// (config_test checks it against DefaultConfigToml()).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "alerts/channels/sms_channel.h"
#include "alerts/channels/smtp_channel.h"
#include "alerts/channels/webhook_channel.h"
#include "alerts/dispatcher.h"
#include "audit/audit_service.h"
#include "base/status.h"
#include "billing/tariff.h"
#include "gateway/gateway_options.h"
#include "ingest/pipeline.h"
#include "store/store_open.h"
#include "relay/relay_service.h"
#include "vee/offline_vee.h"
#include "water/upload_caps.h"

namespace mh::app {

struct Config {
  struct Store {
    std::string backend = "sqlite";       // "sqlite" (embedded default) or "postgres"
    std::string path = "meterhub.db";     // SQLite file
    std::string url;                      // PostgreSQL connection string
    std::string synchronous = "full";     // SQLite: "full" (power-loss safe) or "normal" (crash safe)
    int64_t pack_after = 1000000;         // pack the reading log once it holds this many readings
    std::string pack_interval = "1h";     // ... or this long after the last packing
    int64_t max_size_mb = 0;              // SQLite: the database stops growing here (writes get 507); 0 = no limit
  } store;
  struct Http {
    std::string listen = "127.0.0.1:8080";
    int64_t max_body_bytes = 16 << 20;    // larger request bodies get 413 (chunked ones too)
    int threads = 8;                      // handler workers; slow clients never hold one
    std::string read_timeout = "30s";     // a request's headers and body must arrive within this
    int max_connections = 1000;
    int max_connections_per_client = 32;  // per client IP address
    std::string metrics_token;            // set: /metrics needs "Authorization: Bearer <it>"
    std::string session_ttl = "12h";      // a dashboard login lasts this long
    std::string web_root;                 // the built dashboard; empty = "web" beside the binary
    std::string tls_cert;                 // PEM certificate (chain) file; with tls_key: HTTPS only
    std::string tls_key;                  // PEM private key file
    bool allow_plaintext = false;         // plain HTTP on a non-loopback address (else refused)
  } http;
  // Scale-out (SPEC 7, docs/scale.md): workers sharing one PostgreSQL divide the 64 shards by leases.
  struct Cluster {
    std::string worker_id;                // this worker's name; empty = <hostname>-<pid>
    std::string lease_period = "10s";     // a shard lease lapses this long after its last renewal
  } cluster;
  struct Mqtt {
    std::string broker = "127.0.0.1:1883";  // empty = no MQTT ingestion
    std::string client_id = "meterhub-ingest";
    int connections = 8;                  // subscriber connections sharing the 64 shards
    int commit_linger_ms = 2;             // a commit waits this long for more sessions' messages to share it
    std::string username;
    std::string password;
    std::string tls_ca;                   // CA file (PEM) the broker's certificate must chain to; set = TLS
    std::string tls_cert;                 // client certificate file (PEM), for brokers that ask for one
    std::string tls_key;                  // its private key file (PEM)
    std::string provisioning = "file";    // device credentials: "file" (password file + ACL) or "dynsec" (plugin, at run time)
    std::string dynsec_admin_user;        // dynsec: the plugin's admin client
    std::string dynsec_admin_password_file;  // dynsec: file holding its password (first line)
  } mqtt;
  struct Ingest {
    bool auto_register = false;           // readings of unknown meters: register (true) or reject
    std::string default_kind = "electricity";
    std::string interval = "15m";         // nominal upload interval of auto-registered meters
    std::string timezone = "+08:00";      // time zone of auto-registered meters: an offset or an IANA name
    std::string max_future = "5m";        // readings later than now + this + the meter's interval are refused
    std::string frame_keys_file;          // keys of encrypted raw frames: `address,key[,auth_key]` (hex), chmod 600
  } ingest;
  struct Vee {
    double spike_coefficient = 1.3;
    double alert_coefficient = 1.0;
    double t2_quantile = 1.0;
    double negative_tolerance = 0.0;
    int reset_after = 0;
    double max_interval_consumption = 0.0;
    std::vector<std::string> peak;        // "FROM..TO" / "MM-DD..MM-DD" ranges (a string or an array); none = no learning
    std::string period = "day";           // day | week | month
    int max_alerts_per_period = 1;
    double same_period_coefficient = 0.0; // "same time last period" check; 0 = off
    bool estimation = false;              // estimate gaps closed by an accepted reading (docs/estimation.md); opt-in
    std::string estimate_max_gap = "7d";  // longer gaps are left unestimated
  } vee;
  struct Relay {
    bool enabled = true;                  // head-end of seed 000 (reports, targets, keys, forwarded batches)
    std::string window = "00:00-06:00";   // nightly total period, local time (SPEC 2.1)
    std::string slot = "5m";              // sub-period length
    int slots_per_region = 4;             // sub-periods allocated per region
    std::string region_pattern;           // install address → region name; empty = SPEC 2.1 default
    std::string key_rotation = "30d";     // region keys older than this are rotated
    std::string fanout = "all";           // meters forward to every chosen relay ("all") or until one succeeds ("first")
    int uplink_failure_nights = 3;        // consecutive nights of a failed own uplink that open a work order
    std::string work_order_url;           // webhook receiving the uplink work orders; empty = kept open
  } relay;
  struct Water {
    bool enabled = true;                  // water remote maintenance loop of seed 001 (frames, windows, commands)
    std::string window = "6h";            // pre-check window: 6h or 12h, aligned to UTC midnight (SPEC 3.3)
    std::string close_after = "1h";       // a window missing its partner's data is checked this long after its end
    std::string command_expiry = "6h";    // maintenance commands expire this long after they are issued
    std::string pair_tolerance = "auto";  // the two devices' samples pair this far apart; auto = half the sample interval, 0 = same instant
    std::string calibration_period = "30d";  // a reference flowmeter not calibrated for this long commands nothing
    double p_min = 0.95;                  // SPEC 3.3 thresholds
    double d_lo = 0.01;
    double d_hi = 0.5;
    double r2_min = 0.98;
    double tol_rel = 0.02;
    double tol_abs = 0.01;
    std::string pairs_file;               // CSV terminal_id,flowmeter_id,phone loaded at start; empty = none
    std::string work_order_url;           // webhook receiving opened work orders; empty = none
    double photo_unit_m3 = 0.001;         // volume of one step of the register's last drum
    int photo_digits = 0;                 // drums on the register; 0 = estimate
    int photo_min_units = 100;            // register steps a photo span must cover to correct the parameters
    double max_se_a1 = 0.0007;            // send parameters when se(a1)/a1 is at most this (else pool windows)
    int max_deferred_windows = 3;         // ... or after this many pooled windows whatever the precision; 0 = at once
    // Upload caps, checked before decoding (defaults: water/upload_caps.h).
    int64_t max_photo_pixels = water::UploadCaps{}.max_pixels;   // larger photos are refused from their header
    int64_t max_upload_bytes = water::UploadCaps{}.max_bytes;    // the upload route's own body limit
    int64_t max_video_frames = water::UploadCaps{}.max_frames;   // videos: frame-count and duration caps
    double max_video_seconds = water::UploadCaps{}.max_seconds;
    std::string upload_url;               // named in the self-check notice ({terminal} = its id)
    std::string reply_to;                 // ... or this address
  } water;
  struct Alerts {
    alerts::DispatcherOptions dispatcher;  // give_up_after_ms comes from give_up_after
    std::string give_up_after = "24h";     // a round of attempts at a delivery ends after this; "0" = never
    std::string quiet_hours;               // "22:00-07:00": alerts wait (meter's local time); empty = none
    alerts::WebhookOptions webhook;
    alerts::SmsOptions sms;
    alerts::SmtpOptions email;
  } alerts;
  struct Log {
    std::string level = "info";           // trace | debug | info | warn | error
    bool json = false;                    // one JSON object per line
  } log;
  // [audit] the tamper-audit server (SPEC 4.5): ledger on the store's database, MQTT audit topics,
  // scheduled and requested audits, inspection orders.
  struct Audit {
    bool enabled = true;
    std::string key_file;                 // Ed25519 ledger key (hex, 0600); empty = <store.path>.ledger.key
    std::string interval = "1d";          // scheduled audits of every meter with segments; "0" = off
    int tolerance_s = 1;                  // time check tolerance, seconds
    std::string inspection_webhook;       // inspection orders are POSTed here; empty = kept "open"
    std::string segments_timeout = "30s"; // a requested audit waits this long for the meter's segments
    int max_silent = 3;                   // unanswered segment requests in a row that open an inspection order
    int max_waiting_runs = 4;             // requested audits waiting for segments at once (<= http.threads - 1); more get 503
    int cycle_history_days = 30;          // SPEC 4.1: consumption span of the cycle length D
  } audit;
  // [billing] determinants and export (issue 18 item 4).
  struct Billing {
    std::string tariff;                   // [tariffs.NAME] of meters whose group names none; empty = one band "all"
  } billing;
  // [gateway] the TCP gateway (issue 16, docs/gateway.md): DTUs polled over TCP, DLMS pushes.
  struct Gateway {
    std::string listen;                   // "host:port" DTUs connect to; empty = no gateway
    std::string dlms_listen;              // "host:port" DLMS meters push to (IEC 62056-47 wrapper); empty = off
    std::string poll_timeout = "5s";      // a meter's answer must arrive within this
    int poll_retries = 2;                 // requests repeated after a timeout before the meter counts as silent
    std::string idle_timeout = "300s";    // a connection silent this long is closed
    int max_connections = 1000;           // DTU and DLMS connections together
    std::string registration = "line";    // DTU registration packet: "line" (ASCII id ending \n) or "binary:N"
    std::string poll_interval;            // how often each meter is polled; empty = the meter's upload interval
  } gateway;
  // [tariffs.NAME]: tariff calendars (docs/billing.md), checked by billing::TariffCalendar::Parse.
  std::map<std::string, billing::TariffSpec> tariffs;

  // [groups.NAME]: what differs for a meter group (set by PUT /api/v1/meters/{id} {"group":…}).
  // Unset keys take the [vee] / [alerts] value; `keys` holds the ones the file set.
  struct Group {
    std::vector<std::string> peak;
    double alert_coefficient = 1.0;
    int max_alerts_per_period = 1;
    std::string quiet_hours;
    std::string tariff;                   // [tariffs.NAME] the group's meters are billed by
    std::set<std::string> keys;
  };
  std::map<std::string, Group> groups;
  // [customers.ID]: a customer's own alert limit (claim 7: "according to the target user").
  struct Customer {
    int max_alerts_per_period = 1;
  };
  std::map<std::string, Customer> customers;

  std::set<std::string> keys_in_file;     // "section.key" of every key the file set
};

// Reads `path`; unknown sections/keys and wrong types are errors naming the key and line.
Result<Config> LoadConfig(const std::string& path);
// The defaults as a commented TOML document (`meterhub config defaults`).
std::string DefaultConfigToml();
// `config`'s value of every key as TOML (no named tables: groups, customers, tariffs) — e.g. for
// the demo's extra workers, which must judge as the first one does.
std::string ConfigToml(const Config& config);
// `meterhub vee --config FILE`: fills the options the command line left unset from the same file
// the daemon reads ([vee] keys, and [ingest] interval and timezone).
Status FillVeeArgsFromConfig(const std::string& path, vee::VeeArgs* args);

// The pipeline options the [vee] and [ingest] sections describe.
Result<ingest::PipelineOptions> PipelineOptionsOf(const Config& config);

// Where [store] says the stores live: store.path (sqlite) or store.url (postgres). Every command
// opens its stores from this (store/store_open.h), never from the keys themselves.
store::StoreLocation StoreLocationOf(const Config& config);

// [audit]: the ledger key file (key_file, or <store.path>.ledger.key with SQLite; PostgreSQL
// needs key_file: every worker signs with that one key) and the interval in seconds
// (0 = no schedule); InvalidArgument naming the key.
Result<std::string> AuditKeyFileOf(const Config& config);
Result<int64_t> AuditIntervalOf(const Config& config);
// The audit server's options the [audit] section describes; InvalidArgument naming the key.
Result<audit::AuditServiceOptions> AuditOptionsOf(const Config& config);
// Checks the [water] section (durations, window 6h|12h, thresholds).
Status CheckWaterConfig(const Config& config);
// water.pair_tolerance in seconds: water::kHalfInterval for "auto", 0 for "0", else a duration.
Result<int64_t> WaterPairToleranceOf(const Config& config);

// The tariff calendars of every meter group and the [billing] default, checked.
Result<billing::TariffBook> TariffBookOf(const Config& config);

// The dispatcher options the [alerts] section describes (give_up_after parsed).
Result<alerts::DispatcherOptions> DispatcherOptionsOf(const Config& config);

// The gateway's options the [gateway] section describes (durations parsed, registration checked).
Result<gateway::GatewayOptions> GatewayOptionsOf(const Config& config);
// The relay head-end options the [relay] section describes.
Result<relay::RelayServiceOptions> RelayOptionsOf(const Config& config);

}  // namespace mh::app
