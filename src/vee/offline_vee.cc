#include "vee/offline_vee.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>


#include <CLI/CLI.hpp>

#include "base/progress.h"
#include "base/tool_args.h"
#include "codec/reading_csv.h"
#include "core/time.h"
#include "vee/validator.h"

namespace mh::vee {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitIo = 1;
constexpr int kExitBad = 2;

// Verdicts as stored per row (one byte each).
uint8_t VerdictByte(Verdict v) { return static_cast<uint8_t>(v); }
Verdict ByteVerdict(uint8_t b) { return static_cast<Verdict>(b); }

// The first bad row aborts a pass: a bad row structure is fatal for this tool (SPEC 1.3).
struct StopParse {};

// Everything settled from the arguments before the first row is read.
struct Settings {
  std::string path;
  Options options;
  MeterParams meter;
  std::string verdicts;
  std::string alerts;
  bool progress = true;
};

Result<double> ParseDouble(std::string_view name, std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
    return InvalidArgument("option " + std::string(name) + ": '" + std::string(s) + "' is not a number");
  return v;
}

Result<int> ParseInt(std::string_view name, std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return InvalidArgument("option " + std::string(name) + ": '" + std::string(s) + "' is not an integer");
  return v;
}

Result<Settings> Settle(VeeArgs a) {
  if (a.readings.empty()) return InvalidArgument("missing READINGS.csv");
  if (!a.config.empty()) return InvalidArgument("--config must be resolved by the caller (RunVeeCommand's loader)");
  Settings s;
  s.path = a.readings;
  s.verdicts = a.verdicts;
  s.alerts = a.alerts;
  s.progress = a.progress;
  Options& o = s.options;
  MeterParams& m = s.meter;

  auto tz = TimeZone::Parse(a.tz.value_or("+08:00"));
  if (!tz.ok()) return tz.status().WithContext("--tz");
  m.tz = *tz;
  auto interval = ParseDuration(a.interval.value_or("1h"));
  if (!interval.ok()) return interval.status().WithContext("--interval");
  m.interval_s = *interval;
  auto period = ParsePeriodKind(a.period.value_or("day"));
  if (!period.ok()) return period.status().WithContext("--period");
  o.period = *period;
  auto peak = ParsePeak(a.peak, m.tz);
  if (!peak.ok()) return peak.status().WithContext("--peak");
  o.peak = *peak;
  o.same_period_coefficient = a.same_period_coefficient.value_or(0);
  if (!(o.same_period_coefficient >= 0)) return InvalidArgument("--same-period-coefficient must be >= 0");
  o.spike_coefficient = a.spike_coefficient.value_or(1.3);
  if (!(o.spike_coefficient > 0)) return InvalidArgument("--spike-coefficient must be > 0");
  o.alert_coefficient = a.alert_coefficient.value_or(1.0);
  if (!(o.alert_coefficient > 0)) return InvalidArgument("--alert-coefficient must be > 0");
  o.max_alerts_per_period = a.max_alerts.value_or(1);
  if (o.max_alerts_per_period < 0) return InvalidArgument("--max-alerts must be >= 0");
  o.negative_tolerance = a.negative_tolerance.value_or(0);
  if (!(o.negative_tolerance >= 0)) return InvalidArgument("--negative-tolerance must be >= 0");
  o.reset_after = a.reset_after.value_or(0);
  if (o.reset_after < 0) return InvalidArgument("--reset-after must be >= 0");
  o.max_interval_consumption = a.max_interval_consumption.value_or(0);
  if (!(o.max_interval_consumption >= 0)) return InvalidArgument("--max-interval-consumption must be >= 0");
  o.t2_quantile = a.t2_quantile.value_or(1.0);
  if (!(o.t2_quantile > 0 && o.t2_quantile <= 1)) return InvalidArgument("--t2-quantile must be in (0, 1]");
  if (a.register_max) {
    if (!(*a.register_max > 0)) return InvalidArgument("--register-max must be > 0");
    m.register_max = a.register_max;
  }
  if (a.t1) {
    if (!(*a.t1 >= 0)) return InvalidArgument("--t1 must be >= 0");
    m.customer_t1 = a.t1;
  }
  if (!s.verdicts.empty() && s.verdicts == s.alerts && s.verdicts != "-")
    return InvalidArgument("--verdicts and --alerts name the same file");
  return s;
}

// ---------------------------------------------------------------------------------------------
// Output: a buffered sink over a file or the caller's stream.

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  ~Sink() {
    if (file_ != nullptr) std::fclose(file_);
  }

  // "-" writes to `out`; an empty path writes nowhere.
  Status Open(const std::string& path, std::ostream* out) {
    path_ = path;
    if (path.empty()) return Status::Ok();
    if (path == "-") {
      stream_ = out;
      return Status::Ok();
    }
    file_ = std::fopen(path.c_str(), "wb");
    if (file_ == nullptr) return InvalidArgument("cannot write '" + path + "': " + std::strerror(errno));
    created_ = true;
    return Status::Ok();
  }
  bool active() const { return file_ != nullptr || stream_ != nullptr; }
  void Append(std::string_view s) {
    if (!active()) return;
    buf_.append(s);
    if (buf_.size() >= (1u << 20)) Flush();
  }
  std::string& buffer() { return buf_; }
  void MaybeFlush() {
    if (buf_.size() >= (1u << 20)) Flush();
  }
  void Flush() {
    if (buf_.empty()) return;
    if (file_ != nullptr) {
      if (std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) failed_ = true;
    } else if (stream_ != nullptr) {
      stream_->write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
      if (!*stream_) failed_ = true;
    }
    buf_.clear();
  }
  // Flushes and closes; false on any write error.
  bool Close() {
    Flush();
    if (file_ != nullptr) {
      if (std::fclose(file_) != 0) failed_ = true;
      file_ = nullptr;
    }
    if (stream_ != nullptr) stream_->flush();
    return !failed_;
  }
  // Removes a file this sink created (after a failed run, so no half-written output remains).
  void Discard() {
    buf_.clear();
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
    if (created_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::ostream* stream_ = nullptr;
  std::string buf_;
  bool created_ = false;
  bool failed_ = false;
};

// The input, mapped once more to echo each row's fields as they were written.
class MappedFile {
 public:
  ~MappedFile() {
    if (map_ != nullptr) munmap(map_, size_);
  }
  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return InvalidArgument(path + ": " + std::strerror(errno));
    struct stat st {};
    Status s;
    if (fstat(fd, &st) != 0) {
      s = InvalidArgument(path + ": " + std::strerror(errno));
    } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
      size_ = static_cast<size_t>(st.st_size);
      void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        s = InvalidArgument(path + ": " + std::strerror(errno));
        size_ = 0;
      } else {
        map_ = m;
        madvise(map_, size_, MADV_SEQUENTIAL);
      }
    } else if (!S_ISREG(st.st_mode)) {
      s = InvalidArgument(path + ": not a regular file (the vee tool reads its input three times)");
    }
    ::close(fd);
    return s;
  }
  std::string_view text() const { return {static_cast<const char*>(map_), size_}; }

 private:
  void* map_ = nullptr;
  size_t size_ = 0;
};

// Walks forward through the lines of a text by 1-based line number.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  std::string_view Line(int64_t line) {
    while (line_ < line && pos_ < text_.size()) {
      const void* nl = std::memchr(text_.data() + pos_, '\n', text_.size() - pos_);
      pos_ = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) + 1 : text_.size();
      ++line_;
    }
    const void* nl = std::memchr(text_.data() + pos_, '\n', text_.size() - pos_);
    size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) : text_.size();
    std::string_view l = text_.substr(pos_, end - pos_);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
};

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void AppendCsvField(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(f);
    return;
  }
  out.push_back('"');
  for (char c : f) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

// The fields of a data line, unquoted (RFC 4180 within the line) and blank-trimmed.
std::vector<std::string> SplitFields(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i <= line.size()) {
    std::string& f = fields.emplace_back();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f.push_back(line[i++]);
      }
    } else {
      const size_t k = line.find(',', i);
      f = std::string(TrimBlank(line.substr(i, (k == std::string_view::npos ? line.size() : k) - i)));
    }
    const size_t k = line.find(',', i);
    i = k == std::string_view::npos ? line.size() + 1 : k + 1;
  }
  return fields;
}

// Appends meter_id,timestamp,value of a data line as written (blank-trimmed), comma-separated.
// The line is a row the parser accepted, so it has the header's fields.
void AppendEchoedFields(std::string& out, std::string_view line, const codec::CsvColumns& layout) {
  const bool plain = std::memchr(line.data(), '"', line.size()) == nullptr &&
                     std::memchr(line.data(), ' ', line.size()) == nullptr &&
                     std::memchr(line.data(), '\t', line.size()) == nullptr;
  if (plain && layout.plain()) {
    out.append(line);
    return;
  }
  const std::vector<std::string> fields = SplitFields(line);
  const int picked[3] = {layout.meter_id, layout.timestamp, layout.value};
  for (int n = 0; n < 3; ++n) {
    if (n > 0) out.push_back(',');
    if (picked[n] < static_cast<int>(fields.size())) AppendCsvField(out, fields[static_cast<size_t>(picked[n])]);
  }
}

// Whether a reading is of the meter's billing channel, the one series validation judges
// (docs/channels.md): no channel, or the default billing channel of an electricity or water meter.
bool IsBillingChannel(std::string_view channel) {
  return channel.empty() || channel == "import_kwh" || channel == "volume_m3";
}

// ---------------------------------------------------------------------------------------------
// The passes.

// Finds a meter's slot, remembering the last one (rows usually come grouped by meter).
template <typename T>
class MeterTable {
 public:
  // The returned reference is valid until the next Get of a new meter.
  T& Get(const std::string& id, bool* inserted = nullptr) {
    if (inserted != nullptr) *inserted = false;
    if (last_ != nullptr && id == *last_id_) return *last_;
    auto [it, added] = index_.try_emplace(id, slots_.size());
    if (added) slots_.emplace_back(id, T{});
    if (inserted != nullptr) *inserted = added;
    last_id_ = &it->first;
    last_ = &slots_[it->second].second;
    return *last_;
  }
  // Slots in first-seen order.
  size_t size() const { return slots_.size(); }
  std::pair<std::string, T>& at(size_t i) { return slots_[i]; }

 private:
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::pair<std::string, T>> slots_;
  const std::string* last_id_ = nullptr;
  T* last_ = nullptr;
};

// Pass 1 state of one meter: judgement with checks 1–2 over the peak rows, and the learners.
struct Learning {
  MeterState state;
  std::optional<Point> pre;  // the last good reading before the current peak range (its first base for T1)
  std::optional<PeakPeriod> occurrence;  // the peak range of the last peak row
  std::optional<T2Learner> t2;
  std::optional<T1Learner> t1;
  double offset = 0;         // unwraps rollovers and resets so the learners see one series
};

// Pass 2 state of one meter.
struct Judging {
  MeterState state;
  int64_t last_row = -1;         // the row of state.last
  int64_t before_last_row = -1;  // the row of state.before_last
  std::vector<int64_t> below_rows;
  std::vector<int64_t> above_rows;  // rows of state.above (rising sudden readings)
  int64_t alert_period = std::numeric_limits<int64_t>::min();
  int alerts_in_period = 0;
  // Accepted readings of the last period and a bit, for the "same time last period" check (kept
  // only when it is on).
  std::deque<Point> history;
};

struct Counts {
  uint64_t rows = 0;
  uint64_t alerts = 0;
  uint64_t resets = 0;
  uint64_t spikes = 0;
  uint64_t sustained = 0;
  uint64_t steps = 0;
  size_t meters = 0;
  size_t t1_learned = 0;
  size_t t2_learned = 0;
  uint64_t other_channels = 0;  // rows of non-billing channels: stored as accepted by the daemon, not judged
};

class VeeRun {
 public:
  VeeRun(Settings s, std::ostream& out, std::ostream& err) : s_(std::move(s)), out_(out), err_(err) {}
  int Run();

 private:
  Status Parse(const char* label, const codec::ReadingFn& fn);
  void LearnRow(const Reading& r);
  void JudgeRow(const Reading& r);
  // "Same time last period" (options.same_period_coefficient): the remembered accepted readings.
  std::optional<Point> PeriodAgo(const Judging& m, int64_t ts) const;
  void Remember(Judging& m, const Point& p) const;
  void CheckAlert(Judging& m, const std::string& id, const Point& r, const Point* previous_p);
  Status WriteVerdicts();
  void Summary();

  Settings s_;
  std::ostream& out_;
  std::ostream& err_;
  std::optional<codec::RowIssue> issue_;
  MeterTable<Learning> learning_;
  MeterTable<Judging> judging_;
  std::vector<uint8_t> verdicts_;
  // Whether the rows sit on consecutive lines from first_line_ (no blank lines between them):
  // then the verdicts pass only scans lines instead of parsing the input again.
  int64_t first_line_ = -1;
  int64_t next_line_ = -1;
  bool contiguous_ = true;
  Sink verdict_sink_, alert_sink_;
  Counts counts_;
  std::optional<int64_t> peak_end_;  // rows after it teach nothing (unset: a yearly range repeats)
};

Status VeeRun::Parse(const char* label, const codec::ReadingFn& fn) {
  // Progress in bytes, on a terminal only (the summary line is what scripts read).
  std::unique_ptr<Progress> progress;
  std::function<void(uint64_t, uint64_t)> on_progress;
  if (s_.progress && isatty(fileno(stderr))) {
    on_progress = [&](uint64_t done, uint64_t total) {
      if (!progress) progress = std::make_unique<Progress>(label, total, stderr);
      progress->Update(done);
    };
  }
  auto on_issue = [&](const codec::RowIssue& issue) {
    issue_ = issue;
    throw StopParse{};
  };
  Status st;
  try {
    st = codec::ParseReadingCsvFile(s_.path, fn, on_issue, on_progress, s_.meter.tz);
  } catch (const StopParse&) {
    st = Status::Ok();
  }
  if (progress) progress->Finish();
  if (!st.ok()) return st.WithContext(s_.path);
  if (issue_) {
    std::string msg = s_.path + ":" + std::to_string(issue_->line) + ": bad row";
    if (!issue_->field.empty()) msg += " (" + issue_->field + ")";
    msg += ": " + issue_->message + ": '" + issue_->text + "'";
    return InvalidArgument(msg);
  }
  return Status::Ok();
}

void VeeRun::LearnRow(const Reading& r) {
  if (!IsBillingChannel(r.channel)) return;
  const Peak& peak = *s_.options.peak;
  if (peak_end_ && r.ts > *peak_end_) return;
  Learning& m = learning_.Get(r.meter_id);
  if (!m.t2) {
    m.t2.emplace(s_.meter.interval_s, s_.options.t2_quantile);
    m.t1.emplace(peak, s_.options.period, s_.meter.tz);
  }
  std::optional<PeakPeriod> occurrence = peak.OccurrenceOf(r.ts);
  if (!occurrence) {
    if (r.value && std::isfinite(*r.value) && (!m.state.last || r.ts > m.state.last->ts) && (!m.pre || r.ts >= m.pre->ts))
      m.pre = Point{r.ts, *r.value};
    return;
  }
  if (occurrence != m.occurrence) {
    // A new range: its readings pair among themselves only (T2), and the reading closing the span
    // before it is the base of its first sub-period (T1).
    m.occurrence = occurrence;
    m.t2->Break();
    if (m.pre && !m.state.last) {
      m.state.last = m.pre;
      m.t1->Add(*m.pre);
    } else if (m.pre && m.pre->ts > m.state.last->ts) {
      Reading pre;
      pre.meter_id = r.meter_id;
      pre.ts = m.pre->ts;
      pre.value = m.pre->value;
      Judgement jp = Judge(m.state, pre, s_.meter, s_.options, /*use_t2=*/false);
      if (jp.verdict == Verdict::kOk && !jp.jitter && !jp.rollover) {
        Advance(m.state, pre, jp, s_.meter, s_.options);
        m.t1->Add(Point{pre.ts, *pre.value + m.offset});
      }
    }
    m.pre.reset();
  }
  Judgement j = Judge(m.state, r, s_.meter, s_.options, /*use_t2=*/false);
  const std::optional<Point> previous = m.state.last;
  ResetOutcome o = Advance(m.state, r, j, s_.meter, s_.options);
  if (j.verdict == Verdict::kOk && !j.jitter) {
    if (j.rollover) m.offset += *s_.meter.register_max;
    const Point u{r.ts, *r.value + m.offset};
    m.t2->Add(u);
    m.t1->Add(u);
  } else if (o.kind == ResetOutcome::kSpike) {
    // The spike taught the learners last: take it back.
    m.t2->Undo();
    m.t1->Undo();
    for (const auto& [f, c] : o.reaccepted) {
      const Point u{f.ts, f.value + m.offset};
      m.t2->Add(u);
      m.t1->Add(u);
    }
  } else if (o.kind == ResetOutcome::kSustainedLoad) {
    for (const auto& [f, c] : o.reaccepted) {
      const Point u{f.ts, f.value + m.offset};
      m.t2->Add(u);
      m.t1->Add(u);
    }
  } else if ((o.kind == ResetOutcome::kMeterReset || o.kind == ResetOutcome::kRegisterStep) && previous &&
             !o.reaccepted.empty()) {
    m.offset += previous->value - o.reaccepted.front().first.value;
    for (const auto& [f, c] : o.reaccepted) {
      const Point u{f.ts, f.value + m.offset};
      m.t2->Add(u);
      m.t1->Add(u);
    }
  }
}

void VeeRun::CheckAlert(Judging& m, const std::string& id, const Point& r, const Point* previous_p) {
  std::optional<PeriodCheck> c = CheckPeriod(m.state, r, previous_p, s_.meter, s_.options);
  if (!c || !c->exceeded) return;
  if (m.alert_period != c->period.start) {
    m.alert_period = c->period.start;
    m.alerts_in_period = 0;
  }
  if (m.alerts_in_period >= s_.options.max_alerts_per_period) return;
  ++m.alerts_in_period;
  ++counts_.alerts;
  std::string& b = alert_sink_.buffer();
  if (!alert_sink_.active()) return;
  AppendCsvField(b, id);
  b.push_back(',');
  b.append(FormatIsoIn(c->period.start, s_.meter.tz));
  b.push_back(',');
  b.append(FormatIsoIn(r.ts, s_.meter.tz));
  b.push_back(',');
  b.append(FormatNumber6(c->consumption));
  b.push_back(',');
  b.append(FormatNumber6(*c->t1));
  b.push_back('\n');
  alert_sink_.MaybeFlush();
}

std::optional<Point> VeeRun::PeriodAgo(const Judging& m, int64_t ts) const {
  const int64_t ago = SameTimeLastPeriod(ts, s_.options.period, s_.meter.tz);
  auto it = std::upper_bound(m.history.begin(), m.history.end(), ago,
                             [](int64_t t, const Point& p) { return t < p.ts; });
  if (it == m.history.begin()) return std::nullopt;
  --it;
  if (!StandsFor(it->ts, ago, s_.meter.interval_s)) return std::nullopt;
  return *it;
}

void VeeRun::Remember(Judging& m, const Point& p) const {
  if (!(s_.options.same_period_coefficient > 0)) return;
  while (!m.history.empty() && m.history.back().ts >= p.ts) m.history.pop_back();
  m.history.push_back(p);
  // A month is at most 31 days; one interval more covers a reading just before the same time.
  const int64_t keep = 32 * 86400 + s_.meter.interval_s;
  while (m.history.front().ts < p.ts - keep) m.history.pop_front();
}

void VeeRun::JudgeRow(const Reading& r) {
  const int64_t row = static_cast<int64_t>(verdicts_.size());
  Judging& m = judging_.Get(r.meter_id);
  std::optional<Point> ago;
  if (s_.options.same_period_coefficient > 0) ago = PeriodAgo(m, r.ts);
  Judgement j = Judge(m.state, r, s_.meter, s_.options, /*use_t2=*/true, ago ? &*ago : nullptr);
  verdicts_.push_back(VerdictByte(j.verdict));
  const std::optional<Point> previous = m.state.last;

  // The run of readings below p (an `error` reading) or of rising readings above it (a `sudden`
  // one) as it will be after this one (mirrors Advance), with their rows, so a re-judgement can
  // find the rows whose verdicts change.
  std::vector<Point> run;
  std::vector<int64_t> run_rows;
  const bool is_error = j.verdict == Verdict::kError;
  const std::vector<Point>& state_run = is_error ? m.state.below : m.state.above;
  const std::vector<int64_t>& state_rows = is_error ? m.below_rows : m.above_rows;
  const bool may_rejudge = (is_error || j.verdict == Verdict::kSudden) && s_.options.reset_after > 0 &&
                           m.state.last && r.value &&
                           static_cast<int>(state_run.size()) + 1 >= s_.options.reset_after;
  if (may_rejudge) {
    const bool consistent = state_run.empty() || *r.value >= state_run.back().value;
    if (consistent) {
      run = state_run;
      run_rows = state_rows;
    }
    run.push_back(Point{r.ts, *r.value});
    run_rows.push_back(row);
  }

  ResetOutcome o = Advance(m.state, r, j, s_.meter, s_.options);

  if (o.kind == ResetOutcome::kNone) {
    // Keeps a run's rows in step with the run Advance keeps in the state.
    auto track = [row](const std::vector<Point>& state_run, std::vector<int64_t>& rows) {
      const size_t n = state_run.size();
      if (n == 0) {
        rows.clear();
      } else if (n == rows.size() + 1) {
        rows.push_back(row);
      } else if (n == 1) {
        rows.assign(1, row);
      }
    };
    if (j.verdict == Verdict::kOk) {
      m.below_rows.clear();
      m.above_rows.clear();
      if (!j.jitter) {
        m.before_last_row = m.last_row;
        m.last_row = row;
        Remember(m, Point{r.ts, *r.value});
      }
      const Point p{r.ts, *r.value};
      CheckAlert(m, r.meter_id, p, previous ? &*previous : nullptr);
    } else if (j.verdict == Verdict::kSudden) {
      m.below_rows.clear();
      track(m.state.above, m.above_rows);
    } else if (j.verdict == Verdict::kError) {
      m.above_rows.clear();
      track(m.state.below, m.below_rows);
    }
    return;
  }

  // A re-judgement: rewrite the verdicts of the rows it touches.
  m.below_rows.clear();
  m.above_rows.clear();
  std::vector<int64_t> accepted_rows;
  size_t k = 0;
  for (const auto& [f, c] : o.reaccepted) {
    while (k < run.size() && !(run[k] == f)) ++k;
    if (k == run.size()) break;
    verdicts_[static_cast<size_t>(run_rows[k])] = VerdictByte(Verdict::kOk);
    accepted_rows.push_back(run_rows[k]);
    Remember(m, f);
    ++k;
  }
  if (o.kind == ResetOutcome::kSpike) {
    ++counts_.spikes;
    if (m.last_row >= 0) verdicts_[static_cast<size_t>(m.last_row)] = VerdictByte(Verdict::kSudden);
    m.last_row = m.before_last_row;
    m.before_last_row = -1;
  } else {
    if (o.kind == ResetOutcome::kMeterReset) ++counts_.resets;
    if (o.kind == ResetOutcome::kRegisterStep) ++counts_.steps;
    if (o.kind == ResetOutcome::kSustainedLoad) ++counts_.sustained;
    m.last_row = -1;
    m.before_last_row = -1;
  }
  for (int64_t ar : accepted_rows) {
    m.before_last_row = m.last_row;
    m.last_row = ar;
  }
  if (!o.reaccepted.empty() && m.state.last) CheckAlert(m, r.meter_id, *m.state.last, nullptr);
}

Status VeeRun::WriteVerdicts() {
  if (!verdict_sink_.active()) return Status::Ok();
  MappedFile file;
  MH_RETURN_IF_ERROR(file.Open(s_.path));
  LineCursor cursor(file.text());
  // The header (the first non-blank line) says where meter_id, timestamp and value sit.
  codec::CsvColumns layout;
  for (int64_t l = 1; l < first_line_; ++l) {
    std::string_view header = cursor.Line(l);
    if (l == 1 && header.substr(0, 3) == "\xEF\xBB\xBF") header.remove_prefix(3);
    if (TrimBlank(header).empty()) continue;
    MH_ASSIGN_OR_RETURN(layout, codec::ParseReadingCsvHeader(header));
    break;
  }
  size_t row = 0;
  verdict_sink_.Append("meter_id,timestamp,value,verdict\n");
  if (contiguous_) {
    std::unique_ptr<Progress> progress;
    if (s_.progress && isatty(fileno(stderr))) progress = std::make_unique<Progress>("vee: writing verdicts", verdicts_.size(), stderr);
    for (; row < verdicts_.size(); ++row) {
      std::string& b = verdict_sink_.buffer();
      AppendEchoedFields(b, cursor.Line(first_line_ + static_cast<int64_t>(row)), layout);
      b.push_back(',');
      b.append(VerdictName(ByteVerdict(verdicts_[row])));
      b.push_back('\n');
      if (b.size() >= (1u << 20)) {
        verdict_sink_.Flush();
        if (progress) progress->Update(row);
      }
    }
    if (progress) progress->Finish();
    return Status::Ok();
  }
  auto on_row = [&](const Reading&, int64_t line) {
    std::string& b = verdict_sink_.buffer();
    AppendEchoedFields(b, cursor.Line(line), layout);
    b.push_back(',');
    b.append(row < verdicts_.size() ? VerdictName(ByteVerdict(verdicts_[row])) : "null");
    b.push_back('\n');
    ++row;
    verdict_sink_.MaybeFlush();
  };
  MH_RETURN_IF_ERROR(Parse("vee: writing verdicts", on_row));
  if (row != verdicts_.size()) return Internal("the input changed while it was read");
  return Status::Ok();
}

void VeeRun::Summary() {
  uint64_t by[4] = {0, 0, 0, 0};
  for (uint8_t v : verdicts_) ++by[v & 3];
  err_ << "meterhub vee: " << counts_.rows << " rows, " << counts_.meters << " meters; ok "
       << by[static_cast<int>(Verdict::kOk)] << ", null " << by[static_cast<int>(Verdict::kNull)] << ", error "
       << by[static_cast<int>(Verdict::kError)] << ", sudden " << by[static_cast<int>(Verdict::kSudden)] << "; "
       << counts_.alerts << " alerts";
  if (s_.options.peak) {
    err_ << "; learned from the peak period: T2 for " << counts_.t2_learned << "/" << counts_.meters << " meters, T1 for "
         << counts_.t1_learned << "/" << counts_.meters;
  } else {
    err_ << "; no peak period: T1/T2 not learned";
  }
  if (counts_.other_channels > 0) {
    err_ << "; " << counts_.other_channels << " readings of other channels accepted, not judged";
  }
  if (s_.options.reset_after > 0) err_ << "; " << counts_.resets << " meter resets, " << counts_.spikes << " spikes, "
                                   << counts_.steps << " register steps, " << counts_.sustained
                                   << " sustained loads re-judged";
  err_ << "\n";
}

int VeeRun::Run() {
  struct stat input {};
  if (::stat(s_.path.c_str(), &input) != 0) {
    err_ << "meterhub vee: " << s_.path << ": " << std::strerror(errno) << "\n";
    return kExitBad;
  }
  auto fail = [&](const Status& st) {
    verdict_sink_.Discard();
    alert_sink_.Discard();
    err_ << "meterhub vee: " << st.message() << "\n";
    return kExitBad;
  };

  // Pass 1: learn T2 and T1 per meter from the peak rows, judged with checks 1–2 only.
  std::unordered_map<std::string, std::pair<std::optional<double>, std::optional<double>>> learned;
  if (s_.options.peak) {
    peak_end_ = s_.options.peak->LastEnd();
    Status st = Parse("vee: learning", [&](const Reading& r, int64_t) { LearnRow(r); });
    if (!st.ok()) return fail(st);
    for (size_t i = 0; i < learning_.size(); ++i) {
      auto& [id, m] = learning_.at(i);
      learned[id] = {m.t2->Threshold(s_.options.spike_coefficient), m.t1->Threshold(s_.options.alert_coefficient)};
    }
    learning_ = MeterTable<Learning>();
  }

  // Pass 2: every row in input order, with both thresholds known.
  Status st = alert_sink_.Open(s_.alerts, &out_);
  if (st.ok()) st = verdict_sink_.Open(s_.verdicts, &out_);
  if (!st.ok()) return fail(st);
  alert_sink_.Append("meter_id,period_start,timestamp,period_consumption,threshold\n");
  st = Parse("vee: judging", [&](const Reading& r, int64_t line) {
    if (first_line_ < 0) first_line_ = line;
    if (next_line_ >= 0 && line != next_line_) contiguous_ = false;
    next_line_ = line + 1;
    if (!IsBillingChannel(r.channel)) {
      // As the daemon does (docs/channels.md): another channel's reading is accepted, not judged;
      // without a value it is null.
      verdicts_.push_back(VerdictByte(r.value ? Verdict::kOk : Verdict::kNull));
      ++counts_.other_channels;
      return;
    }
    bool inserted = false;
    Judging& m = judging_.Get(r.meter_id, &inserted);
    if (inserted) {
      // A meter seen for the first time takes what pass 1 learned for it.
      auto it = learned.find(r.meter_id);
      if (it != learned.end()) {
        m.state.t2 = it->second.first;
        m.state.t1 = it->second.second;
      }
    }
    JudgeRow(r);
  });
  if (!st.ok()) return fail(st);
  counts_.rows = verdicts_.size();
  counts_.meters = judging_.size();
  for (size_t i = 0; i < judging_.size(); ++i) {
    const MeterState& ms = judging_.at(i).second.state;
    counts_.t2_learned += ms.t2.has_value();
    counts_.t1_learned += ms.t1.has_value();
  }
  judging_ = MeterTable<Judging>();

  // Pass 3: the verdicts, echoing each row (re-judgements may have changed earlier ones).
  st = WriteVerdicts();
  if (!st.ok()) return fail(st);
  bool ok = alert_sink_.Close();
  ok = verdict_sink_.Close() && ok;
  Summary();
  if (!ok) {
    err_ << "meterhub vee: writing the output failed: " << std::strerror(errno) << "\n";
    return kExitIo;
  }
  return kExitOk;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string FormatNumber6(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

const char* VeeUsage() {
  return "usage: meterhub vee READINGS.csv [--config FILE] [--peak FROM..TO|MM-DD..MM-DD]... [--interval 1h]\n"
         "                    [--period day|week|month] [--tz +08:00] [--spike-coefficient 1.3]\n"
         "                    [--alert-coefficient 1.0] [--max-alerts 1] [--verdicts OUT.csv] [--alerts OUT.csv]\n"
         "                    [--negative-tolerance 0] [--reset-after 0] [--max-interval-consumption 0]\n"
         "                    [--register-max MAX] [--t2-quantile 1.0] [--t1 T1] [--same-period-coefficient 0]\n"
         "Validates every reading (ok|null|error|sudden), learns T2 and T1 per meter from the peak period,\n"
         "and reports period consumption above T1 (SPEC 1.3). OUT '-' writes to standard output.\n"
         "--tz is a UTC offset (+08:00) or an IANA zone (Europe/Berlin): days follow daylight saving.\n";
}

Result<VeeArgs> ParseVeeArgs(const std::vector<std::string>& argv) {
  VeeArgs a;
  // Numbers are taken as text and checked here, so a bad one is named the way the tool always did.
  std::map<std::string, std::string> numbers;
  CLI::App app;
  app.add_option("READINGS.csv", a.readings)->required();
  app.add_option("--config", a.config);
  app.add_option("--peak", a.peak);  // repeatable
  app.add_option("--interval", a.interval);
  app.add_option("--period", a.period);
  app.add_option("--tz", a.tz);
  app.add_option("--verdicts", a.verdicts);
  app.add_option("--alerts", a.alerts);
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress);
  static const char* const kNumbers[] = {"--max-alerts", "--reset-after", "--spike-coefficient", "--alert-coefficient",
                                         "--negative-tolerance", "--max-interval-consumption", "--register-max",
                                         "--t2-quantile", "--t1", "--same-period-coefficient"};
  for (const char* name : kNumbers) app.add_option(name, numbers[name]);
  MH_RETURN_IF_ERROR(ParseToolArgs(app, argv));
  a.progress = !no_progress;
  for (const auto& [name, v] : numbers) {
    if (app.get_option(name)->count() == 0) continue;
    if (name == "--max-alerts") { MH_ASSIGN_OR_RETURN(a.max_alerts, ParseInt(name, v)); }
    else if (name == "--reset-after") { MH_ASSIGN_OR_RETURN(a.reset_after, ParseInt(name, v)); }
    else if (name == "--spike-coefficient") { MH_ASSIGN_OR_RETURN(a.spike_coefficient, ParseDouble(name, v)); }
    else if (name == "--alert-coefficient") { MH_ASSIGN_OR_RETURN(a.alert_coefficient, ParseDouble(name, v)); }
    else if (name == "--negative-tolerance") { MH_ASSIGN_OR_RETURN(a.negative_tolerance, ParseDouble(name, v)); }
    else if (name == "--max-interval-consumption") { MH_ASSIGN_OR_RETURN(a.max_interval_consumption, ParseDouble(name, v)); }
    else if (name == "--register-max") { MH_ASSIGN_OR_RETURN(a.register_max, ParseDouble(name, v)); }
    else if (name == "--t2-quantile") { MH_ASSIGN_OR_RETURN(a.t2_quantile, ParseDouble(name, v)); }
    else if (name == "--t1") { MH_ASSIGN_OR_RETURN(a.t1, ParseDouble(name, v)); }
    else if (name == "--same-period-coefficient") { MH_ASSIGN_OR_RETURN(a.same_period_coefficient, ParseDouble(name, v)); }
  }
  return a;
}

int RunVee(const VeeArgs& args, std::ostream& out, std::ostream& err) {
  Result<Settings> s = Settle(args);
  if (!s.ok()) {
    err << "meterhub vee: " << s.status().message() << "\n";
    return kExitBad;
  }
  VeeRun run(std::move(s).value(), out, err);
  return run.Run();
}

int RunVeeCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err,
                  const ConfigLoader& load_config) {
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      out << VeeUsage();
      return kExitOk;
    }
  }
  Result<VeeArgs> args = ParseVeeArgs(argv);
  if (!args.ok()) {
    err << "meterhub vee: " << args.status().message() << "\n" << VeeUsage();
    return kExitBad;
  }
  if (!args->config.empty()) {
    Status loaded = load_config ? load_config(args->config, &*args)
                                : InvalidArgument("--config is not supported here");
    if (!loaded.ok()) {
      err << "meterhub vee: " << loaded.message() << "\n";
      return kExitBad;
    }
    args->config.clear();
  }
  return RunVee(*args, out, err);
}

}  // namespace mh::vee
