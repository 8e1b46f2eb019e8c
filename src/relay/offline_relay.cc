#include "relay/offline_relay.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "codec/wifi/beacon.h"
#include "codec/wifi/pcap.h"
#include "crypto/crypto.h"
#include "meter/access_password.h"
#include "meter/relay_score.h"
#include "base/number_text.h"
#include "base/tool_args.h"
#include "meter/slots.h"
#include "meter/usage_level.h"

namespace mh::relay {
namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  meterhub relay slots --region NAME [--window 00:00-06:00] [--slot 5m] [--count 4]\n"
    "  meterhub relay level --region NAME --consumption FILE.csv [--window 00:00-06:00] [--slot 5m]\n"
    "                       [--count 4] [--trim 0.1] [--theta X] [--levels '0:[0,0] 1:[1,2] 2:[3,5] 3:[6,inf)']\n"
    "  meterhub relay score --scan FILE.csv --region-code C --self-position L3 [--alpha 3] [--k 3]\n"
    "  meterhub relay password --region-code C --position P --reference HEX\n"
    "  meterhub relay beacons --pcap OUT.pcap [--meters N]\n";

// Every option of every verb, as given (required ones are checked present by the parser).
struct Options {
  std::optional<std::string> region, window, slot, count, consumption, trim, theta, levels;  // slots, level
  std::optional<std::string> scan, region_code, self_position, alpha, k;                     // score
  std::optional<std::string> position, reference;                                             // password
  std::optional<std::string> pcap, meters;                                                    // beacons
};

// `def` when not given; else a whole number in [min, 1000000].
Result<int> IntOption(const std::optional<std::string>& text, const std::string& name, int def, int min) {
  constexpr long kMax = 1000000;
  if (!text) return def;
  long v = 0;
  if (!ParseIntText(*text, &v) || v < min || v > kMax) {
    return InvalidArgument("--" + name + " '" + *text + "' is not an integer in " + std::to_string(min) + ".." +
                           std::to_string(kMax));
  }
  return static_cast<int>(v);
}

// nullopt when not given; else a finite number.
Result<std::optional<double>> DoubleOption(const std::optional<std::string>& text, const std::string& name) {
  if (!text) return std::optional<double>();
  double v = 0;
  if (!ParseDoubleText(*text, &v)) return InvalidArgument("--" + name + " '" + *text + "' is not a number");
  return std::optional<double>(v);
}

// The window, slot length, N and the allocated sub-periods shared by `slots` and `level`.
struct Allocation {
  meter::SlotOptions slot_options;
  int n = 0;
  std::vector<int> slots;
};

Result<Allocation> Allocate(const Options& o) {
  Allocation a;
  const std::string& region = *o.region;
  if (region.empty()) return InvalidArgument("--region is empty");
  if (const auto& w = o.window) MH_RETURN_IF_ERROR(meter::ParseWindow(*w, &a.slot_options).WithContext("--window"));
  if (const auto& s = o.slot) {
    Result<int> minutes = meter::ParseMinutes(*s);
    if (!minutes.ok()) return minutes.status().WithContext("--slot");
    a.slot_options.slot_minutes = *minutes;
  }
  MH_ASSIGN_OR_RETURN(a.slot_options.slots_per_region, IntOption(o.count, "count", 4, 1));
  Result<int> n = meter::SlotCount(a.slot_options);
  if (!n.ok()) return n.status().WithContext("--window/--slot");
  a.n = *n;
  a.slots = meter::AllocateSlots(region, a.n, a.slot_options.slots_per_region);
  return a;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot open '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return InvalidArgument("cannot read '" + path + "'");
  return ss.str();
}

// Calls row(line_number, line) for each non-blank line after the header, which must equal
// `header` (spaces around the fields, a UTF-8 BOM and CRLF endings tolerated).
Status ForEachCsvRow(const std::string& path, const std::vector<std::string_view>& header,
                     const std::function<Status(std::string_view)>& row) {
  MH_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view l = TrimBlanks(line);
    if (l.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    if (!have_header) {
      std::vector<std::string_view> fields;
      size_t start = 0;
      while (true) {
        size_t comma = l.find(',', start);
        fields.push_back(TrimBlanks(l.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (fields != header) {
        std::string want;
        for (auto h : header) want += (want.empty() ? "" : ",") + std::string(h);
        return InvalidArgument(where + ": header is '" + std::string(l) + "', want '" + want + "'");
      }
      have_header = true;
      continue;
    }
    MH_RETURN_IF_ERROR(row(l).WithContext(where));
  }
  if (!have_header) return InvalidArgument(path + ": empty file, want a header line");
  return Status::Ok();
}

int Fail(std::ostream& err, const std::string& verb, const Status& s) {
  err << "meterhub relay " << verb << ": " << s.message() << "\n";
  return 2;
}

int RunSlots(const Options& o, std::ostream& out, std::ostream& err) {
  Result<Allocation> a = Allocate(o);
  if (!a.ok()) return Fail(err, "slots", a.status());
  for (size_t i = 0; i < a->slots.size(); ++i) out << (i ? " " : "") << a->slots[i];
  out << "\n";
  return 0;
}

int RunLevel(const Options& o, std::ostream& out, std::ostream& err) {
  const auto fail = [&](const Status& s) { return Fail(err, "level", s); };
  Result<Allocation> a = Allocate(o);
  if (!a.ok()) return fail(a.status());
  meter::LevelOptions lo;
  if (auto t = DoubleOption(o.trim, "trim"); !t.ok()) {
    return fail(t.status());
  } else if (t->has_value()) {
    if (!(**t >= 0 && **t < 0.5)) return fail(InvalidArgument("--trim must be in [0, 0.5)"));
    lo.trim = **t;
  }
  if (auto t = DoubleOption(o.theta, "theta"); !t.ok()) {
    return fail(t.status());
  } else if (t->has_value()) {
    if (**t < 0) return fail(InvalidArgument("--theta must not be negative"));
    lo.theta = **t;
  }
  if (const auto& levels = o.levels) {
    Result<meter::LevelTable> table = meter::LevelTable::Parse(*levels);
    if (!table.ok()) return fail(table.status().WithContext("--levels"));
    lo.table = std::move(*table);
  }
  const std::string& path = *o.consumption;
  const int window = meter::WindowMinutes(a->slot_options);
  std::vector<meter::DetectionPoint> points;
  Status read = ForEachCsvRow(path, {"minute", "consumption"}, [&](std::string_view l) -> Status {
    const size_t comma = l.find(',');
    if (comma == std::string_view::npos || l.find(',', comma + 1) != std::string_view::npos) {
      return InvalidArgument("want 2 fields minute,consumption");
    }
    long minute = 0;
    double c = 0;
    if (!ParseIntText(l.substr(0, comma), &minute)) {
      return InvalidArgument("minute '" + std::string(TrimBlanks(l.substr(0, comma))) + "' is not an integer");
    }
    if (minute < 0 || minute >= window) {
      return InvalidArgument("minute " + std::to_string(minute) + " is outside the window (0.." +
                             std::to_string(window - 1) + ")");
    }
    if (!ParseDoubleText(l.substr(comma + 1), &c)) {
      return InvalidArgument("consumption '" + std::string(TrimBlanks(l.substr(comma + 1))) + "' is not a number");
    }
    points.push_back({static_cast<int>(minute), c});
    return Status::Ok();
  });
  if (!read.ok()) return fail(read);
  Result<std::vector<meter::SubPeriodLevel>> levels =
      meter::ComputeUsageLevels(points, a->slots, a->slot_options.slot_minutes, lo);
  if (!levels.ok()) return fail(levels.status().WithContext(path));
  for (const auto& l : *levels) out << l.sub_period << "," << l.level << "\n";
  return 0;
}

int RunScore(const Options& o, std::ostream& out, std::ostream& err) {
  const auto fail = [&](const Status& s) { return Fail(err, "score", s); };
  const std::string& path = *o.scan;
  const std::string& region = *o.region_code;
  if (!meter::IsDigits(region, meter::kRegionCodeLength)) {
    return fail(InvalidArgument("--region-code '" + region + "' is not 9 digits"));
  }
  const std::string& self = *o.self_position;
  if (!meter::IsDigits(self, meter::kPositionCodeLength)) {
    return fail(InvalidArgument("--self-position '" + self + "' is not 6 digits"));
  }
  meter::ScoreOptions so;
  if (auto a = DoubleOption(o.alpha, "alpha"); !a.ok()) {
    return fail(a.status());
  } else if (a->has_value()) {
    so.alpha = **a;
  }
  Result<int> k = IntOption(o.k, "k", 3, 1);
  if (!k.ok()) return fail(k.status());
  so.k = *k;
  std::vector<meter::ScannedBeacon> scan;
  Status read = ForEachCsvRow(path, {"ssid", "rssi", "freq"}, [&](std::string_view l) -> Status {
    // The SSID is everything before the last two commas, so an SSID may itself hold commas.
    const size_t c2 = l.rfind(',');
    const size_t c1 = c2 == std::string_view::npos || c2 == 0 ? std::string_view::npos : l.rfind(',', c2 - 1);
    if (c1 == std::string_view::npos) return InvalidArgument("want 3 fields ssid,rssi,freq");
    meter::ScannedBeacon b;
    b.ssid = std::string(l.substr(0, c1));
    if (!ParseDoubleText(l.substr(c1 + 1, c2 - c1 - 1), &b.rssi_dbm)) {
      return InvalidArgument("rssi '" + std::string(TrimBlanks(l.substr(c1 + 1, c2 - c1 - 1))) + "' is not a number");
    }
    if (!ParseDoubleText(l.substr(c2 + 1), &b.frequency) || b.frequency < 0) {
      return InvalidArgument("freq '" + std::string(TrimBlanks(l.substr(c2 + 1))) + "' is not a number >= 0");
    }
    scan.push_back(std::move(b));
    return Status::Ok();
  });
  if (!read.ok()) return fail(read);
  Result<std::vector<meter::ScoredRelay>> chosen = meter::ChooseRelays(scan, region, self, so);
  if (!chosen.ok()) return fail(chosen.status());
  char buf[64];
  for (const meter::ScoredRelay& r : *chosen) {
    std::snprintf(buf, sizeof buf, "%.6f", r.score);
    out << r.ssid << "," << buf << "\n";
  }
  return 0;
}

int RunPassword(const Options& o, std::ostream& out, std::ostream& err) {
  const auto fail = [&](const Status& s) { return Fail(err, "password", s); };
  const std::string& region = *o.region_code;
  const std::string& position = *o.position;
  const std::string& reference = *o.reference;
  if (!meter::IsDigits(region, meter::kRegionCodeLength)) {
    return fail(InvalidArgument("--region-code '" + region + "' is not 9 digits"));
  }
  if (!meter::IsDigits(position, meter::kPositionCodeLength)) {
    return fail(InvalidArgument("--position '" + position + "' is not 6 digits"));
  }
  if (!meter::IsReferenceHex(reference)) {
    return fail(InvalidArgument("--reference '" + reference + "' is not 32 lowercase hex chars"));
  }
  Result<std::string> pw = meter::DeriveAccessPassword(region, position, reference);
  if (!pw.ok()) return fail(pw.status());
  out << *pw << "\n";
  return 0;
}

// `beacons`: one beacon per simulated relay of one street, as the relays would broadcast them in
// their target sub-period: SSID elecmeter_AP + region + position, and the vendor element with the
// encrypted reference (SPEC 2.5), under a demo region key (key id 1) — real frames, for tshark.
int RunBeacons(const Options& o, std::ostream& out, std::ostream& err) {
  const auto fail = [&](const Status& s) { return Fail(err, "beacons", s); };
  const std::string& path = *o.pcap;
  long meters = 10;
  if (const auto& m = o.meters) {
    if (!ParseIntText(*m, &meters) || meters < 1 || meters > 999999)
      return fail(InvalidArgument("--meters '" + *m + "' is not a number in 1..999999"));
  }
  const std::string region = kDemoRegionCode;
  const meter::RegionKey key = DemoRegionKey();
  std::vector<codec::wifi::PcapFrame> frames;
  const int64_t start_us = 1603900800LL * 1000000;  // 2020-10-29T00:00:00+08:00 minus 8 h: 00:00 local
  for (long i = 1; i <= meters; ++i) {
    char position[24];
    std::snprintf(position, sizeof position, "%06ld", i);
    Result<std::string> ssid = meter::MakeRelaySsid(region, position);
    if (!ssid.ok()) return fail(ssid.status());
    Result<crypto::Bytes> random = crypto::RandomBytes(16 + 12);  // reference, nonce
    if (!random.ok()) return fail(random.status());
    const std::string reference = crypto::HexEncode(std::span<const uint8_t>(random->data(), 16));
    Result<crypto::Bytes> payload =
        meter::BuildReferencePayload(key, reference, std::span<const uint8_t>(random->data() + 16, 12));
    if (!payload.ok()) return fail(payload.status());
    codec::wifi::BeaconFields f;
    f.bssid = {0x02, 0x4d, 0x48, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    f.sequence_number = static_cast<uint16_t>(i & 0xfff);
    f.timestamp_us = static_cast<uint64_t>(i) * 102400;
    f.ssid.assign(ssid->begin(), ssid->end());
    codec::wifi::VendorElement v;
    v.oui = codec::wifi::kMeterHubOui;
    v.type = codec::wifi::kMeterHubVendorType;
    v.payload.assign(payload->begin() + 4, payload->end());  // after OUI (3) and type (1)
    f.vendor_elements.push_back(std::move(v));
    frames.push_back({start_us + i * 1000, codec::wifi::BuildBeacon(f)});
  }
  if (Status s = codec::wifi::WritePcapFile(path, frames); !s.ok()) return fail(s);
  out << "wrote " << frames.size() << " beacons (region " << region << ", positions 000001.."
      << frames.size() << ") to " << path << "\n";
  return 0;
}

}  // namespace

const char* RelayUsage() { return kUsage; }

meter::RegionKey DemoRegionKey() {
  meter::RegionKey key;
  key.id = 1;
  const auto digest = crypto::Sha256(std::string_view("meterhub demo region key 440305001"));
  std::copy(digest.begin(), digest.end(), key.key.begin());
  return key;
}

int RunRelayCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  if (argv.empty()) {
    err << "meterhub relay: missing command\n" << kUsage;
    return 2;
  }
  const std::string& verb = argv[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    out << kUsage;
    return 0;
  }
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "--help" || argv[i] == "-h") {
      out << kUsage;
      return 0;
    }
  }
  Options o;
  CLI::App app;
  const auto may = [&](const char* name, std::optional<std::string>& value) { app.add_option(name, value); };
  const auto must = [&](const char* name, std::optional<std::string>& value) { app.add_option(name, value)->required(); };
  if (verb == "slots" || verb == "level") {
    must("--region", o.region);
    may("--window", o.window);
    may("--slot", o.slot);
    may("--count", o.count);
    if (verb == "level") {
      must("--consumption", o.consumption);
      may("--trim", o.trim);
      may("--theta", o.theta);
      may("--levels", o.levels);
    }
  } else if (verb == "score") {
    must("--scan", o.scan);
    must("--region-code", o.region_code);
    must("--self-position", o.self_position);
    may("--alpha", o.alpha);
    may("--k", o.k);
  } else if (verb == "password") {
    must("--region-code", o.region_code);
    must("--position", o.position);
    must("--reference", o.reference);
  } else if (verb == "beacons") {
    must("--pcap", o.pcap);
    may("--meters", o.meters);
  } else {
    err << "meterhub relay: unknown command '" << verb << "'\n" << kUsage;
    return 2;
  }
  if (Status s = ParseToolArgs(app, std::vector<std::string>(argv.begin() + 1, argv.end())); !s.ok()) return Fail(err, verb, s);
  if (verb == "slots") return RunSlots(o, out, err);
  if (verb == "level") return RunLevel(o, out, err);
  if (verb == "score") return RunScore(o, out, err);
  if (verb == "password") return RunPassword(o, out, err);
  return RunBeacons(o, out, err);
}

}  // namespace mh::relay
