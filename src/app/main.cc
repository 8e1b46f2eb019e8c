// The composition root: the only place that reads flags, environment and config files.
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "api/http_api.h"
#include "app/access_cli.h"
#include "app/broker_auth.h"
#include "app/config.h"
#include "app/daemon.h"
#include "app/demo.h"
#include "app/export_command.h"
#include "app/generate.h"
#include "app/huge_pages.h"
#include "app/vision_module.h"
#include "app/witness_command.h"
#include "audit/offline_audit.h"
#include "audit/ledger/offline_ledger.h"
#include "base/log.h"
#include "codec/meter/decode_tool.h"
#include "core/time.h"
#include "ingest/file_import.h"
#include "relay/offline_relay.h"
#include "sim/audit_sim.h"
#include "sim/load_fit.h"
#include "sim/relay_sim.h"
#include "sim/water_sim.h"
#include "vee/offline_vee.h"
#include "water/offline_water.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// Usage errors exit 2 (SPEC 1.3), as the offline tools' contract asks.
constexpr int kUsageError = 2;

mh::Result<mh::app::Config> ConfigFrom(const std::string& path) {
  if (path.empty()) return mh::app::Config{};
  return mh::app::LoadConfig(path);
}

// What `serve` takes beyond --config: these override the file (N workers share one config).
struct ServeArgs {
  std::string config_path;
  std::string worker_id;  // [cluster] worker_id
  std::string listen;     // [http] listen
};

int Serve(const ServeArgs& args) {
  auto config = ConfigFrom(args.config_path);
  if (!config.ok()) {
    std::cerr << "meterhub serve: " << config.status().message() << "\n";
    return kUsageError;
  }
  if (!args.worker_id.empty()) config->cluster.worker_id = args.worker_id;
  if (!args.listen.empty()) config->http.listen = args.listen;
  mh::InitLogging(config->log.level, config->log.json);
  mh::app::Daemon daemon(*config);
  if (mh::Status s = daemon.Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return 1;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  spdlog::info("meterhub serving (store {}: {}); Ctrl-C to stop", config->store.backend,
               mh::store::Describe(mh::app::StoreLocationOf(*config)));
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("stopping");
  if (const mh::ingest::Pipeline* p = daemon.pipeline()) {
    // What this run did, estimates counted apart from the actual readings (docs/estimation.md).
    const mh::ingest::PipelineCounters& c = p->counters();
    spdlog::info("this run: {} readings received, {} accepted, {} estimates stored, {} quarantined, {} duplicates, "
                 "{} alerts",
                 c.received.load(), c.accepted.load(), c.estimated.load(),
                 c.quarantined[1].load() + c.quarantined[2].load() + c.quarantined[3].load(), c.duplicates.load(),
                 c.alerts.load());
  }
  daemon.Stop();
  return 0;
}

int Import(const std::string& config_path, mh::ingest::ImportArgs args, const std::string& tz) {
  auto config = ConfigFrom(config_path);
  if (!config.ok()) {
    std::cerr << "meterhub import: " << config.status().message() << "\n";
    return kUsageError;
  }
  // --tz, else [ingest] timezone (+08:00 by default): an IANA name or a UTC offset.
  auto zone = mh::TimeZone::Parse(tz.empty() ? config->ingest.timezone : tz);
  if (!zone.ok()) {
    std::cerr << "meterhub import: " << (tz.empty() ? "ingest.timezone" : "--tz") << ": " << zone.status().message() << "\n";
    return kUsageError;
  }
  args.zone = *zone;
  mh::InitLogging("warn", false);
  auto options = mh::app::PipelineOptionsOf(*config);
  if (!options.ok()) {
    std::cerr << "meterhub import: " << options.status().message() << "\n";
    return kUsageError;
  }
  // Loading history from an old system: meters it names are registered as they come, and readings
  // are packed into the store in bulk (durable when the import ends).
  options->auto_register = true;
  options->deferred_commits = true;
  options->default_meter.tz = args.zone;
  auto store = mh::app::OpenStore(*config);
  if (!store.ok()) {
    std::cerr << "meterhub import: " << store.status().ToString() << "\n";
    return 1;
  }
  // PostgreSQL: the import holds every shard's lease while it writes (no worker may hold one).
  auto leases = mh::app::HoldShardsForImport(*config, **store);
  if (!leases.ok()) {
    std::cerr << "meterhub import: " << leases.status().message() << "\n";
    return 1;
  }
  std::vector<int> held;
  if (*leases) held = (*leases)->Owned();
  mh::ingest::Pipeline pipeline(store->get(), &mh::SystemClock::Instance(), *options);
  auto report = [&] {
    mh::store::FenceScope fenced(held);  // every commit checks those leases (none on SQLite)
    return mh::ingest::ImportFile(pipeline, **store, args, std::cerr);
  }();
  if (!report.ok()) {
    std::cerr << "meterhub import: " << report.status().message() << "\n";
    return report.status().code() == mh::StatusCode::kInvalidArgument ? kUsageError : 1;
  }
  // Alerts found while importing are sent now, by this process.
  mh::alerts::Dispatcher dispatcher(store->get(), &mh::SystemClock::Instance(), config->alerts.dispatcher);
  mh::app::AddChannels(dispatcher, *config, &mh::SystemClock::Instance());
  if (report->summary.alerts > 0) dispatcher.RunOnce();
  std::cout << mh::ingest::FormatImportReport(*report);
  if (*leases) (*leases)->Stop();  // the workers take the shards back at their next round
  return report->bad_rows > 0 ? kUsageError : 0;
}

int Witness(int argc, char** argv) {
  CLI::App app{"keeps every signed tree head of the ledger in DIR and checks that the newest one extends each of them "
               "(a consistency proof per kept head) and carries the operator's signature; prints `consistent size=N` "
               "(exit 0) or one line per failure: `inconsistent kept=SIZE newest=SIZE`, `bad-signature size=SIZE` (exit 1)",
               "meterhub ledger witness"};
  mh::app::WitnessArgs args;
  app.add_option("--keep", args.keep, "directory of the kept heads (heads.jsonl, public_key)")->required();
  app.add_option("--db", args.db, "a ledger database file (the daemon's meterhub.db), read-only");
  app.add_option("--url", args.url, "a running daemon, e.g. http://127.0.0.1:8080");
  app.add_option("--token", args.token, "with --url: an admin, auditor or supervisor token");
  app.add_option("--public-key", args.public_key, "the operator's Ed25519 public key (64 hex); default: pinned at the first round");
  try {
    app.parse(argc - 2, argv + 2);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }
  return mh::app::RunWitness(args, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  // The commands that hold a fleet in memory run with huge pages for their heap (huge_pages.h).
  if (argc >= 2 && (std::string(argv[1]) == "serve" || std::string(argv[1]) == "import")) {
    mh::app::ReexecWithHugePageHeap(argv);
    mh::app::TuneHeapForFleet();
  }
  // `vee` is a fixed contract with its own parser (exit codes, --opt=value); hand it the rest.
  if (argc >= 2 && std::string(argv[1]) == "vee") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::vee::RunVeeCommand(rest, std::cout, std::cerr, &mh::app::FillVeeArgsFromConfig);
  }

  // `relay` offline tools: a fixed contract (SPEC 2.8) with their own parser too.
  if (argc >= 2 && std::string(argv[1]) == "relay") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::relay::RunRelayCommand(rest, std::cout, std::cerr);
  }

  // `audit` offline tools: a fixed contract (SPEC 4) with their own parser too.
  if (argc >= 2 && std::string(argv[1]) == "audit") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    // `audit export --config FILE`: the daemon's database and ledger key file ([store], [audit]).
    auto resolve = [](const std::string& path) -> mh::Result<mh::audit::AuditFiles> {
      MH_ASSIGN_OR_RETURN(mh::app::Config config, mh::app::LoadConfig(path));
      MH_ASSIGN_OR_RETURN(std::string key_file, mh::app::AuditKeyFileOf(config));
      return mh::audit::AuditFiles{mh::app::StoreLocationOf(config).location, key_file};
    };
    return mh::audit::RunAuditCommand(rest, std::cout, std::cerr, resolve);
  }

  // `sim audit`: simulated meters through whole cycles with injected attacks (SPEC 4.7).
  if (argc >= 3 && std::string(argv[1]) == "sim" && std::string(argv[2]) == "audit") {
    std::vector<std::string> rest(argv + 3, argv + argc);
    return mh::sim::RunAuditSim(rest, std::cout, std::cerr);
  }

  // `ledger witness`: keep every signed tree head, check the newest extends them (issue 11).
  if (argc >= 3 && std::string(argv[1]) == "ledger" && std::string(argv[2]) == "witness") return Witness(argc, argv);

  // `ledger` offline tools (SPEC 4.6): verify a ledger's whole history, export it; own parser.
  if (argc >= 2 && std::string(argv[1]) == "ledger") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::audit::ledger::RunLedgerCommand(rest, std::cout, std::cerr);
  }

  // `water read`: reading meter photos (SPEC 3, offline tool), a fixed contract with its own parser.
  if (argc >= 3 && std::string(argv[1]) == "water" && std::string(argv[2]) == "read") {
    std::vector<std::string> rest(argv + 3, argv + argc);
    mh::Result<const mh::water::vision::Module*> vision = mh::app::LoadVisionModule();
    if (!vision.ok()) {
      std::cerr << "meterhub water read: " << vision.status().message() << "\n";
      return 1;
    }
    return (*vision)->run_water_read(rest, std::cout, std::cerr);
  }

  // `water check` (and its help): a fixed contract (SPEC 3) with its own parser.
  if (argc >= 2 && std::string(argv[1]) == "water") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::water::RunWaterCommand(rest, std::cout, std::cerr);
  }

  // `sim water`: the water pre-check and fit against injected faults, and the closed loop.
  if (argc >= 3 && std::string(argv[1]) == "sim" && std::string(argv[2]) == "water") {
    std::vector<std::string> rest(argv + 3, argv + argc);
    return mh::sim::RunWaterSim(rest, std::cout, std::cerr);
  }

  // `mqtt acl|passwd`: the broker's per-device credentials and ACL (SPEC 5); own parser.
  if (argc >= 2 && std::string(argv[1]) == "mqtt") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::app::RunMqttCommand(rest, std::cout, std::cerr);
  }

  // `decode`: meter frames (DL/T 645, CJ/T 188, DLMS, wM-Bus) to JSON lines, a fixed contract.
  if (argc >= 2 && std::string(argv[1]) == "decode") {
    std::vector<std::string> rest(argv + 2, argv + argc);
    return mh::codec::RunDecodeCommand(rest, std::cout, std::cerr);
  }

  // `sim relay`: relay vs plain retry on the SPEC 6.1 radio model, with its own parser.
  if (argc >= 3 && std::string(argv[1]) == "sim" && std::string(argv[2]) == "relay") {
    std::vector<std::string> rest(argv + 3, argv + argc);
    return mh::sim::RunRelaySim(rest, std::cout, std::cerr);
  }


  CLI::App app{"MeterHub: smart-metering platform for electricity and water utilities"};
  app.set_version_flag("--version", "meterhub 0.1.0");
  app.require_subcommand(1);

  std::string config_path;
  ServeArgs serve_args;
  auto* serve = app.add_subcommand("serve", "run the daemon: HTTP API + MQTT ingestion + alerts");
  serve->add_option("--config", serve_args.config_path, "TOML configuration file (defaults when omitted)");
  serve->add_option("--worker-id", serve_args.worker_id, "this worker's name, overriding [cluster] worker_id (SPEC 7)");
  serve->add_option("--listen", serve_args.listen, "HTTP API address HOST:PORT, overriding [http] listen");

  mh::app::DemoArgs demo_args;
  auto* demo = app.add_subcommand("demo", "the daemon with its own broker and a simulated fleet");
  demo->add_option("--meters", demo_args.meters, "fleet size")->check(CLI::Range(1, 1000000));
  demo->add_option("--days", demo_args.days, "simulated days to replay")->check(CLI::Range(2, 3650));
  demo->add_option("--peak-days", demo_args.peak_days, "first days forming the peak period")->check(CLI::Range(1, 3650));
  demo->add_option("--duration", demo_args.duration_s, "stop after this many seconds (0 = at Ctrl-C)");
  demo->add_flag("--exit-after-replay", demo_args.exit_after_replay, "stop once the simulated days are replayed");
  demo->add_option("--speed", demo_args.speed, "after the replay: simulated seconds per second")->check(CLI::Range(1.0, 1e7));
  demo->add_flag("--tls", demo_args.tls, "broker and API on TLS with a throw-away CA (<dir>/tls/ca.pem)");
  demo->add_option("--dir", demo_args.dir, "work directory (database, broker, ground truth)");
  demo->add_option("--listen", demo_args.listen, "HTTP API address (a free port if taken)");
  demo->add_option("--seed", demo_args.seed, "random seed of the fleet");
  demo->add_option("--appliance-rate", demo_args.appliance_rate, "forgotten-appliance days per meter-day");
  demo->add_option("--audit-meters", demo_args.audit_meters, "tamper-audited meters (0 = none)")->check(CLI::Range(0, 10000));
  demo->add_option("--audit-attack-rate", demo_args.audit_attack_rate, "share of audited meter-cycles attacked")
      ->check(CLI::Range(0.0, 1.0));
  demo->add_flag("--postgres", demo_args.postgres, "on a PostgreSQL the demo starts in its directory (instead of SQLite)");
  demo->add_option("--workers", demo_args.workers, "with --postgres: serve workers sharing the 64 shards (HTTP on the listen port + i)")
      ->check(CLI::Range(1, 64));
  demo->add_option("--water-meters", demo_args.water_meters,
                   "water terminals with reference flowmeters, one MQTT connection each (0 = none)")
      ->check(CLI::Range(0, 1000));

  app.add_subcommand("vee", "validate a readings CSV offline (SPEC 1.3); see meterhub vee --help");
  app.add_subcommand("relay", "relay retransmission tools: slots, level, score, password, beacons (SPEC 2.8)");
  app.add_subcommand("audit", "tamper audit: verify a meter against the ledger, export a meter from the daemon, write an example (SPEC 4)");
  app.add_subcommand("ledger", "tamper-evident ledger tools: verify, export (SPEC 4.6); see meterhub ledger --help");
  app.add_subcommand("mqtt", "broker credentials and ACL per device: acl, passwd (SPEC 5); see meterhub mqtt --help");
  app.add_subcommand("decode", "meter frames (DL/T 645, CJ/T 188, DLMS, wM-Bus) in hex to JSON lines; see meterhub decode --help");
  app.add_subcommand("water", "water meter remote maintenance: check PAIRS.csv (SPEC 3); see meterhub water --help");

  mh::ingest::ImportArgs import_args;
  std::string import_tz;
  auto* import = app.add_subcommand("import", "load a readings file through the pipeline into the store");
  import->add_option("READINGS", import_args.path, "CSV (meter_id,timestamp,value) or NEM12 file")->required();
  import->add_option("--config", config_path, "TOML configuration file");
  import->add_option("--format", import_args.format, "csv (default) or nem12")->check(CLI::IsMember({"csv", "nem12"}));
  import->add_option("--tz", import_tz, "zone of CSV timestamps without an offset and of new meters: +08:00 or an IANA name (default: [ingest] timezone)");
  import->add_option("--batch", import_args.batch_size, "readings handed to the pipeline at once")->check(CLI::Range(1, 10000000));
  bool revise = false;
  auto* revise_flag = import->add_flag("--revise", revise,
                                       "a trusted revision file: stored readings with another value or quality become new versions");
  import->add_option("--reason", import_args.revise_reason, "why the file revises stored readings (with --revise)")
      ->needs(revise_flag);
  revise_flag->needs(import->get_option("--reason"));

  mh::app::ExportArgs export_args;
  auto* export_cmd = app.add_subcommand("export", "write stored readings FROM < t <= TO as CSV or NEM12 for billing");
  export_cmd->add_option("--from", export_args.from, "FROM: ISO date or timestamp (readings after it)")->required();
  export_cmd->add_option("--to", export_args.to, "TO: ISO date (its end) or timestamp (readings up to it)")->required();
  export_cmd->add_option("--meter", export_args.meters, "a meter to export (repeatable; default: every meter)");
  export_cmd->add_option("--format", export_args.format, "csv (meter_id,timestamp,value,quality) or nem12")
      ->check(CLI::IsMember({"csv", "nem12"}));
  export_cmd->add_option("--out", export_args.out, "file to write (- = stdout)")->required();
  export_cmd->add_option("--tz", export_args.tz, "zone of FROM/TO without an offset: +08:00 or an IANA name (default: [ingest] timezone)");
  export_cmd->add_option("--config", export_args.config, "TOML configuration file (the store)");

  auto* config_cmd = app.add_subcommand("config", "configuration helpers");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("defaults", "print every key with its default (TOML)");
  std::string check_path;
  auto* check = config_cmd->add_subcommand("check", "validate a configuration file");
  check->add_option("FILE", check_path)->required();

  // The REST API's OpenAPI document, as served at /api/v1/openapi.json: for client generators and
  // the lint (docs/openapi.md), without a running daemon.
  auto* openapi_cmd = app.add_subcommand("openapi", "print the REST API's OpenAPI 3.0 document (JSON)");

  mh::app::AccessArgs access_args;
  mh::app::AddAccessCommands(app, access_args);

  mh::sim::FitArgs fit_args;
  auto* sim = app.add_subcommand("sim", "fleet simulator tools");
  sim->require_subcommand(1);
  sim->add_subcommand("relay", "relay vs plain retry on the SPEC 6.1 radio model (meterhub sim relay --help)");
  sim->add_subcommand("audit", "tamper-audit attacks caught vs injected over meter-cycles (meterhub sim audit --help)");
  sim->add_subcommand("water", "water pre-check and fit on simulated drifting meters (meterhub sim water --help)");
  auto* fit = sim->add_subcommand("fit", "fit the fleet's load model to real data");
  fit->add_option("--sgsc", fit_args.sgsc, "SGSC households csv.gz");
  fit->add_option("--daiad", fit_args.daiad, "DAIAD water zip");
  fit->add_option("--out", fit_args.out, "parameters JSON to write (- = stdout)");

  mh::app::GenerateArgs gen;
  auto* generate = sim->add_subcommand("generate", "write a simulated fleet's readings as CSV");
  generate->add_option("--meters", gen.meters, "fleet size")->check(CLI::Range(1, 10000000));
  generate->add_option("--days", gen.days, "days of readings")->check(CLI::Range(1, 36500));
  generate->add_option("--intervals", gen.intervals, "15-minute intervals of readings instead of --days")
      ->check(CLI::Range(1, 10000000));
  generate->add_option("--order", gen.order, "row order: time (as a head-end receives them) or meter")
      ->check(CLI::IsMember({"time", "meter"}));
  generate->add_option("--timestamps", gen.timestamps, "iso (ISO-8601 UTC) or epoch (seconds)")
      ->check(CLI::IsMember({"iso", "epoch"}));
  generate->add_option("--electricity-share", gen.electricity_share, "share of electricity meters")->check(CLI::Range(0.0, 1.0));
  generate->add_option("--seed", gen.seed, "random seed");
  generate->add_option("--start", gen.start, "first day (date or timestamp, UTC+8 when no offset)");
  generate->add_option("--out", gen.out, "CSV file to write (- = stdout)");
  generate->add_option("--ground-truth", gen.ground_truth, "CSV of the injected faults");
  generate->add_option("--null-rate", gen.null_rate, "null readings per reading");
  generate->add_option("--backward-rate", gen.backward_rate, "backward steps per reading");
  generate->add_option("--spike-rate", gen.spike_rate, "spikes per reading");
  generate->add_option("--appliance-rate", gen.appliance_rate, "forgotten-appliance days per meter-day");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsageError;
  }

  if (*serve) return Serve(serve_args);
  if (*demo) {
    if (demo_args.workers > 1 && !demo_args.postgres) {
      std::cerr << "meterhub demo: --workers needs --postgres (SQLite is one worker's)\n";
      return kUsageError;
    }
    mh::InitLogging("warn", false);
    return mh::app::RunDemo(demo_args, std::cout, std::cerr);
  }
  if (*import) return Import(config_path, import_args, import_tz);
  if (*export_cmd) {
    mh::InitLogging("warn", false);
    return mh::app::RunExport(export_args, std::cout, std::cerr);
  }
  if (*openapi_cmd) {
    std::cout << mh::api::OpenApiDocument().dump(2) << "\n";
    return 0;
  }
  if (*config_cmd) {
    if (config_cmd->got_subcommand("defaults")) {
      std::cout << mh::app::DefaultConfigToml();
      return 0;
    }
    auto c = mh::app::LoadConfig(check_path);
    if (!c.ok()) {
      std::cerr << c.status().message() << "\n";
      return kUsageError;
    }
    std::cout << check_path << ": ok\n";
    return 0;
  }
  if (mh::app::AccessCommandGiven(access_args)) return mh::app::RunAccessCommand(access_args, std::cin, std::cout, std::cerr);
  if (*sim && sim->got_subcommand("generate")) return mh::app::RunGenerate(gen, std::cout, std::cerr);
  if (*sim) return mh::sim::RunFit(fit_args, std::cout, std::cerr);
  return 0;
}
