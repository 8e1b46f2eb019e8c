#include "audit/offline_audit.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "audit/audit.h"
#include "audit/jsonl_ledger.h"
#include "audit/ledger_records.h"
#include "audit/ledger_view.h"
#include "base/clock.h"
#include "meter/audit/firmware.h"
#include "meter/audit/plugin.h"

namespace mh::audit {
namespace {

namespace ma = meter::audit;

constexpr char kUsage[] =
    "usage:\n"
    "  meterhub audit verify --ledger LEDGER_DIR_OR_DB --meter ID --code FIXED.bin --dynamic DYNAMIC.txt\n"
    "                        --compare TABLE.txt [--tolerance 1] [--explain]\n"
    "      prints 'pass' or one line per alarm (code-alarm line N / time-alarm window W / ledger-alarm);\n"
    "      exit 0 pass, 1 alarm, 2 bad usage or input. --explain adds the reasons on stderr.\n"
    "  meterhub audit example --out DIR [--attack none|code|replay|bypass|ledger]\n"
    "      writes DIR/ledger/records.jsonl, DIR/FIXED.bin, DIR/DYNAMIC.txt, DIR/TABLE.txt for meter M1\n";

class Options {
 public:
  static Result<Options> Parse(const std::vector<std::string>& argv, const std::set<std::string>& known,
                               const std::set<std::string>& flags) {
    Options o;
    for (size_t i = 1; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a.rfind("--", 0) != 0 || a.size() == 2) return InvalidArgument("unexpected argument '" + a + "'");
      std::string name = a.substr(2), value;
      const size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else if (flags.count(name)) {
        value = "true";
      } else {
        if (known.count(name) == 0) return InvalidArgument("unknown option --" + name);
        if (i + 1 >= argv.size()) return InvalidArgument("option --" + name + " needs a value");
        value = argv[++i];
      }
      if (known.count(name) == 0 && flags.count(name) == 0) return InvalidArgument("unknown option --" + name);
      if (o.values_.count(name)) return InvalidArgument("option --" + name + " given twice");
      o.values_[name] = value;
    }
    return o;
  }
  std::optional<std::string> Get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  Result<std::string> Required(const std::string& name) const {
    auto v = Get(name);
    if (!v || v->empty()) return InvalidArgument("missing required option --" + name);
    return *v;
  }

 private:
  std::map<std::string, std::string> values_;
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

int Fail(std::ostream& err, const std::string& verb, const Status& s) {
  err << "meterhub audit " << verb << ": " << s.message() << "\n";
  return 2;
}

int RunVerify(const Options& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) { return Fail(err, "verify", s); };
  auto ledger_path = o.Required("ledger");
  if (!ledger_path.ok()) return fail(ledger_path.status());
  auto meter_id = o.Required("meter");
  if (!meter_id.ok()) return fail(meter_id.status());
  auto code_path = o.Required("code");
  if (!code_path.ok()) return fail(code_path.status());
  auto dynamic_path = o.Required("dynamic");
  if (!dynamic_path.ok()) return fail(dynamic_path.status());
  auto compare_path = o.Required("compare");
  if (!compare_path.ok()) return fail(compare_path.status());
  AuditOptions options;
  if (auto t = o.Get("tolerance")) {
    int64_t v = -1;
    auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || p != t->data() + t->size() || v < 0 || v > 86400) {
      return fail(InvalidArgument("--tolerance '" + *t + "' is not whole seconds in [0, 86400]"));
    }
    options.tolerance_s = v;
  }
  auto code = ReadWholeFile(*code_path);
  if (!code.ok()) return fail(code.status());
  auto dynamic_text = ReadWholeFile(*dynamic_path);
  if (!dynamic_text.ok()) return fail(dynamic_text.status());
  auto dynamic = ma::ParseDynamicSegment(*dynamic_text, *dynamic_path);
  if (!dynamic.ok()) return fail(dynamic.status());
  auto compare_text = ReadWholeFile(*compare_path);
  if (!compare_text.ok()) return fail(compare_text.status());
  auto compare = ma::ParseComparisonTable(*compare_text, *compare_path);
  if (!compare.ok()) return fail(compare.status());
  auto ledger = JsonlLedger::Open(*ledger_path);
  if (!ledger.ok()) return fail(ledger.status());
  auto result = RunAudit(*ledger, *meter_id, *code, *dynamic, *compare, SystemClock::Instance().NowSeconds(), options);
  if (!result.ok()) return fail(result.status());
  if (result->pass()) {
    out << "pass\n";
    return 0;
  }
  const bool explain = o.Get("explain").has_value();
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
  std::string fixed_image;           // as stored in the meter
  ma::DynamicSegment dynamic;        // at the end of the cycle
  std::vector<LedgerEntry> entries;  // the ledger then
};

Result<Example> BuildExample(const std::string& attack) {
  constexpr int64_t kDay = 20777;  // 2026-11-20
  constexpr int64_t kH = 3600;
  const int64_t t0 = kDay * ma::kDaySeconds;
  const std::string original = ma::DefaultFixedImage();
  InMemoryLedger ledger;
  MH_RETURN_IF_ERROR(ledger.Append(EncodeCodeRegistration("M1", original, t0 - ma::kDaySeconds)));
  LedgerUploader uploader(&ledger);
  ma::AuditPlugin plugin("M1", ma::Cycle{kDay, 3, 0}, &uploader);
  Example ex;
  plugin.SetCycleEndHook([&](const ma::DynamicSegment& s) {
    ex.dynamic = s;
    ex.entries = ledger.EntriesOf("M1");
  });
  std::string stored = original;
  if (attack == "code") stored.replace(stored.find("DIV R0 R0 3600000"), 17, "DIV R0 R0 4000000");
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
  if (attack == "ledger") {
    // Someone with write access to the ledger's storage moves the day-1 02:00 start to 02:10.
    for (auto& e : ex.entries) {
      if (e.key.window == kDay && e.key.seq == 1) {
        const std::string from = "t=" + std::to_string(t0 + 2 * kH);
        e.payload.replace(e.payload.find(from), from.size(), "t=" + std::to_string(t0 + 2 * kH + 600));
      }
    }
  }
  return ex;
}

int RunExample(const Options& o, std::ostream& out, std::ostream& err) {
  auto fail = [&](const Status& s) { return Fail(err, "example", s); };
  auto dir = o.Required("out");
  if (!dir.ok()) return fail(dir.status());
  const std::string attack = o.Get("attack").value_or("none");
  if (attack != "none" && attack != "code" && attack != "replay" && attack != "bypass" && attack != "ledger") {
    return fail(InvalidArgument("--attack '" + attack + "' is not none, code, replay, bypass or ledger"));
  }
  auto ex = BuildExample(attack);
  if (!ex.ok()) return fail(ex.status());
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(*dir) / "ledger", ec);
  if (ec) return fail(InvalidArgument("cannot create '" + *dir + "/ledger': " + ec.message()));
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"ledger/records.jsonl", FormatJsonl(ex->entries)},
           {"FIXED.bin", ex->fixed_image},
           {"DYNAMIC.txt", ma::FormatDynamicSegment(ex->dynamic)},
           {"TABLE.txt", ma::FormatComparisonTable(ma::DefaultComparisonLines())}}) {
    if (Status s = WriteWholeFile((fs::path(*dir) / name).string(), text); !s.ok()) return fail(s);
  }
  out << "wrote " << *dir << "/{ledger/records.jsonl,FIXED.bin,DYNAMIC.txt,TABLE.txt} (meter M1, attack " << attack << ")\n";
  return 0;
}

}  // namespace

const char* AuditUsage() { return kUsage; }

int RunAuditCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
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
  if (verb == "verify") {
    auto o = Options::Parse(argv, {"ledger", "meter", "code", "dynamic", "compare", "tolerance"}, {"explain"});
    if (!o.ok()) return Fail(err, verb, o.status());
    return RunVerify(*o, out, err);
  }
  if (verb == "example") {
    auto o = Options::Parse(argv, {"out", "attack"}, {});
    if (!o.ok()) return Fail(err, verb, o.status());
    return RunExample(*o, out, err);
  }
  err << "meterhub audit: unknown command '" << verb << "'\n" << kUsage;
  return 2;
}

}  // namespace mh::audit
