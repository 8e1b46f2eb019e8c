#include "audit/ledger_records.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "crypto/crypto.h"
#include "meter/audit/fixed_segment.h"

namespace mh::audit {
namespace {

using meter::audit::SignalEvent;

constexpr std::string_view kCodeHeader = "mh-code 1";
constexpr std::string_view kCompareHeader = "mh-table 1";
constexpr std::string_view kSignalHeader = "mh-signal 1";

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t i = s.find(sep, start);
    out.push_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) break;
    start = i + 1;
  }
  return out;
}

Result<std::string_view> Value(std::string_view word, std::string_view key) {
  if (word.size() <= key.size() || word.substr(0, key.size()) != key || word[key.size()] != '=') {
    return InvalidArgument("expected '" + std::string(key) + "=...', got '" + std::string(word) + "'");
  }
  return word.substr(key.size() + 1);
}

Result<int64_t> IntValue(std::string_view word, std::string_view key) {
  MH_ASSIGN_OR_RETURN(std::string_view v, Value(word, key));
  int64_t x = 0;
  if (!ParseInt(v, &x)) return InvalidArgument(std::string(key) + " '" + std::string(v) + "' is not an integer");
  return x;
}

const char* EdgeName(const SignalEvent& e) {
  switch (e.kind) {
    case SignalEvent::kOpen: return e.on ? "open-on" : "open-off";
    case SignalEvent::kStart: return "start";
    case SignalEvent::kStop: return "stop";
    case SignalEvent::kClose: return e.on ? "close-on" : "close-off";
  }
  return "?";
}

// What commissioning registers: "<magic> at=T bytes=N sha256=HEX[ reason=TEXT]\n" followed by the
// N bytes, with the length and the SHA-256 checked. `what` names the payload, `noun` its body in errors.
struct Registration {
  int64_t at = 0;
  std::string body;
  std::string reason;
};
Result<Registration> DecodeRegistration(std::string_view p, std::string_view magic, const std::string& what,
                                        const std::string& noun, bool with_reason) {
  const size_t nl = p.find('\n');
  if (nl == std::string_view::npos) return InvalidArgument(what + " payload has no header line");
  std::string_view header = p.substr(0, nl);
  Registration r;
  if (with_reason) {
    const size_t at = header.find(" reason=");
    if (at != std::string_view::npos) {
      r.reason = std::string(header.substr(at + 8));
      header = header.substr(0, at);
    }
  }
  const auto w = Split(header, ' ');
  if (w.size() != 5 || std::string(w[0]) + " " + std::string(w[1]) != magic || (with_reason && r.reason.empty())) {
    return InvalidArgument(what + " payload header is not '" + std::string(magic) + " at=T bytes=N sha256=HEX" +
                           (with_reason ? " reason=TEXT'" : "'"));
  }
  if (with_reason) MH_RETURN_IF_ERROR(CheckReason(r.reason).WithContext(what + " payload"));
  MH_ASSIGN_OR_RETURN(r.at, IntValue(w[2], "at"));
  MH_ASSIGN_OR_RETURN(int64_t bytes, IntValue(w[3], "bytes"));
  MH_ASSIGN_OR_RETURN(std::string_view sha, Value(w[4], "sha256"));
  r.body = std::string(p.substr(nl + 1));
  if (bytes != static_cast<int64_t>(r.body.size())) {
    return InvalidArgument(what + " payload holds " + std::to_string(r.body.size()) + " " + noun + " bytes, header says " +
                           std::to_string(bytes));
  }
  if (crypto::HexEncode(crypto::Sha256(r.body)) != sha) {
    return InvalidArgument(what + " payload " + noun + " does not match its sha256");
  }
  return r;
}

// Commissioning n keys its code at (0, 2n) and its table at (0, 2n + 1).
Result<int> CommissioningOf(const EntryKey& key, int parity, const char* what) {
  if (key.window != 0 || key.seq < 0 || key.seq % 2 != parity) {
    return InvalidArgument(std::string(what) + " key must be window 0 and an " + (parity ? "odd" : "even") +
                           " seq (2 x the commissioning" + (parity ? " + 1)" : ")"));
  }
  return static_cast<int>(key.seq / 2);
}

Result<LedgerRecord> DecodeCode(const LedgerEntry& entry) {
  MH_ASSIGN_OR_RETURN(Registration reg, DecodeRegistration(entry.payload, kCodeHeader, "code", "image", false));
  LedgerRecord r;
  r.kind = LedgerRecord::kCode;
  r.meter_id = entry.key.meter_id;
  r.registered_at = reg.at;
  r.fixed_image = std::move(reg.body);
  MH_ASSIGN_OR_RETURN(r.commissioning, CommissioningOf(entry.key, 0, "code registration"));
  return r;
}

Result<LedgerRecord> DecodeCompare(const LedgerEntry& entry) {
  MH_ASSIGN_OR_RETURN(Registration reg, DecodeRegistration(entry.payload, kCompareHeader, "table", "text", true));
  LedgerRecord r;
  r.kind = LedgerRecord::kCompare;
  r.meter_id = entry.key.meter_id;
  r.registered_at = reg.at;
  r.reason = std::move(reg.reason);
  r.compare_text = std::move(reg.body);
  MH_ASSIGN_OR_RETURN(r.compare_lines, meter::audit::ParseComparisonTable(r.compare_text, "table payload"));
  MH_ASSIGN_OR_RETURN(r.commissioning, CommissioningOf(entry.key, 1, "comparison table"));
  return r;
}

Result<LedgerRecord> DecodeSignal(const LedgerEntry& entry) {
  const auto w = Split(entry.payload, ' ');
  if (w.size() != 7 || std::string(w[0]) + " " + std::string(w[1]) != kSignalHeader) {
    return InvalidArgument("signal payload is not 'mh-signal 1 day=YYYY-MM-DD window=W/D tz=S t=T edge=E'");
  }
  LedgerRecord r;
  r.kind = LedgerRecord::kSignal;
  r.meter_id = entry.key.meter_id;
  SignalEvent& e = r.event;
  e.meter_id = entry.key.meter_id;
  e.seq = entry.key.seq;
  MH_ASSIGN_OR_RETURN(std::string_view day, Value(w[2], "day"));
  auto d = meter::audit::ParseDay(std::string(day));
  if (!d.ok()) return d.status().WithContext("day");
  e.day = *d;
  MH_ASSIGN_OR_RETURN(std::string_view win, Value(w[3], "window"));
  const auto wd = Split(win, '/');
  int64_t window = 0, cycle_d = 0;
  if (wd.size() != 2 || !ParseInt(wd[0], &window) || !ParseInt(wd[1], &cycle_d) || cycle_d < 1 || cycle_d > 366 ||
      window < 1 || window > cycle_d) {
    return InvalidArgument("window '" + std::string(win) + "' is not W/D with 1 <= W <= D");
  }
  e.window = static_cast<int>(window);
  e.d = static_cast<int>(cycle_d);
  MH_ASSIGN_OR_RETURN(int64_t tz, IntValue(w[4], "tz"));
  if (tz < -14 * 3600 || tz > 14 * 3600) return InvalidArgument("tz out of range");
  e.tz_offset_s = static_cast<int32_t>(tz);
  MH_ASSIGN_OR_RETURN(e.t, IntValue(w[5], "t"));
  MH_ASSIGN_OR_RETURN(std::string_view edge, Value(w[6], "edge"));
  if (edge == "open-on" || edge == "open-off") {
    e.kind = SignalEvent::kOpen;
    e.on = edge == "open-on";
  } else if (edge == "start") {
    e.kind = SignalEvent::kStart;
    e.on = true;
  } else if (edge == "stop") {
    e.kind = SignalEvent::kStop;
  } else if (edge == "close-on" || edge == "close-off") {
    e.kind = SignalEvent::kClose;
    e.on = edge == "close-on";
  } else {
    return InvalidArgument("edge '" + std::string(edge) + "' is not open-on, open-off, start, stop, close-on or close-off");
  }
  if (entry.key.window != e.day) return InvalidArgument("key window " + std::to_string(entry.key.window) + " is not the payload's day");
  return r;
}

}  // namespace

Status CheckReason(std::string_view reason) {
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return InvalidArgument("the reason must be 1-" + std::to_string(kMaxReasonBytes) + " characters");
  }
  for (char c : reason) {
    if (c < 0x20 || c > 0x7e) return InvalidArgument("the reason must be printable ASCII on one line");
  }
  return Status::Ok();
}

LedgerEntry EncodeCodeRegistration(const std::string& meter_id, std::string_view fixed_image, int64_t registered_at,
                                   int commissioning) {
  LedgerEntry e;
  e.key = {meter_id, 0, CodeSeq(commissioning)};
  e.kind = kCodeKind;
  e.payload = std::string(kCodeHeader) + " at=" + std::to_string(registered_at) + " bytes=" +
              std::to_string(fixed_image.size()) + " sha256=" + crypto::HexEncode(crypto::Sha256(fixed_image)) + "\n" +
              std::string(fixed_image);
  return e;
}

LedgerEntry EncodeComparisonTable(const std::string& meter_id, std::string_view compare_text, int64_t registered_at,
                                  std::string_view reason, int commissioning) {
  LedgerEntry e;
  e.key = {meter_id, 0, CompareSeq(commissioning)};
  e.kind = kCompareKind;
  e.payload = std::string(kCompareHeader) + " at=" + std::to_string(registered_at) + " bytes=" +
              std::to_string(compare_text.size()) + " sha256=" + crypto::HexEncode(crypto::Sha256(compare_text)) +
              " reason=" + std::string(reason) + "\n" + std::string(compare_text);
  return e;
}

LedgerEntry EncodeSignalEvent(const SignalEvent& ev) {
  LedgerEntry e;
  e.key = {ev.meter_id, ev.day, ev.seq};
  e.kind = kSignalKind;
  e.payload = std::string(kSignalHeader) + " day=" + meter::audit::FormatDay(ev.day) + " window=" + std::to_string(ev.window) +
              "/" + std::to_string(ev.d) + " tz=" + std::to_string(ev.tz_offset_s) + " t=" + std::to_string(ev.t) +
              " edge=" + EdgeName(ev);
  return e;
}

Result<LedgerRecord> DecodeEntry(const LedgerEntry& entry) {
  const std::string where = "ledger entry (" + entry.key.meter_id + ", " + std::to_string(entry.key.window) + ", " +
                            std::to_string(entry.key.seq) + ")";
  if (entry.kind == kCodeKind) {
    auto r = DecodeCode(entry);
    if (!r.ok()) return r.status().WithContext(where);
    return r;
  }
  if (entry.kind == kCompareKind) {
    auto r = DecodeCompare(entry);
    if (!r.ok()) return r.status().WithContext(where);
    return r;
  }
  if (entry.kind == kSignalKind) {
    auto r = DecodeSignal(entry);
    if (!r.ok()) return r.status().WithContext(where);
    return r;
  }
  return InvalidArgument(where + ": unknown kind '" + entry.kind + "'");
}

Result<std::vector<LedgerRecord>> DecodeEntries(std::vector<LedgerEntry> entries) {
  std::stable_sort(entries.begin(), entries.end(), [](const LedgerEntry& a, const LedgerEntry& b) { return a.key < b.key; });
  std::vector<LedgerRecord> out;
  for (const auto& e : entries) {
    if (e.kind != kCodeKind && e.kind != kCompareKind && e.kind != kSignalKind) continue;
    MH_ASSIGN_OR_RETURN(LedgerRecord r, DecodeEntry(e));
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<Commissioning> LatestCommissioning(const std::vector<LedgerRecord>& records) {
  const LedgerRecord* code = nullptr;
  for (const LedgerRecord& r : records) {
    if (r.kind == LedgerRecord::kCode && (!code || r.commissioning > code->commissioning)) code = &r;
  }
  if (!code) return std::nullopt;
  Commissioning c;
  c.number = code->commissioning;
  c.registered_at = code->registered_at;
  c.fixed_image = code->fixed_image;
  for (const LedgerRecord& r : records) {
    if (r.kind == LedgerRecord::kCompare && r.commissioning == code->commissioning) {
      c.compare_lines = r.compare_lines;
      c.compare_text = r.compare_text;
      c.reason = r.reason;
    }
  }
  return c;
}

}  // namespace mh::audit
