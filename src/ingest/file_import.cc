#include "ingest/file_import.h"

#include <chrono>
#include <cmath>
#include <unordered_map>
#include <fstream>
#include <ostream>
#include <sstream>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "base/progress.h"
#include "codec/nem12.h"
#include "codec/reading_csv.h"
#include "core/meter_id.h"
#include "core/time.h"
#include "vee/validator.h"

namespace mh::ingest {
namespace {

constexpr int kListedIssues = 20;

// Collects readings and flushes them through the pipeline in batches; bad rows become events.
class Loader {
 public:
  Loader(Pipeline& pipeline, store::Store& store, const ImportArgs& args, std::ostream& err)
      : pipeline_(pipeline), store_(store), args_(args), err_(err) {}

  void Add(Reading r, std::string quality) {
    if (!args_.revise_reason.empty() && r.value) return Revise(std::move(r), std::move(quality));
    readings_.push_back(std::move(r));
    quality_.push_back(std::move(quality));
    if (readings_.size() >= args_.batch_size) Flush();
  }

  // --revise: a stored reading with another value or quality flag gets a new version.
  void Revise(Reading r, std::string quality) {
    Flush();
    if (!status_.ok()) return;
    auto stored = store_.GetReading(r.meter_id, r.ts);
    if (!stored.ok()) {
      status_ = stored.status();
      return;
    }
    if (!*stored) {
      readings_.push_back(std::move(r));
      quality_.push_back(std::move(quality));
      return;
    }
    const std::string flag = quality.substr(0, quality.find(':'));
    if ((*stored)->value == *r.value && (flag.empty() || (*stored)->quality.rfind(flag, 0) == 0)) {
      ++report_.summary.duplicates;
      return;
    }
    Pipeline::Correction c{r.meter_id, r.ts, *r.value, args_.revise_reason, "import", quality};
    auto revised = pipeline_.Correct(c);
    if (revised.ok()) {
      ++report_.revised;
    } else if (revised.status().code() == StatusCode::kFailedPrecondition) {
      ++report_.revision_refused;
      if (report_.revision_refused <= kListedIssues)
        err_ << args_.path << ": " << r.meter_id << " at " << FormatIsoUtc(r.ts) << ": not revised: "
             << revised.status().message() << "\n";
    } else {
      status_ = revised.status();
    }
  }

  void Issue(const codec::RowIssue& issue) {
    ++report_.bad_rows;
    if (report_.bad_rows <= kListedIssues) {
      err_ << args_.path << ":" << issue.line << ": " << (issue.field.empty() ? "" : issue.field + ": ")
           << issue.message << "\n";
    }
    store::ReadingEvent ev;
    ev.meter_id = "_import";
    ev.kind = "rejected_row";
    ev.detail = nlohmann::json{{"file", args_.path}, {"line", issue.line}, {"field", issue.field},
                               {"message", issue.message}, {"text", issue.text}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    rejected_.events.push_back(std::move(ev));
    if (rejected_.events.size() >= 1000) FlushRejected();
  }

  void Event(store::ReadingEvent ev) {
    ++report_.nem12_events;
    rejected_.events.push_back(std::move(ev));
  }

  void Flush() {
    if (!status_.ok() || readings_.empty()) return;
    auto result = pipeline_.Submit(readings_, "import", &quality_);
    if (!result.ok()) {
      status_ = result.status();
    } else {
      report_.summary.Add(*result);
    }
    readings_.clear();
    quality_.clear();
    if (status_.ok() && store_.UnpackedReadings() >= args_.pack_every) status_ = pipeline_.Pack();
  }

  // Everything held in memory goes to disk, durably.
  void Pack() {
    if (status_.ok()) status_ = pipeline_.Pack();
  }

  void FlushRejected() {
    if (!status_.ok() || rejected_.events.empty()) return;
    Status s = pipeline_.RecordRejected(std::move(rejected_));
    rejected_ = {};
    if (!s.ok()) status_ = s;
  }

  // Where a NEM12 channel's register stands: its last stored reading (value 0 for a new meter).
  // Intervals at or before that reading's time are already stored (a re-imported file).
  Result<vee::Point*> Register(const codec::Nem12Interval& iv, const std::string& meter_id) {
    auto it = registers_.find(meter_id);
    if (it != registers_.end()) return &it->second;
    MH_ASSIGN_OR_RETURN(std::optional<store::MeterInfo> meter, store_.GetMeter(meter_id));
    vee::Point base{INT64_MIN, 0.0};
    if (!meter) {
      store::MeterInfo m;
      m.meter_id = meter_id;
      m.kind = "electricity";
      m.interval_s = iv.interval_s;
      m.tz_offset_s = args_.nem12_offset_s;
      m.customer_id = iv.nmi;
      MH_RETURN_IF_ERROR(store_.UpsertMeter(m));
      pipeline_.Invalidate(meter_id);
      ++report_.meters_registered;
    } else {
      // A revision file restates its own span: its registers continue from the reading before it.
      const int64_t at = args_.revise_reason.empty() ? INT64_MAX : iv.interval_end - 1;
      MH_ASSIGN_OR_RETURN(std::optional<store::StoredReading> last, store_.LastReadingAtOrBefore(meter_id, at));
      if (last) base = {last->ts, last->value};
    }
    return &registers_.emplace(meter_id, base).first->second;
  }

  ImportReport& report() { return report_; }
  Status& status() { return status_; }

 private:
  Pipeline& pipeline_;
  store::Store& store_;
  const ImportArgs& args_;
  std::ostream& err_;
  std::vector<Reading> readings_;
  std::vector<std::string> quality_;
  store::IngestBatch rejected_;
  std::unordered_map<std::string, vee::Point> registers_;
  ImportReport report_;
  Status status_;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return InvalidArgument("cannot open " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

Result<ImportReport> ImportFile(Pipeline& pipeline, store::Store& store, const ImportArgs& args, std::ostream& err) {
  auto t0 = std::chrono::steady_clock::now();
  Loader loader(pipeline, store, args, err);
  if (args.format == "csv") {
    struct stat st {};
    uint64_t total = ::stat(args.path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    Progress progress("import", total);
    if (!args.progress) progress.SetTerminal(false);
    Status parsed = codec::ParseReadingCsvFileRows(
        args.path,
        [&](const Reading& r, std::string_view quality, int64_t) {
          ++loader.report().rows;
          // The quality flag is kept as NEM12's is (what `meterhub export` wrote reads back).
          loader.Add(r, std::string(quality));
        },
        [&](const codec::RowIssue& issue) {
          ++loader.report().rows;
          loader.Issue(issue);
        },
        [&](uint64_t done, uint64_t) {
          if (args.progress) progress.Update(done);
        },
        args.zone);
    if (!parsed.ok()) return parsed;
    if (args.progress) progress.Update(total);
  } else if (args.format == "nem12") {
    MH_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(args.path));
    codec::Nem12Handlers handlers;
    handlers.on_interval = [&](const codec::Nem12Interval& iv) {
      ++loader.report().rows;
      if (!loader.status().ok()) return;
      std::string meter_id = codec::Nem12MeterId(iv.nmi, iv.channel);
      auto reg = loader.Register(iv, meter_id);
      if (!reg.ok()) {
        loader.status() = reg.status();
        return;
      }
      vee::Point& reg_point = **reg;
      if (args.revise_reason.empty() && iv.interval_end <= reg_point.ts) {
        ++loader.report().summary.duplicates;
        return;
      }
      // Round away float noise from summing thousands of 3-decimal intervals.
      reg_point.value = std::round((reg_point.value + iv.kwh) * 1e6) / 1e6;
      reg_point.ts = iv.interval_end;
      const double value = reg_point.value;
      Reading r;
      r.meter_id = meter_id;
      r.ts = iv.interval_end;
      r.value = value;
      loader.Add(std::move(r), iv.quality + (iv.reason_code.empty() ? "" : ":" + iv.reason_code));
    };
    handlers.on_event = [&](const codec::Nem12Event& e) {
      store::ReadingEvent ev;
      ev.meter_id = codec::Nem12MeterId(e.nmi, e.channel);
      ev.ts_from = e.from;
      ev.ts_to = e.to;
      ev.kind = "nem12_400";
      ev.detail = nlohmann::json{{"first_interval", e.first_interval}, {"last_interval", e.last_interval},
                                 {"quality_method", e.quality_method}, {"reason_code", e.reason_code},
                                 {"reason_description", e.reason_description}, {"line", e.line}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      loader.Event(std::move(ev));
    };
    handlers.on_issue = [&](const codec::RowIssue& issue) { loader.Issue(issue); };
    MH_RETURN_IF_ERROR(codec::ParseNem12(text, handlers, args.nem12_offset_s).WithContext(args.path));
  } else {
    return InvalidArgument("--format must be csv or nem12, got '" + args.format + "'");
  }
  loader.Flush();
  loader.Pack();
  // Events go after the readings so a NEM12 event's meter already exists.
  loader.FlushRejected();
  MH_RETURN_IF_ERROR(loader.status());
  if (loader.report().bad_rows > kListedIssues)
    err << "... and " << (loader.report().bad_rows - kListedIssues) << " more bad rows (kept as rejected_row events)\n";
  loader.report().seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return loader.report();
}

std::string FormatImportReport(const ImportReport& r) {
  const auto& s = r.summary;
  std::ostringstream o;
  o << "rows: " << r.rows << "\n"
    << "accepted: " << s.accepted << "\n"
    << "quarantined: " << s.quarantined_total() << " (null " << s.quarantined[static_cast<int>(Verdict::kNull)]
    << ", error " << s.quarantined[static_cast<int>(Verdict::kError)] << ", sudden "
    << s.quarantined[static_cast<int>(Verdict::kSudden)] << ")\n"
    << "duplicates: " << s.duplicates << "\n"
    << "rejected rows: " << r.bad_rows + s.rejected << "\n"
    << "alerts: " << s.alerts << "\n";
  if (r.meters_registered) o << "meters registered: " << r.meters_registered << "\n";
  if (s.conflicts) o << "conflicting values (kept as value_conflict events): " << s.conflicts << "\n";
  if (r.revised || r.revision_refused)
    o << "revised: " << r.revised << " (refused " << r.revision_refused << ")\n";
  if (r.nem12_events) o << "NEM12 events (400 records): " << r.nem12_events << "\n";
  char buf[96];
  std::snprintf(buf, sizeof buf, "time: %.2f s (%.0f rows/s)\n", r.seconds, r.seconds > 0 ? r.rows / r.seconds : 0.0);
  o << buf;
  return o.str();
}

}  // namespace mh::ingest
