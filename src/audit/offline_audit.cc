#include "audit/offline_audit.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>

#include "audit/audit.h"
#include "audit/ledger_records.h"
#include "audit/ledger_view.h"
#include "audit/verified_ledger.h"
#include "store/store_open.h"
#include "base/clock.h"
#include "base/tool_args.h"
#include "crypto/crypto.h"
#include "meter/audit/firmware.h"
#include "meter/audit/plugin.h"

namespace mh::audit {
namespace {

namespace ma = meter::audit;

constexpr char kUsage[] =
    "usage:\n"
    "  meterhub audit verify --ledger LEDGER_DIR_OR_DB --meter ID --code FIXED.bin --dynamic DYNAMIC.txt\n"
    "                        [--compare TABLE.txt] [--tolerance 1] [--public-key HEX] [--explain]\n"
    "      prints 'pass' or one line per alarm (code-alarm line N / time-alarm window W / ledger-alarm);\n"
    "      exit 0 pass, 1 alarm, 2 bad usage or input. --explain adds the reasons on stderr.\n"
    "      LEDGER_DIR_OR_DB: a directory written by `meterhub ledger export` (or `audit export`) or a\n"
    "      SQLite database; every entry is checked by its inclusion proof against the latest signed head.\n"
    "      The comparison table is the one registered in the ledger at the meter's latest commissioning;\n"
    "      --compare is needed only when the ledger holds none, and one that differs from it is exit 2.\n"
    "  meterhub audit export --meter ID --out DIR [--config FILE | --db PATH [--key-file PATH]]\n"
    "      writes the meter's FIXED.bin, DYNAMIC.txt, the ledger's TABLE.txt and the ledger snapshot DIR/ledger/\n"
    "      from a daemon's database (default meterhub.db; with the ledger key a fresh head is signed first)\n"
    "  meterhub audit example --out DIR [--attack none|code|replay|bypass|ledger|compare]\n"
    "      writes DIR/ledger/ (entries.jsonl, heads.jsonl, head.json, public_key), DIR/FIXED.bin, DIR/DYNAMIC.txt,\n"
    "      DIR/TABLE.txt (the table the meter sends) for meter M1\n";

struct VerifyArgs {
  std::string ledger, meter, code, dynamic;
  std::optional<std::string> compare, tolerance, public_key;
  bool explain = false;
};
struct ExportArgs {
  std::string meter, out;
  std::optional<std::string> config, db, key_file;
};
struct ExampleArgs {
  std::string out, attack = "none";
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return InvalidArgument("cannot read '" + path + "'");
  return ss.str();
}

Status WriteWholeFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  if (!f) return InvalidArgument("cannot write '" + path + "'");
  return Status::Ok();
}

// The comparison table of the meter's latest commissioning as the ledger store holds it.
Result<std::optional<std::string>> LedgerTableOf(store::LedgerStore& store, const std::string& meter) {
  MH_ASSIGN_OR_RETURN(std::vector<store::LedgerLeaf> leaves, store.LeavesOfMeter(meter, INT64_MAX));
  std::vector<LedgerEntry> setup;
  for (const store::LedgerLeaf& l : leaves) {
    if (l.key.window == 0 && (l.kind == kCodeKind || l.kind == kCompareKind)) {
      setup.push_back(LedgerEntry{EntryKey{l.key.meter_id, l.key.window, l.key.seq}, l.kind, l.payload});
    }
  }
  MH_ASSIGN_OR_RETURN(std::vector<LedgerRecord> records, DecodeEntries(std::move(setup)));
  std::optional<Commissioning> c = LatestCommissioning(records);
  if (!c || !c->compare_lines) return std::optional<std::string>();
  return std::optional<std::string>(c->compare_text);
}

int Fail(std::ostream& err, const std::string& verb, const Status& s) {
  err << "meterhub audit " << verb << ": " << s.message() << "\n";
  return 2;
}

int RunVerify(const VerifyArgs& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) { return Fail(err, "verify", s); };
  AuditOptions options;
  if (const auto& t = o.tolerance) {
    int64_t v = -1;
    auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || p != t->data() + t->size() || v < 0 || v > 86400) {
      return fail(InvalidArgument("--tolerance '" + *t + "' is not whole seconds in [0, 86400]"));
    }
    options.tolerance_s = v;
  }
  auto code = ReadWholeFile(o.code);
  if (!code.ok()) return fail(code.status());
  auto dynamic_text = ReadWholeFile(o.dynamic);
  if (!dynamic_text.ok()) return fail(dynamic_text.status());
  auto dynamic = ma::ParseDynamicSegment(*dynamic_text, o.dynamic);
  if (!dynamic.ok()) return fail(dynamic.status());
  std::optional<std::vector<int>> given;
  const std::optional<std::string>& compare_path = o.compare;
  if (compare_path) {
    auto compare_text = ReadWholeFile(*compare_path);
    if (!compare_text.ok()) return fail(compare_text.status());
    auto compare = ma::ParseComparisonTable(*compare_text, *compare_path);
    if (!compare.ok()) return fail(compare.status());
    given = *compare;
  }
  auto ledger = OpenLedgerSnapshot(o.ledger, o.public_key);
  if (!ledger.ok()) return fail(ledger.status());
  auto result = RunAudit(**ledger, o.meter, *code, *dynamic, given, SystemClock::Instance().NowSeconds(), options);
  if (!result.ok()) {
    if (result.status().code() == StatusCode::kFailedPrecondition && !given) {
      return fail(InvalidArgument(result.status().message() + ": give --compare TABLE.txt"));
    }
    return fail(result.status());
  }
  // The lines to compare are set in advance, in the ledger: a table given that says otherwise is
  // a mistake (or the meter's own word), not something to audit with.
  if (given && result->ledger_table && *given != *result->ledger_table) {
    return fail(InvalidArgument("--compare " + *compare_path + " lists lines " + FormatLineList(*given) +
                                ", the ledger's comparison table for meter " + o.meter + " lists lines " +
                                FormatLineList(*result->ledger_table) + " (omit --compare to use the ledger's)"));
  }
  if (result->pass()) {
    out << "pass\n";
    return 0;
  }
  const bool explain = o.explain;
  for (const Alarm& a : result->alarms) {
    out << a.Line() << "\n";
    if (explain) err << a.Line() << ": " << a.detail << "\n";
  }
  return 1;
}

// The worked example: meter M1, commissioned 2026-11-19, a 3-day cycle from 2026-11-20. Day 1
// (window 1, 0–8 h) is the seed's: metering 2–3 h and 5–7 h. Day 2 (8–16 h): 06:00–10:00 across
// the window start (pseudo start) and 15:00–17:00 across its end (pseudo end). Day 3 (16–24 h):
// 18:00–19:30.
struct Example {
  std::string fixed_image;     // as stored in the meter
  ma::DynamicSegment dynamic;  // at the end of the cycle
};

// The table the example's meter sends: the reference one, or (attack compare) one shrunk to leave
// out the line its altered code changed.
std::vector<int> ExampleMeterTable(const std::string& attack) {
  std::vector<int> lines = ma::DefaultComparisonLines();
  if (attack == "compare") lines.erase(std::remove(lines.begin(), lines.end(), 7), lines.end());
  return lines;
}

// The example's ledger signs with a key derived from a fixed text, so its files are reproducible.
std::string ExampleLedgerKey() {
  const crypto::Digest d = crypto::Sha256(std::string_view("meterhub audit example ledger key"));
  return std::string(d.begin(), d.end());
}

// Runs the example and writes the ledger, as it is at the end of the cycle, to `ledger_dir`.
Result<Example> BuildExample(const std::string& attack, const std::string& ledger_dir) {
  constexpr int64_t kDay = 20777;  // 2026-11-20
  constexpr int64_t kH = 3600;
  const int64_t t0 = kDay * ma::kDaySeconds;
  const std::string original = ma::DefaultFixedImage();
  SimulatedClock clock((t0 + 3 * ma::kDaySeconds) * 1000);
  MH_ASSIGN_OR_RETURN(std::unique_ptr<AuditLedger> ledger, AuditLedger::InMemory(clock, ExampleLedgerKey()));
  // Commissioning: the code and the comparison table are the audit side's, in the ledger.
  MH_RETURN_IF_ERROR(ledger->AppendAll(
      {EncodeCodeRegistration("M1", original, t0 - ma::kDaySeconds),
       EncodeComparisonTable("M1", ma::FormatComparisonTable(ma::DefaultComparisonLines()), t0 - ma::kDaySeconds,
                             "commissioning")}));
  LedgerUploader uploader(ledger.get());
  ma::AuditPlugin plugin("M1", ma::Cycle{kDay, 3, 0}, &uploader);
  Example ex;
  Status written = InvalidArgument("the example's cycle did not end");
  plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) {
    ex.dynamic = s;
    if (attack == "ledger") {
      // Someone with write access to the ledger's storage moves the day-1 02:00 start to 02:10
      // (the stored leaf hash stays: the row's inclusion proof no longer verifies).
      auto rows = ledger->EntriesOf("M1");
      if (rows.ok()) {
        for (const LedgerEntry& e : *rows) {
          if (e.key.window == kDay && e.key.seq == 1) {
            std::string payload = e.payload;
            const std::string from = "t=" + std::to_string(t0 + 2 * kH);
            payload.replace(payload.find(from), from.size(), "t=" + std::to_string(t0 + 2 * kH + 600));
            ledger->Tamper(e.key, payload);
          }
        }
      }
    }
    written = WriteLedgerDirectory(ledger->store(), ledger_dir, &ledger->ledger());
  });
  std::string stored = original;
  if (attack == "code" || attack == "compare") stored.replace(stored.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
  MH_ASSIGN_OR_RETURN(auto fw, ma::MeterFirmware::Create(stored, &plugin));
  fw->AdvanceTo(t0 - kH);
  if (attack == "replay") {
    // The original stays in storage for audits to read; an altered copy meters out of sight.
    std::string altered = original;
    altered.replace(altered.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
    MH_ASSIGN_OR_RETURN(ma::FixedProgram hidden, ma::FixedProgram::Compile(altered));
    fw->SetHiddenProgram(std::move(hidden));
    fw->SetMode(t0 - kH, ma::ProcessorMode::kHiddenCopy);
  }
  fw->SetPower(t0 + 2 * kH, 1000);
  if (attack == "bypass") {
    fw->SetMode(t0 + 2 * kH + 1800, ma::ProcessorMode::kBypassed);
    fw->SetMode(t0 + 2 * kH + 2700, ma::ProcessorMode::kNormal);
  }
  fw->SetPower(t0 + 3 * kH, 0);
  fw->SetPower(t0 + 5 * kH, 2000);
  fw->SetPower(t0 + 7 * kH, 0);
  const int64_t d2 = t0 + ma::kDaySeconds, d3 = t0 + 2 * ma::kDaySeconds;
  fw->SetPower(d2 + 6 * kH, 500);
  fw->SetPower(d2 + 10 * kH, 0);
  fw->SetPower(d2 + 15 * kH, 800);
  fw->SetPower(d2 + 17 * kH, 0);
  fw->SetPower(d3 + 18 * kH, 1500);
  fw->SetPower(d3 + 19 * kH + 1800, 0);
  fw->AdvanceTo(t0 + 3 * ma::kDaySeconds);
  ex.fixed_image = fw->stored_image();
  MH_RETURN_IF_ERROR(written);
  return ex;
}

int RunExample(const ExampleArgs& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) { return Fail(err, "example", s); };
  const std::string& attack = o.attack;
  if (attack != "none" && attack != "code" && attack != "replay" && attack != "bypass" && attack != "ledger" &&
      attack != "compare") {
    return fail(InvalidArgument("--attack '" + attack + "' is not none, code, replay, bypass, ledger or compare"));
  }
  namespace fs = std::filesystem;
  auto ex = BuildExample(attack, (fs::path(o.out) / "ledger").string());
  if (!ex.ok()) return fail(ex.status());
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"FIXED.bin", ex->fixed_image},
           {"DYNAMIC.txt", ma::FormatDynamicSegment(ex->dynamic)},
           {"TABLE.txt", ma::FormatComparisonTable(ExampleMeterTable(attack))}}) {
    if (Status s = WriteWholeFile((fs::path(o.out) / name).string(), text); !s.ok()) return fail(s);
  }
  out << "wrote " << o.out << "/{ledger/,FIXED.bin,DYNAMIC.txt,TABLE.txt} (meter M1, attack " << attack << ")\n";
  return 0;
}

int RunExport(const ExportArgs& o, std::ostream& out, std::ostream& err, const AuditConfigResolver& resolve) {
  auto fail = [&](const Status& s) { return Fail(err, "export", s); };
  AuditFiles files{"meterhub.db", ""};
  if (const auto& config = o.config) {
    if (o.db || o.key_file) return fail(InvalidArgument("give --config or --db/--key-file, not both"));
    if (!resolve) return fail(InvalidArgument("--config is not available here"));
    auto resolved = resolve(*config);
    if (!resolved.ok()) return fail(resolved.status());
    files = *resolved;
  } else {
    if (o.db) files.db = *o.db;
    files.key_file = o.key_file.value_or(files.db + ".ledger.key");
  }
  namespace fs = std::filesystem;
  if (!store::IsPostgresUrl(files.db) && !fs::exists(files.db))
    return fail(InvalidArgument("no such database: '" + files.db + "'"));
  const store::StoreLocation at{files.db};
  auto audit_store = store::OpenAuditStore(at, /*read_only=*/true);
  if (!audit_store.ok()) return fail(audit_store.status());
  auto segments = (*audit_store)->GetSegments(o.meter);
  if (!segments.ok()) return fail(segments.status());
  if (!segments->has_value()) return fail(NotFound("meter '" + o.meter + "' has sent no audit segments to " + store::Describe(at)));
  const fs::path base(o.out);
  const std::string ledger_dir = (base / "ledger").string();
  // With the ledger's key the snapshot ends in a head signed now, covering every entry; without
  // it, in the latest head the daemon signed (entries after it are not in the snapshot).
  const bool sign = !files.key_file.empty() && fs::exists(files.key_file);
  auto ls = store::OpenLedgerStore(at, /*read_only=*/!sign);
  if (!ls.ok()) return fail(ls.status());
  std::unique_ptr<ledger::Ledger> signer;
  if (sign) {
    auto key = ReadLedgerKeyFile(files.key_file);
    if (!key.ok()) return fail(key.status());
    auto opened = ledger::Ledger::Open(**ls, SystemClock::Instance(), *key);
    if (!opened.ok()) return fail(opened.status());
    signer = std::move(*opened);
  }
  if (Status written = WriteLedgerDirectory(**ls, ledger_dir, signer.get()); !written.ok()) return fail(written);
  // TABLE.txt is the audit side's table: the ledger's, from the meter's latest commissioning (read
  // as stored; `verify` checks it by its proof). A meter commissioned before tables went into the
  // ledger has none: then the table it sent, and `verify` needs --compare.
  auto table = LedgerTableOf(**ls, o.meter);
  if (!table.ok()) return fail(table.status());
  const store::AuditSegments& seg = **segments;
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"FIXED.bin", seg.fixed_image}, {"DYNAMIC.txt", seg.dynamic_text}, {"TABLE.txt", table->value_or(seg.compare_text)}}) {
    if (Status s = WriteWholeFile((base / name).string(), text); !s.ok()) return fail(s);
  }
  out << "exported meter " << o.meter << " to " << o.out << ": FIXED.bin, DYNAMIC.txt, TABLE.txt ("
      << (table->has_value() ? "the ledger's comparison table" : "the meter's table: the ledger holds none") << "), ledger/\n"
      << "check it offline: meterhub audit verify --ledger " << ledger_dir << " --meter " << o.meter << " --code "
      << (base / "FIXED.bin").string() << " --dynamic " << (base / "DYNAMIC.txt").string()
      << (table->has_value() ? "" : " --compare " + (base / "TABLE.txt").string()) << "\n";
  return 0;
}

}  // namespace

const char* AuditUsage() { return kUsage; }

int RunAuditCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                    const AuditConfigResolver& resolve_config) {
  if (argv.empty()) {
    err << kUsage;
    return 2;
  }
  const std::string& verb = argv[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    out << kUsage;
    return 0;
  }
  for (const auto& a : argv) {
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    }
  }
  const std::vector<std::string> args(argv.begin() + 1, argv.end());
  CLI::App app;
  if (verb == "verify") {
    VerifyArgs a;
    app.add_option("--ledger", a.ledger)->required();
    app.add_option("--meter", a.meter)->required();
    app.add_option("--code", a.code)->required();
    app.add_option("--dynamic", a.dynamic)->required();
    app.add_option("--compare", a.compare);
    app.add_option("--tolerance", a.tolerance);
    app.add_option("--public-key", a.public_key);
    app.add_flag("--explain", a.explain);
    if (Status s = ParseToolArgs(app, args); !s.ok()) return Fail(err, verb, s);
    return RunVerify(a, out, err);
  }
  if (verb == "export") {
    ExportArgs a;
    app.add_option("--meter", a.meter)->required();
    app.add_option("--out", a.out)->required();
    app.add_option("--config", a.config);
    app.add_option("--db", a.db);
    app.add_option("--key-file", a.key_file);
    if (Status s = ParseToolArgs(app, args); !s.ok()) return Fail(err, verb, s);
    return RunExport(a, out, err, resolve_config);
  }
  if (verb == "example") {
    ExampleArgs a;
    app.add_option("--out", a.out)->required();
    app.add_option("--attack", a.attack);
    if (Status s = ParseToolArgs(app, args); !s.ok()) return Fail(err, verb, s);
    return RunExample(a, out, err);
  }
  err << "meterhub audit: unknown command '" << verb << "'\n" << kUsage;
  return 2;
}

}  // namespace mh::audit
