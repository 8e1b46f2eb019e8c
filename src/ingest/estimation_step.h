// The estimation step of the ingest pipeline (docs/estimation.md): when an accepted reading closes
// a gap, the instants the gap lacks (and those of readings quarantined in it) get estimates made by
// src/vee/estimation, stored as readings flagged estimated with quality E and a reading_estimates
// row. Estimates are written beside the verdicts, never into them: the pipeline's state (p, T1/T2)
// never sees them.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/store.h"
#include "vee/estimation.h"
#include "vee/options.h"

namespace mh::ingest {

struct EstimationSettings {
  bool enabled = true;                  // [vee] estimation
  int64_t max_gap_s = 7 * 86400;        // [vee] estimate_max_gap: longer gaps are left unestimated (and counted)
  vee::EstimationOptions method;
};

// Who made an estimate (reading_estimates.estimated_by) and the readings' source.
inline constexpr const char* kEstimatedByMeterhub = "meterhub";

// What the step reads of a meter's stored history: one query per gap at most for each.
class EstimationSource {
 public:
  virtual ~EstimationSource() = default;
  // The meter's accepted billing-channel rows in the range (estimates included), ascending.
  virtual Result<std::vector<store::StoredReading>> Readings(const std::string& meter_id, store::TimeRange range) = 0;
  // The instants of the meter's quarantined billing-channel readings in the range.
  virtual Result<std::vector<int64_t>> QuarantinedInstants(const std::string& meter_id, store::TimeRange range) = 0;
};

// The store as an EstimationSource.
class StoreEstimationSource : public EstimationSource {
 public:
  explicit StoreEstimationSource(store::Store* store) : store_(store) {}
  Result<std::vector<store::StoredReading>> Readings(const std::string& meter_id, store::TimeRange range) override;
  Result<std::vector<int64_t>> QuarantinedInstants(const std::string& meter_id, store::TimeRange range) override;

 private:
  store::Store* store_;
};

// A gap closed by an accepted reading: `from` is the meter's previous accepted (actual) reading,
// `to` the closing one.
struct Gap {
  std::string meter_id;
  const vee::MeterParams* params = nullptr;
  vee::Point from, to;
  std::string source;                       // the closing reading's source
  int64_t now = 0;
  std::vector<int64_t> quarantined;         // instants quarantined in (from, to) by this batch
  bool store_may_hold_quarantine = true;    // false: the store has no quarantined reading after from
  std::optional<vee::Point> batch_estimate; // the latest estimate this batch already holds in (from, to)
  // This batch's accepted (not yet committed) readings in [from, to], ascending: profile history.
  std::function<std::vector<vee::Point>(int64_t from, int64_t to)> batch_history;
};

struct ClosedGap {
  std::vector<store::StoredReading> estimates;   // quality E, estimated, in ts order
  std::vector<store::ReadingEstimate> how;
  // The register the closing reading's consumption is measured from when not `from`: the last
  // estimate in the gap (made now, or stored before, e.g. an import's E intervals).
  std::optional<vee::Point> last;
  bool too_long = false;                          // longer than max_gap: left unestimated
};

// A gap is more than 1.5 nominal intervals between accepted readings.
inline bool IsGap(int64_t from_ts, int64_t to_ts, int64_t interval_s) {
  return 2 * (to_ts - from_ts) > 3 * interval_s;
}

// The cadence a meter really reports at: the most common spacing between its consecutive actual
// readings `points` (ascending; the last kCadenceSpacings spacings count). Unset when there are
// fewer than kCadenceMinSpacings spacings or no spacing is shared by at least half of them.
inline constexpr size_t kCadenceSpacings = 16;
inline constexpr size_t kCadenceMinSpacings = 4;
std::optional<int64_t> ObservedCadence(const std::vector<vee::Point>& points);

// The interval a gap is measured against: the registered one, or the observed cadence when the
// meter really reports less often (an hourly meter registered at 15 minutes is not in a gap
// between every two readings).
inline int64_t GapInterval(int64_t registered_s, std::optional<int64_t> observed_s) {
  return observed_s && *observed_s > registered_s ? *observed_s : registered_s;
}

// Estimates the gap (when settings.enabled and no estimate is stored in it yet).
Result<ClosedGap> CloseGap(const EstimationSettings& settings, EstimationSource& source, const Gap& gap);

// The last accepted reading at or before t that is not an estimate (estimates never feed
// validation): `found` is what the store answered for t, read further back when it is an estimate.
// Costs nothing more when `found` is no estimate.
Result<std::optional<store::StoredReading>> ActualAtOrBefore(store::Store& store, const std::string& meter_id,
                                                             std::optional<store::StoredReading> found);
// The first accepted reading after t that is not an estimate (`found`: the store's first after t).
Result<std::optional<store::StoredReading>> ActualAfter(store::Store& store, const std::string& meter_id,
                                                        std::optional<store::StoredReading> found);

// The version an estimate keeps when an actual reading supersedes it.
store::ReadingVersion SupersededEstimate(const store::StoredReading& estimate, const std::string& by, int64_t now);

// How an estimate another system made was stored (a NEM12 `E` interval): quality is its quality
// method ("E52", "E52:reason").
store::ReadingEstimate SourceEstimate(const store::StoredReading& reading, const std::string& quality,
                                      const std::string& estimated_by, int64_t now);
// Whether a quality flag says the reading is an estimate (NEM12 `E`).
inline bool IsEstimateQuality(const std::string& quality) { return !quality.empty() && quality[0] == 'E'; }

}  // namespace mh::ingest
