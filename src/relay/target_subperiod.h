// The head-end's choice of a region's target sub-period (SPEC 2.3, seed 000 step 104): the
// sub-period whose region usage level — the mean of the levels every meter of the region
// reported for it — is lowest; ties go to the lowest index.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mh::relay {

// One meter's report for one of its region's allocated sub-periods.
struct LevelReport {
  std::string meter_id;
  int sub_period = 0;
  int level = 0;
};

// Region level per sub-period: the mean over the meters that reported it. A meter's later report
// for the same sub-period replaces its earlier one.
std::map<int, double> RegionLevels(const std::vector<LevelReport>& reports);

// The target sub-period, or nullopt when nothing was reported.
std::optional<int> TargetSubPeriod(const std::vector<LevelReport>& reports);

}  // namespace mh::relay
