#include "app/config.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include <toml++/toml.h>

#include "core/time.h"
#include "water/pairing.h"

namespace mh::app {
namespace {

// One configuration key: where it lives in Config, and what the README says of it.
struct Key {
  std::string section;
  std::string name;
  std::variant<std::string*, int64_t*, int*, double*, bool*, std::vector<std::string>*> field;
  std::string comment;
};

// Every key, bound to the fields of `c`: the single list that parsing, the defaults document and
// the README check all read.
std::vector<Key> Keys(Config& c) {
  return {
      {"store", "backend", &c.store.backend, "\"sqlite\" (embedded default) or \"postgres\""},
      {"store", "path", &c.store.path, "SQLite database file"},
      {"store", "url", &c.store.url, "PostgreSQL connection string, e.g. postgresql://user@127.0.0.1:5432/meterhub"},
      {"store", "synchronous", &c.store.synchronous, "SQLite: \"full\" (survives power loss) or \"normal\" (survives a crash)"},
      {"store", "pack_after", &c.store.pack_after, "fold the reading log into the packed blocks once it holds this many readings"},
      {"store", "pack_interval", &c.store.pack_interval, "... or at the latest this long after the last packing"},
      {"store", "max_size_mb", &c.store.max_size_mb, "SQLite: the database stops growing at this size and writes are refused with 507, as on a full disk; 0 = no limit"},
      {"http", "listen", &c.http.listen, "HTTP API address"},
      {"http", "max_body_bytes", &c.http.max_body_bytes, "larger request bodies are refused with 413, chunked ones too"},
      {"http", "threads", &c.http.threads, "HTTP handler threads (a slow client holds a connection, never a thread)"},
      {"http", "read_timeout", &c.http.read_timeout, "a request's headers and body must arrive within this (and an idle connection closes after it)"},
      {"http", "max_connections", &c.http.max_connections, "open connections at most"},
      {"http", "max_connections_per_client", &c.http.max_connections_per_client, "open connections per client IP address at most"},
      {"http", "metrics_token", &c.http.metrics_token, "set: /metrics needs 'Authorization: Bearer <it>'; empty = open"},
      {"http", "session_ttl", &c.http.session_ttl, "a dashboard login (session cookie) lasts this long"},
      {"http", "web_root", &c.http.web_root, "directory of the built dashboard; empty = web/ beside the meterhub binary"},
      {"http", "tls_cert", &c.http.tls_cert, "PEM certificate (chain) file; with tls_key set the API and dashboard are served over HTTPS only"},
      {"http", "tls_key", &c.http.tls_key, "PEM private key file of tls_cert"},
      {"http", "allow_plaintext", &c.http.allow_plaintext, "serve plain HTTP on a non-loopback listen address (without TLS the daemon refuses to start there)"},
      {"cluster", "worker_id", &c.cluster.worker_id, "this worker's name among the workers sharing one PostgreSQL (`serve --worker-id` overrides); empty = <hostname>-<pid>"},
      {"cluster", "lease_period", &c.cluster.lease_period, "PostgreSQL: a worker's shard leases lapse this long after their last renewal (renewed every third of it); another worker then takes its shards over"},
      {"mqtt", "broker", &c.mqtt.broker, "MQTT broker HOST:PORT; empty = no MQTT ingestion"},
      {"mqtt", "client_id", &c.mqtt.client_id, "prefix of the fixed client ids <client_id>-<shard>: one persistent session per shard"},
      {"mqtt", "connections", &c.mqtt.connections, "I/O threads driving the 64 shard sessions (each round's messages share one commit)"},
      {"mqtt", "commit_linger_ms", &c.mqtt.commit_linger_ms, "how long a commit of received readings waits for more sessions' messages to share it (one fsync for more readings; 0 = at once)"},
      {"mqtt", "username", &c.mqtt.username, "broker credentials (empty = anonymous)"},
      {"mqtt", "password", &c.mqtt.password, "broker password"},
      {"mqtt", "tls_ca", &c.mqtt.tls_ca, "PEM CA file the broker's certificate must chain to; set = every MQTT connection of the daemon uses TLS"},
      {"mqtt", "tls_cert", &c.mqtt.tls_cert, "PEM client certificate file, for brokers that require one (with tls_key)"},
      {"mqtt", "tls_key", &c.mqtt.tls_key, "PEM private key file of tls_cert"},
      {"mqtt", "provisioning", &c.mqtt.provisioning, "device credentials: \"file\" (`meterhub mqtt passwd|acl` write Mosquitto's password file and ACL) or \"dynsec\" (`meterhub mqtt passwd|revoke` add and remove devices at run time through the dynamic-security plugin)"},
      {"mqtt", "dynsec_admin_user", &c.mqtt.dynsec_admin_user, "dynsec: the plugin's admin client (`mosquitto_ctrl dynsec init FILE USER`)"},
      {"mqtt", "dynsec_admin_password_file", &c.mqtt.dynsec_admin_password_file, "dynsec: file whose first line is that admin's password"},
      {"ingest", "auto_register", &c.ingest.auto_register, "readings of unknown meters: register them (true) or reject them (false)"},
      {"ingest", "default_kind", &c.ingest.default_kind, "kind of auto-registered meters: electricity or water"},
      {"ingest", "interval", &c.ingest.interval, "nominal upload interval of auto-registered meters"},
      {"ingest", "timezone", &c.ingest.timezone, "time zone of auto-registered meters: a UTC offset or an IANA name (Europe/Berlin)"},
      {"ingest", "frame_keys_file", &c.ingest.frame_keys_file, "keys that decrypt raw frames (wM-Bus modes 5/7, DLMS ciphering): a CSV of `address,key[,auth_key]` in hex, as `meterhub decode --keys`; must not be readable by others"},
      {"ingest", "max_future", &c.ingest.max_future, "readings stamped later than the server's clock + this + the meter's interval are refused (future_timestamp events)"},
      {"vee", "spike_coefficient", &c.vee.spike_coefficient, "T2 = max peak difference per interval x this (seed: 1.1-1.3)"},
      {"vee", "alert_coefficient", &c.vee.alert_coefficient, "T1 = max peak sub-period consumption x this"},
      {"vee", "t2_quantile", &c.vee.t2_quantile, "1.0 = the seed's max; e.g. 0.99 for a robust T2"},
      {"vee", "negative_tolerance", &c.vee.negative_tolerance, "backward steps up to this are zero consumption (0 = seed-exact; e.g. 0.002 m3 for water)"},
      {"vee", "reset_after", &c.vee.reset_after, "re-judge after this many consecutive readings below p (meter reset, or p was a spike) or rising above it (sustained load, or a register step); 0 = off"},
      {"vee", "max_interval_consumption", &c.vee.max_interval_consumption, "physical ceiling per nominal interval (0 = off)"},
      {"vee", "peak", &c.vee.peak, "peak period to learn T1/T2 from: one range FROM..TO (dates or timestamps) or MM-DD..MM-DD (every year), or an array of them; empty = none"},
      {"vee", "period", &c.vee.period, "target period of the alert: day, week or month"},
      {"vee", "max_alerts_per_period", &c.vee.max_alerts_per_period, "at most this many alerts per terminal and period"},
      {"vee", "same_period_coefficient", &c.vee.same_period_coefficient, "\"same time last period\" check: a reading more than this x the learned T1 above the accepted reading one period earlier is sudden; 0 = off"},
      {"vee", "estimation", &c.vee.estimation, "estimate the readings a gap lacks (and quarantined ones) when an accepted reading closes it: stored with quality E (docs/estimation.md); off by default, since estimates are stored readings that reading lists, counts and exports then include"},
      {"vee", "estimate_max_gap", &c.vee.estimate_max_gap, "gaps longer than this (previous accepted reading to the closing one) are left unestimated"},
      {"relay", "enabled", &c.relay.enabled, "run the relay head-end (seed 000): level reports, target sub-periods, region keys, forwarded batches"},
      {"relay", "window", &c.relay.window, "nightly total period HH:MM-HH:MM, local time (SPEC 2.1)"},
      {"relay", "slot", &c.relay.slot, "sub-period length"},
      {"relay", "slots_per_region", &c.relay.slots_per_region, "sub-periods allocated to each region"},
      {"relay", "region_pattern", &c.relay.region_pattern, "regular expression taking the region name from an install address; empty = SPEC 2.1 default"},
      {"relay", "key_rotation", &c.relay.key_rotation, "region keys older than this are rotated (e.g. 30d)"},
      {"relay", "fanout", &c.relay.fanout, "sent to the meters: \"all\" = a failed batch goes to every chosen relay (seed step 108), \"first\" = relay by relay until one succeeds"},
      {"relay", "uplink_failure_nights", &c.relay.uplink_failure_nights, "a meter whose own uplink failed on this many consecutive nights gets a maintenance work order (one per streak)"},
      {"relay", "work_order_url", &c.relay.work_order_url, "URL the uplink work orders are POSTed to (JSON); empty = orders stay open"},
      {"water", "enabled", &c.water.enabled, "run the water remote maintenance loop (seed 001): frames, windows, commands, photos"},
      {"water", "window", &c.water.window, "pre-check window, 6h or 12h, aligned to UTC midnight (SPEC 3.3)"},
      {"water", "close_after", &c.water.close_after, "a window missing its partner device's data is checked this long after its end"},
      {"water", "command_expiry", &c.water.command_expiry, "maintenance commands expire this long after they are issued"},
      {"water", "pair_tolerance", &c.water.pair_tolerance, "samples of the terminal and its flowmeter pair when this far apart (clocks drift); auto = half the sample interval, 0 = the same instant only"},
      {"water", "calibration_period", &c.water.calibration_period, "a reference flowmeter calibrated longer ago than this is not trusted: its windows command nothing and a calibration order is opened"},
      {"water", "p_min", &c.water.p_min, "form A: share of same-sign differences inside [d_lo, d_hi]"},
      {"water", "d_lo", &c.water.d_lo, "form A threshold range, low end (m3/h)"},
      {"water", "d_hi", &c.water.d_hi, "form A threshold range, high end (m3/h)"},
      {"water", "r2_min", &c.water.r2_min, "form B: the fitted mapping must explain the data this well"},
      {"water", "tol_rel", &c.water.tol_rel, "accuracy tolerance, relative part (of the flow)"},
      {"water", "tol_abs", &c.water.tol_abs, "accuracy tolerance, absolute part (m3/h)"},
      {"water", "pairs_file", &c.water.pairs_file, "CSV terminal_id,flowmeter_id,phone loaded into the pairing table at start; empty = none"},
      {"water", "work_order_url", &c.water.work_order_url, "webhook that receives opened work orders; empty = none"},
      {"water", "photo_unit_m3", &c.water.photo_unit_m3, "volume of one step of the register's last drum (m3)"},
      {"water", "photo_digits", &c.water.photo_digits, "drums on the register; 0 = estimate from the photo"},
      {"water", "photo_min_units", &c.water.photo_min_units, "register steps a photo span must cover before it corrects the parameters"},
      {"water", "max_se_a1", &c.water.max_se_a1, "parameters are sent when the slope's relative standard error is at most this; else the case pools the next windows"},
      {"water", "max_deferred_windows", &c.water.max_deferred_windows, "pooled windows after which parameters are sent whatever their precision; 0 = from the detecting window at once"},
      {"water", "max_photo_pixels", &c.water.max_photo_pixels, "photos (and video frames) with more pixels are refused (413) from their header, before decoding"},
      {"water", "max_upload_bytes", &c.water.max_upload_bytes, "largest photo or video upload (bytes); larger ones get 413 unread"},
      {"water", "max_video_frames", &c.water.max_video_frames, "videos declaring (or decoding to) more frames are refused (413)"},
      {"water", "max_video_seconds", &c.water.max_video_seconds, "videos lasting longer are refused (413) from their header"},
      {"water", "upload_url", &c.water.upload_url, "where the self-check notice sends the customer's photos ({terminal} = its id); empty = none"},
      {"water", "reply_to", &c.water.reply_to, "address (MMS number, e-mail) the notice names for the photos; empty = reply to the message"},
      {"alerts", "give_up_after", &c.alerts.give_up_after, "a delivery's round of attempts ends (failed) this long after its first attempt; \"0\" = never"},
      {"alerts", "quiet_hours", &c.alerts.quiet_hours, "HH:MM-HH:MM in the meter's time zone (e.g. 22:00-07:00): alerts created then wait and are delivered after it; empty = none"},
      {"alerts", "max_attempts", &c.alerts.dispatcher.max_attempts, "attempts per round before a delivery is marked failed; 0 = no cap (give_up_after decides)"},
      {"alerts", "initial_backoff_ms", &c.alerts.dispatcher.initial_backoff_ms, "wait after the first failure, doubled each time"},
      {"alerts", "max_backoff_ms", &c.alerts.dispatcher.max_backoff_ms, "longest wait between attempts"},
      {"alerts", "poll_interval_ms", &c.alerts.dispatcher.poll_interval_ms, "how often pending deliveries are looked for"},
      {"alerts", "threads", &c.alerts.dispatcher.threads, "sender threads"},
      {"alerts.webhook", "secret", &c.alerts.webhook.secret, "HMAC-SHA256 key for X-MeterHub-Signature; empty = unsigned"},
      {"alerts.webhook", "timeout_ms", &c.alerts.webhook.timeout_ms, "whole request timeout"},
      {"alerts.webhook", "allow_private", &c.alerts.webhook.allow_private, "let terminals' webhooks reach loopback, private, link-local and other non-public addresses"},
      {"alerts.sms", "url", &c.alerts.sms.url, "SMS gateway endpoint (HTTP POST {to, text}); empty = SMS off"},
      {"alerts.sms", "token", &c.alerts.sms.token, "bearer token for the gateway"},
      {"alerts.email", "url", &c.alerts.email.url, "SMTP server: smtp://host:port or smtps://host:port"},
      {"alerts.email", "from", &c.alerts.email.from, "sender address"},
      {"alerts.email", "username", &c.alerts.email.username, "SMTP AUTH user (empty = none)"},
      {"alerts.email", "password", &c.alerts.email.password, "SMTP AUTH password"},
      {"alerts.email", "starttls", &c.alerts.email.starttls, "require STARTTLS on smtp://"},
      {"log", "level", &c.log.level, "trace, debug, info, warn or error"},
      {"log", "json", &c.log.json, "one JSON object per log line"},
      {"audit", "enabled", &c.audit.enabled, "run the tamper-audit server (seed 002): ledger, audit topics, audits, inspection orders"},
      {"audit", "key_file", &c.audit.key_file, "Ed25519 ledger signing key (hex, mode 0600; generated at first start); empty = the store path + \".ledger.key\" (required with store.backend = \"postgres\")"},
      {"audit", "interval", &c.audit.interval, "audit every meter that sent segments this often; 0 = only on request"},
      {"audit", "tolerance_s", &c.audit.tolerance_s, "time check tolerance between ledger times and slots, seconds"},
      {"audit", "inspection_webhook", &c.audit.inspection_webhook, "URL inspection orders are POSTed to (JSON); empty = orders stay open"},
      {"audit", "segments_timeout", &c.audit.segments_timeout, "a requested audit asks the meter for its segments and waits this long for them (then audits the stored ones)"},
      {"audit", "max_silent", &c.audit.max_silent, "segment requests in a row a meter leaves unanswered before its audit opens an inspection order"},
      {"audit", "max_waiting_runs", &c.audit.max_waiting_runs, "requested audits waiting for their meters at once (each holds an HTTP worker; at most http.threads - 1); more are answered 503 with Retry-After"},
      {"audit", "cycle_history_days", &c.audit.cycle_history_days, "days of consumption the cycle length D compares with the region (SPEC 4.1)"},
      {"gateway", "listen", &c.gateway.listen, "host:port transparent DTUs connect to (docs/gateway.md); empty = no TCP gateway"},
      {"gateway", "dlms_listen", &c.gateway.dlms_listen, "host:port DLMS meters push to over the IEC 62056-47 wrapper; empty = off"},
      {"gateway", "poll_timeout", &c.gateway.poll_timeout, "a polled meter's answer must arrive within this"},
      {"gateway", "poll_retries", &c.gateway.poll_retries, "read requests repeated after a timeout before the meter is counted as not answering"},
      {"gateway", "idle_timeout", &c.gateway.idle_timeout, "a DTU or DLMS connection that sends nothing for this long is closed"},
      {"gateway", "max_connections", &c.gateway.max_connections, "DTU and DLMS connections at once; more are closed at accept"},
      {"gateway", "registration", &c.gateway.registration, "a DTU's registration packet: \"line\" (its id in ASCII ending \\n) or \"binary:N\" (its id in N bytes, printed as hex)"},
      {"gateway", "poll_interval", &c.gateway.poll_interval, "how often the meters behind a DTU are read; empty = each meter's upload interval"},
      {"billing", "tariff", &c.billing.tariff, "the [tariffs.NAME] calendar of meters whose group names none; empty = all consumption in one band \"all\""},
  };
}

// The keys of one [groups.NAME] table.
std::vector<Key> GroupKeys(const std::string& name, Config::Group& g) {
  const std::string section = "groups." + name;
  return {
      {section, "peak", &g.peak, "the group's peak period (as vee.peak)"},
      {section, "alert_coefficient", &g.alert_coefficient, "the group's T1 coefficient (as vee.alert_coefficient)"},
      {section, "max_alerts_per_period", &g.max_alerts_per_period, "the group's alert limit (as vee.max_alerts_per_period)"},
      {section, "quiet_hours", &g.quiet_hours, "the group's quiet hours (as alerts.quiet_hours)"},
      {section, "tariff", &g.tariff, "the [tariffs.NAME] calendar the group's meters are billed by (as billing.tariff)"},
  };
}

std::vector<Key> CustomerKeys(const std::string& id, Config::Customer& c) {
  return {{"customers." + id, "max_alerts_per_period", &c.max_alerts_per_period,
           "the customer's own alert limit per terminal and period (wins over the group's)"}};
}

std::string Quote(const std::string& s) {
  std::ostringstream o;
  o << toml::value<std::string>(s);
  return o.str();
}

std::string ValueText(const Key& k) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) return Quote(*p);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          if (p->empty()) return Quote("");
          if (p->size() == 1) return Quote(p->front());
          std::string out = "[";
          for (size_t i = 0; i < p->size(); ++i) out += (i ? ", " : "") + Quote((*p)[i]);
          return out + "]";
        }
        else if constexpr (std::is_same_v<T, bool>) return *p ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) {
          std::ostringstream o;
          o << *p;
          std::string s = o.str();
          if (s.find_first_of(".e") == std::string::npos) s += ".0";
          return s;
        } else return std::to_string(*p);
      },
      k.field);
}

std::string Where(const toml::node& n, const std::string& path) {
  const auto& src = n.source();
  std::string file = src.path ? std::string(*src.path) : std::string("config");
  return file + ":" + std::to_string(src.begin.line) + ": " + path;
}

Status Assign(const Key& k, const toml::node& n) {
  std::string path = k.section + "." + k.name;
  return std::visit(
      [&](auto* p) -> Status {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!n.is_string()) return InvalidArgument(Where(n, path) + ": expected a string");
          *p = *n.value<std::string>();
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          // One string (today's form) or an array of strings.
          p->clear();
          if (n.is_string()) {
            if (!n.value<std::string>()->empty()) p->push_back(*n.value<std::string>());
          } else if (n.is_array()) {
            for (const toml::node& e : *n.as_array()) {
              if (!e.is_string()) return InvalidArgument(Where(n, path) + ": expected an array of strings");
              p->push_back(*e.value<std::string>());
            }
          } else {
            return InvalidArgument(Where(n, path) + ": expected a string or an array of strings");
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!n.is_boolean()) return InvalidArgument(Where(n, path) + ": expected true or false");
          *p = *n.value<bool>();
        } else if constexpr (std::is_same_v<T, double>) {
          if (!n.is_number()) return InvalidArgument(Where(n, path) + ": expected a number");
          *p = *n.value<double>();
        } else {
          if (!n.is_integer()) return InvalidArgument(Where(n, path) + ": expected an integer");
          *p = static_cast<T>(*n.value<int64_t>());
        }
        return Status::Ok();
      },
      k.field);
}

// [groups.NAME] and [customers.ID]: tables of tables whose names the operator chooses.
Status ReadNamedTables(const toml::node& node, const std::string& kind, Config* config) {
  if (!node.is_table()) return InvalidArgument(Where(node, kind) + ": expected tables [" + kind + ".NAME]");
  for (const auto& [name_key, sub] : *node.as_table()) {
    const std::string name(name_key.str());
    const std::string section = kind + "." + name;
    if (!sub.is_table()) return InvalidArgument(Where(sub, section) + ": expected a table [" + section + "]");
    if (name.empty() || name.size() > 64 ||
        name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") != std::string::npos)
      return InvalidArgument(Where(sub, section) + ": a name of 1-64 characters [A-Za-z0-9_.@-]");
    std::vector<Key> keys;
    std::set<std::string>* set = nullptr;
    if (kind == "groups") {
      Config::Group& g = config->groups[name];
      keys = GroupKeys(name, g);
      set = &g.keys;
    } else {
      keys = CustomerKeys(name, config->customers[name]);
    }
    for (const auto& [k, v] : *sub.as_table()) {
      const std::string key(k.str());
      auto it = std::find_if(keys.begin(), keys.end(), [&](const Key& x) { return x.name == key; });
      if (it == keys.end()) return InvalidArgument(Where(v, section + "." + key) + ": unknown key '" + section + "." + key + "'");
      MH_RETURN_IF_ERROR(Assign(*it, v));
      if (set != nullptr) set->insert(key);
      config->keys_in_file.insert(section + "." + key);
    }
  }
  return Status::Ok();
}

// [tariffs.NAME]: bands, week, holidays, holiday, days.SCHEDULE and [tariffs.NAME.seasons.SEASON].
Status ReadTariffs(const toml::node& node, Config* config) {
  if (!node.is_table()) return InvalidArgument(Where(node, "tariffs") + ": expected tables [tariffs.NAME]");
  for (const auto& [name_key, sub] : *node.as_table()) {
    const std::string name(name_key.str());
    const std::string section = "tariffs." + name;
    if (!sub.is_table()) return InvalidArgument(Where(sub, section) + ": expected a table [" + section + "]");
    billing::TariffSpec& t = config->tariffs[name];
    const std::vector<Key> keys = {{section, "bands", &t.bands, ""},
                                   {section, "week", &t.week, ""},
                                   {section, "holidays", &t.holidays, ""},
                                   {section, "holiday", &t.holiday, ""}};
    for (const auto& [k, v] : *sub.as_table()) {
      const std::string key(k.str());
      if (key == "days" || key == "seasons") {
        if (!v.is_table()) return InvalidArgument(Where(v, section + "." + key) + ": expected a table");
        for (const auto& [item_key, item] : *v.as_table()) {
          const std::string item_name(item_key.str()), at = section + "." + key + "." + item_name;
          if (key == "days") {
            MH_RETURN_IF_ERROR(Assign({section + "." + key, item_name, &t.days[item_name], ""}, item));
            continue;
          }
          if (!item.is_table()) return InvalidArgument(Where(item, at) + ": expected a table with dates and week");
          billing::TariffSpec::Season& season = t.seasons[item_name];
          for (const auto& [sk, sv] : *item.as_table()) {
            const std::string skey(sk.str());
            if (skey != "dates" && skey != "week") return InvalidArgument(Where(sv, at + "." + skey) + ": unknown key (dates, week)");
            MH_RETURN_IF_ERROR(Assign({at, skey, skey == "dates" ? &season.dates : &season.week, ""}, sv));
          }
        }
        continue;
      }
      auto it = std::find_if(keys.begin(), keys.end(), [&](const Key& x) { return x.name == key; });
      if (it == keys.end())
        return InvalidArgument(Where(v, section + "." + key) + ": unknown key '" + section + "." + key +
                               "' (bands, days, week, seasons, holidays, holiday)");
      MH_RETURN_IF_ERROR(Assign(*it, v));
    }
    config->keys_in_file.insert(section);
  }
  return Status::Ok();
}

}  // namespace

Result<Config> LoadConfig(const std::string& path) {
  Config config;
  std::vector<Key> keys = Keys(config);
  std::map<std::string, std::map<std::string, const Key*>> by_section;
  for (const auto& k : keys) by_section[k.section][k.name] = &k;

  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  // Walk every table, including dotted ones like [alerts.webhook]; unknown keys are errors
  // (a misspelt key silently ignored is a setting silently lost).
  std::function<Status(const toml::table&, const std::string&)> walk = [&](const toml::table& t,
                                                                            const std::string& prefix) -> Status {
    for (const auto& [name, node] : t) {
      std::string key(name.str());
      std::string full = prefix.empty() ? key : prefix + "." + key;
      if (prefix.empty() && (key == "groups" || key == "customers")) {
        MH_RETURN_IF_ERROR(ReadNamedTables(node, key, &config));
        continue;
      }
      if (prefix.empty() && key == "tariffs") {
        MH_RETURN_IF_ERROR(ReadTariffs(node, &config));
        continue;
      }
      if (node.is_table()) {
        if (!by_section.count(full) && !std::any_of(by_section.begin(), by_section.end(), [&](const auto& s) {
              return s.first.rfind(full + ".", 0) == 0;
            }))
          return InvalidArgument(Where(node, full) + ": unknown section [" + full + "]");
        MH_RETURN_IF_ERROR(walk(*node.as_table(), full));
        continue;
      }
      auto sec = by_section.find(prefix);
      if (sec == by_section.end() || !sec->second.count(key))
        return InvalidArgument(Where(node, full) + ": unknown key '" + full + "'");
      MH_RETURN_IF_ERROR(Assign(*sec->second.at(key), node));
      config.keys_in_file.insert(full);
    }
    return Status::Ok();
  };
  MH_RETURN_IF_ERROR(walk(root, ""));
  if (config.store.backend != "sqlite" && config.store.backend != "postgres")
    return InvalidArgument(path + ": store.backend must be \"sqlite\" or \"postgres\"");
  if (config.store.backend == "postgres") {
    if (!store::IsPostgresUrl(config.store.url))
      return InvalidArgument(path + ": store.url must be a postgresql:// URL with store.backend = \"postgres\"");
    if (config.audit.key_file.empty())
      return InvalidArgument(path + ": audit.key_file is required with store.backend = \"postgres\" (every worker signs the ledger with that one key)");
  }
  if (config.mqtt.provisioning != "file" && config.mqtt.provisioning != "dynsec")
    return InvalidArgument(path + ": mqtt.provisioning must be \"file\" or \"dynsec\"");
  if (config.mqtt.provisioning == "dynsec" && config.mqtt.dynsec_admin_user.empty())
    return InvalidArgument(path + ": mqtt.provisioning = \"dynsec\" needs mqtt.dynsec_admin_user");
  if (config.store.synchronous != "full" && config.store.synchronous != "normal")
    return InvalidArgument(path + ": store.synchronous must be \"full\" or \"normal\"");
  if (config.store.max_size_mb < 0) return InvalidArgument(path + ": store.max_size_mb must be >= 0");
  auto options = PipelineOptionsOf(config);
  if (!options.ok()) return options.status().WithContext(path);
  auto relay = RelayOptionsOf(config);
  if (!relay.ok()) return relay.status().WithContext(path);
  if (auto audit = AuditIntervalOf(config); !audit.ok()) return audit.status().WithContext(path);
  if (auto audit = AuditOptionsOf(config); !audit.ok()) return audit.status().WithContext(path);
  MH_RETURN_IF_ERROR(CheckWaterConfig(config).WithContext(path));
  if (config.mqtt.commit_linger_ms < 0 || config.mqtt.commit_linger_ms > 1000)
    return InvalidArgument(path + ": mqtt.commit_linger_ms: 0 to 1000 milliseconds");
  if (config.store.pack_after <= 0) return InvalidArgument(path + ": store.pack_after must be positive");
  if (auto d = ParseDuration(config.store.pack_interval); !d.ok() || *d <= 0)
    return InvalidArgument(path + ": store.pack_interval: a positive duration, e.g. 1h");
  if (auto d = ParseDuration(config.cluster.lease_period); !d.ok() || *d <= 0)
    return InvalidArgument(path + ": cluster.lease_period: a positive duration, e.g. 10s");
  MH_RETURN_IF_ERROR(DispatcherOptionsOf(config).status().WithContext(path));
  MH_RETURN_IF_ERROR(TariffBookOf(config).status().WithContext(path));
  MH_RETURN_IF_ERROR(GatewayOptionsOf(config).status().WithContext(path));
  return config;
}

std::string ConfigToml(const Config& config) {
  Config copy = config;  // Keys() binds to non-const fields; nothing is written through them here
  std::ostringstream out;
  std::string section;
  for (const auto& k : Keys(copy)) {
    if (k.section != section) {
      section = k.section;
      out << "\n[" << section << "]\n";
    }
    out << k.name << " = " << ValueText(k) << "  # " << k.comment << "\n";
  }
  return out.str();
}

std::string DefaultConfigToml() {
  std::ostringstream out;
  out << "# MeterHub configuration: every key with its default.\n" << ConfigToml(Config{});
  std::string section;
  // Named tables: none by default; their keys, shown commented out.
  out << "\n# Meter groups: a meter joins one with PUT /api/v1/meters/{id} {\"group\": \"NAME\"}; unset keys\n"
         "# take the [vee] / [alerts] values.\n";
  Config::Group group;
  for (const auto& k : GroupKeys("NAME", group)) {
    if (k.section != section) {
      section = k.section;
      out << "# [" << section << "]\n";
    }
    out << "# " << k.name << " = " << ValueText(k) << "  # " << k.comment << "\n";
  }
  Config::Customer customer;
  for (const auto& k : CustomerKeys("ID", customer)) {
    out << "# [" << k.section << "]\n# " << k.name << " = " << ValueText(k) << "  # " << k.comment << "\n";
  }
  out << "\n# Tariff calendars (docs/billing.md): a group uses one with groups.NAME.tariff, other meters billing.tariff.\n"
         "# [tariffs.NAME]\n"
         "# bands = [\"peak\", \"flat\", \"valley\"]  # every band, in report order\n"
         "# days.workday = [\"00:00 valley\", \"08:00 peak\", \"11:00 flat\"]  # band in force from each local time\n"
         "# days.restday = [\"00:00 valley\", \"08:00 flat\"]\n"
         "# week = [\"workday\", \"workday\", \"workday\", \"workday\", \"workday\", \"restday\", \"restday\"]  # Monday first\n"
         "# holidays = [\"01-01\", \"2024-10-01..2024-10-07\"]  # yearly MM-DD, dates or date ranges\n"
         "# holiday = \"restday\"  # the day schedule of holidays\n"
         "# [tariffs.NAME.seasons.SEASON]\n"
         "# dates = [\"07-01..08-31\"]  # yearly ranges\n"
         "# week = [\"summer\", \"summer\", \"summer\", \"summer\", \"summer\", \"restday\", \"restday\"]\n";
  return out.str();
}

Status FillVeeArgsFromConfig(const std::string& path, vee::VeeArgs* a) {
  MH_ASSIGN_OR_RETURN(Config c, LoadConfig(path));
  auto set = [&](const char* key) { return c.keys_in_file.count(key) > 0; };
  if (a->peak.empty() && set("vee.peak")) a->peak = c.vee.peak;
  if (!a->period && set("vee.period")) a->period = c.vee.period;
  if (!a->interval && set("ingest.interval")) a->interval = c.ingest.interval;
  if (!a->tz && set("ingest.timezone")) a->tz = c.ingest.timezone;
  if (!a->spike_coefficient && set("vee.spike_coefficient")) a->spike_coefficient = c.vee.spike_coefficient;
  if (!a->alert_coefficient && set("vee.alert_coefficient")) a->alert_coefficient = c.vee.alert_coefficient;
  if (!a->max_alerts && set("vee.max_alerts_per_period")) a->max_alerts = c.vee.max_alerts_per_period;
  if (!a->negative_tolerance && set("vee.negative_tolerance")) a->negative_tolerance = c.vee.negative_tolerance;
  if (!a->reset_after && set("vee.reset_after")) a->reset_after = c.vee.reset_after;
  if (!a->max_interval_consumption && set("vee.max_interval_consumption"))
    a->max_interval_consumption = c.vee.max_interval_consumption;
  if (!a->t2_quantile && set("vee.t2_quantile")) a->t2_quantile = c.vee.t2_quantile;
  if (!a->same_period_coefficient && set("vee.same_period_coefficient"))
    a->same_period_coefficient = c.vee.same_period_coefficient;
  return Status::Ok();
}

Result<billing::TariffBook> TariffBookOf(const Config& c) {
  std::map<std::string, billing::TariffCalendar> calendars;
  for (const auto& [name, spec] : c.tariffs) {
    auto cal = billing::TariffCalendar::Parse(spec);
    if (!cal.ok()) return cal.status().WithContext("tariffs." + name);
    calendars.emplace(name, std::move(*cal));
  }
  auto find = [&](const std::string& name, const std::string& key) -> Result<const billing::TariffCalendar*> {
    auto it = calendars.find(name);
    if (it == calendars.end()) return InvalidArgument(key + ": no [tariffs." + name + "] in the configuration");
    return &it->second;
  };
  billing::TariffBook book;
  if (!c.billing.tariff.empty()) {
    MH_ASSIGN_OR_RETURN(const billing::TariffCalendar* cal, find(c.billing.tariff, "billing.tariff"));
    book.fallback = *cal;
  }
  for (const auto& [name, g] : c.groups) {
    if (g.tariff.empty()) continue;
    MH_ASSIGN_OR_RETURN(const billing::TariffCalendar* cal, find(g.tariff, "groups." + name + ".tariff"));
    book.by_group.emplace(name, *cal);
  }
  return book;
}

Result<ingest::PipelineOptions> PipelineOptionsOf(const Config& c) {
  ingest::PipelineOptions o;
  o.vee.spike_coefficient = c.vee.spike_coefficient;
  o.vee.alert_coefficient = c.vee.alert_coefficient;
  o.vee.t2_quantile = c.vee.t2_quantile;
  o.vee.negative_tolerance = c.vee.negative_tolerance;
  o.vee.reset_after = c.vee.reset_after;
  o.vee.max_interval_consumption = c.vee.max_interval_consumption;
  o.vee.max_alerts_per_period = c.vee.max_alerts_per_period;
  auto period = ParsePeriodKind(c.vee.period);
  if (!period.ok()) return period.status().WithContext("vee.period");
  o.vee.period = *period;
  auto tz = TimeZone::Parse(c.ingest.timezone);
  if (!tz.ok()) return tz.status().WithContext("ingest.timezone");
  o.default_meter.tz = *tz;
  auto interval = ParseDuration(c.ingest.interval);
  if (!interval.ok()) return interval.status().WithContext("ingest.interval");
  o.default_meter.interval_s = *interval;
  auto peak = vee::ParsePeak(c.vee.peak, *tz);
  if (!peak.ok()) return peak.status().WithContext("vee.peak");
  o.vee.peak = *peak;
  if (c.vee.spike_coefficient <= 0 || c.vee.alert_coefficient <= 0)
    return InvalidArgument("vee: coefficients must be positive");
  if (c.vee.max_alerts_per_period < 0) return InvalidArgument("vee.max_alerts_per_period must be >= 0");
  if (!(c.vee.same_period_coefficient >= 0)) return InvalidArgument("vee.same_period_coefficient must be >= 0");
  o.vee.same_period_coefficient = c.vee.same_period_coefficient;
  o.estimation.enabled = c.vee.estimation;
  auto max_gap = ParseDuration(c.vee.estimate_max_gap);
  if (!max_gap.ok()) return max_gap.status().WithContext("vee.estimate_max_gap");
  if (*max_gap <= 0) return InvalidArgument("vee.estimate_max_gap must be positive");
  o.estimation.max_gap_s = *max_gap;
  if (!c.alerts.quiet_hours.empty()) {
    auto quiet = alerts::ParseQuietHours(c.alerts.quiet_hours);
    if (!quiet.ok()) return quiet.status().WithContext("alerts.quiet_hours");
    o.quiet_hours = *quiet;
  }
  // Meter groups: the defaults above with the group's own keys.
  for (const auto& [name, g] : c.groups) {
    const std::string at = "groups." + name;
    ingest::GroupSettings& gs = o.groups[name];
    gs.vee = o.vee;
    gs.quiet_hours = o.quiet_hours;
    if (g.keys.count("peak")) {
      auto group_peak = vee::ParsePeak(g.peak, *tz);
      if (!group_peak.ok()) return group_peak.status().WithContext(at + ".peak");
      gs.vee.peak = *group_peak;
    }
    if (g.keys.count("alert_coefficient")) {
      if (!(g.alert_coefficient > 0)) return InvalidArgument(at + ".alert_coefficient must be positive");
      gs.vee.alert_coefficient = g.alert_coefficient;
    }
    if (g.keys.count("max_alerts_per_period")) {
      if (g.max_alerts_per_period < 0) return InvalidArgument(at + ".max_alerts_per_period must be >= 0");
      gs.vee.max_alerts_per_period = g.max_alerts_per_period;
    }
    if (g.keys.count("quiet_hours")) {
      gs.quiet_hours.reset();
      if (!g.quiet_hours.empty()) {
        auto quiet = alerts::ParseQuietHours(g.quiet_hours);
        if (!quiet.ok()) return quiet.status().WithContext(at + ".quiet_hours");
        gs.quiet_hours = *quiet;
      }
    }
  }
  for (const auto& [id, customer] : c.customers) {
    if (customer.max_alerts_per_period < 0)
      return InvalidArgument("customers." + id + ".max_alerts_per_period must be >= 0");
    o.customer_max_alerts[id] = customer.max_alerts_per_period;
  }
  o.auto_register = c.ingest.auto_register;
  o.auto_register_kind = c.ingest.default_kind;
  auto max_future = ParseDuration(c.ingest.max_future);
  if (!max_future.ok()) return max_future.status().WithContext("ingest.max_future");
  if (*max_future < 0) return InvalidArgument("ingest.max_future must be >= 0");
  o.max_future_s = *max_future;
  return o;
}

store::StoreLocation StoreLocationOf(const Config& c) {
  store::StoreLocation at;
  at.location = c.store.backend == "postgres" ? c.store.url : c.store.path;
  at.synchronous = c.store.synchronous;
  at.max_size_bytes = c.store.max_size_mb << 20;
  return at;
}

Result<std::string> AuditKeyFileOf(const Config& c) {
  if (!c.audit.key_file.empty()) return c.audit.key_file;
  if (c.store.backend == "postgres")
    return InvalidArgument("audit.key_file: required with store.backend = \"postgres\" (every worker signs the ledger with that one key)");
  return c.store.path + ".ledger.key";
}

Result<int64_t> AuditIntervalOf(const Config& c) {
  if (c.audit.interval == "0") return int64_t{0};
  Result<int64_t> d = ParseDuration(c.audit.interval);
  if (!d.ok()) return d.status().WithContext("audit.interval");
  return d;
}

Result<audit::AuditServiceOptions> AuditOptionsOf(const Config& c) {
  audit::AuditServiceOptions o;
  if (c.audit.tolerance_s < 0) return InvalidArgument("audit.tolerance_s must be >= 0");
  o.tolerance_s = c.audit.tolerance_s;
  Result<int64_t> timeout = ParseDuration(c.audit.segments_timeout);
  if (!timeout.ok()) return timeout.status().WithContext("audit.segments_timeout");
  if (*timeout < 1 || *timeout > 600) return InvalidArgument("audit.segments_timeout must be 1s..10m");
  o.segments_timeout_ms = *timeout * 1000;
  if (c.audit.max_silent < 1) return InvalidArgument("audit.max_silent must be >= 1");
  o.max_silent = c.audit.max_silent;
  // Each waiting run holds an HTTP worker: leave at least one for everything else.
  if (c.audit.max_waiting_runs < 1) return InvalidArgument("audit.max_waiting_runs must be >= 1");
  o.max_waiting_runs = std::max(1, std::min(c.audit.max_waiting_runs, c.http.threads - 1));
  if (c.audit.cycle_history_days < 1 || c.audit.cycle_history_days > 366) {
    return InvalidArgument("audit.cycle_history_days must be 1..366");
  }
  o.cycle.history_days = c.audit.cycle_history_days;
  return o;
}

Result<alerts::DispatcherOptions> DispatcherOptionsOf(const Config& c) {
  alerts::DispatcherOptions o = c.alerts.dispatcher;
  if (c.alerts.give_up_after == "0") {
    o.give_up_after_ms = 0;
  } else {
    Result<int64_t> d = ParseDuration(c.alerts.give_up_after);
    if (!d.ok()) return d.status().WithContext("alerts.give_up_after");
    if (*d <= 0) return InvalidArgument("alerts.give_up_after must be positive (or \"0\" = never)");
    o.give_up_after_ms = *d * 1000;
  }
  if (o.max_attempts < 0) return InvalidArgument("alerts.max_attempts must be >= 0");
  if (o.initial_backoff_ms < 0 || o.max_backoff_ms < o.initial_backoff_ms) {
    return InvalidArgument("alerts: need 0 <= initial_backoff_ms <= max_backoff_ms");
  }
  return o;
}

Result<relay::RelayServiceOptions> RelayOptionsOf(const Config& c) {
  relay::RelayServiceOptions o;
  MH_RETURN_IF_ERROR(meter::ParseWindow(c.relay.window, &o.slots).WithContext("relay.window"));
  Result<int> slot = meter::ParseMinutes(c.relay.slot);
  if (!slot.ok()) return slot.status().WithContext("relay.slot");
  o.slots.slot_minutes = *slot;
  if (c.relay.slots_per_region < 1) return InvalidArgument("relay.slots_per_region must be >= 1");
  o.slots.slots_per_region = c.relay.slots_per_region;
  MH_RETURN_IF_ERROR(meter::SlotCount(o.slots).status().WithContext("relay"));
  if (!c.relay.region_pattern.empty()) {
    o.region_pattern = c.relay.region_pattern;
    MH_RETURN_IF_ERROR(relay::CheckRegionPattern(o.region_pattern).WithContext("relay.region_pattern"));
  }
  std::optional<meter::Fanout> fanout = meter::ParseFanout(c.relay.fanout);
  if (!fanout) return InvalidArgument("relay.fanout must be \"all\" or \"first\", not \"" + c.relay.fanout + "\"");
  o.fanout = *fanout;
  if (c.relay.uplink_failure_nights < 1 || c.relay.uplink_failure_nights > 365)
    return InvalidArgument("relay.uplink_failure_nights must be 1..365");
  o.uplink_failure_nights = c.relay.uplink_failure_nights;
  Result<int64_t> rotation = ParseDuration(c.relay.key_rotation);
  if (!rotation.ok()) return rotation.status().WithContext("relay.key_rotation");
  o.key_rotation_s = *rotation;
  return o;
}

Status CheckWaterConfig(const Config& c) {
  Result<int64_t> window = ParseDuration(c.water.window);
  if (!window.ok()) return window.status().WithContext("water.window");
  if (*window != 6 * 3600 && *window != 12 * 3600) return InvalidArgument("water.window must be 6h or 12h, not " + c.water.window);
  const std::vector<std::pair<std::string, std::string>> durations = {{"water.close_after", c.water.close_after},
                                                                      {"water.command_expiry", c.water.command_expiry},
                                                                      {"water.calibration_period", c.water.calibration_period}};
  for (const auto& [name, value] : durations) {
    Result<int64_t> d = ParseDuration(value);
    if (!d.ok()) return d.status().WithContext(name);
    if (*d <= 0) return InvalidArgument(name + " must be positive");
  }
  if (!(c.water.p_min > 0 && c.water.p_min <= 1)) return InvalidArgument("water.p_min must be in (0, 1]");
  if (!(c.water.d_lo >= 0 && c.water.d_hi > c.water.d_lo)) return InvalidArgument("water: need 0 <= d_lo < d_hi");
  if (!(c.water.r2_min > 0 && c.water.r2_min <= 1)) return InvalidArgument("water.r2_min must be in (0, 1]");
  if (!(c.water.tol_rel >= 0 && c.water.tol_abs >= 0)) return InvalidArgument("water: tol_rel and tol_abs must be >= 0");
  if (!(c.water.photo_unit_m3 > 0)) return InvalidArgument("water.photo_unit_m3 must be positive");
  if (c.water.photo_digits < 0 || c.water.photo_digits > 20) return InvalidArgument("water.photo_digits must be 0..20");
  if (c.water.photo_min_units < 1) return InvalidArgument("water.photo_min_units must be >= 1");
  if (!(c.water.max_se_a1 > 0)) return InvalidArgument("water.max_se_a1 must be positive");
  if (c.water.max_photo_pixels < 1) return InvalidArgument("water.max_photo_pixels must be >= 1");
  if (c.water.max_upload_bytes < 1024) return InvalidArgument("water.max_upload_bytes must be >= 1024");
  if (c.water.max_video_frames < 1) return InvalidArgument("water.max_video_frames must be >= 1");
  if (!(c.water.max_video_seconds > 0)) return InvalidArgument("water.max_video_seconds must be positive");
  if (!c.water.upload_url.empty() && c.water.upload_url.rfind("https://", 0) != 0 &&
      c.water.upload_url.rfind("http://", 0) != 0) {
    return InvalidArgument("water.upload_url must start with https:// or http://");
  }
  if (c.water.max_deferred_windows < 0 || c.water.max_deferred_windows > 100) {
    return InvalidArgument("water.max_deferred_windows must be 0..100");
  }
  return WaterPairToleranceOf(c).status();
}

Result<int64_t> WaterPairToleranceOf(const Config& c) {
  if (c.water.pair_tolerance == "auto") return water::kHalfInterval;
  if (c.water.pair_tolerance == "0" || c.water.pair_tolerance == "0s") return 0;
  Result<int64_t> d = ParseDuration(c.water.pair_tolerance);
  if (!d.ok()) return InvalidArgument("water.pair_tolerance must be auto, 0 or a duration: " + d.status().message());
  return d;
}


Result<gateway::GatewayOptions> GatewayOptionsOf(const Config& c) {
  gateway::GatewayOptions o;
  o.listen = c.gateway.listen;
  o.dlms_listen = c.gateway.dlms_listen;
  auto positive = [](const std::string& value, const std::string& key) -> Result<int64_t> {
    Result<int64_t> d = ParseDuration(value);
    if (!d.ok() || *d <= 0) return InvalidArgument(key + ": a positive duration, e.g. 5s");
    return *d;
  };
  MH_ASSIGN_OR_RETURN(int64_t timeout_s, positive(c.gateway.poll_timeout, "gateway.poll_timeout"));
  o.poll_timeout_ms = timeout_s * 1000;
  MH_ASSIGN_OR_RETURN(o.idle_timeout_s, positive(c.gateway.idle_timeout, "gateway.idle_timeout"));
  if (!c.gateway.poll_interval.empty()) {
    MH_ASSIGN_OR_RETURN(o.poll_interval_s, positive(c.gateway.poll_interval, "gateway.poll_interval"));
  }
  if (c.gateway.poll_retries < 0) return InvalidArgument("gateway.poll_retries must be >= 0");
  o.poll_retries = c.gateway.poll_retries;
  if (c.gateway.max_connections <= 0) return InvalidArgument("gateway.max_connections must be positive");
  o.max_connections = c.gateway.max_connections;
  MH_ASSIGN_OR_RETURN(o.registration, gateway::ParseRegistration(c.gateway.registration));
  return o;
}

}  // namespace mh::app
