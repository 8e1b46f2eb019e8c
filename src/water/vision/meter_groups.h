// Groups the training crops by meter, so a validation split keeps every meter on one side:
// consecutive frames of one meter are near-duplicates, and splitting them inflates validation.
#pragma once

#include <string>
#include <vector>

#include "water/vision/digit_classifier.h"

namespace mh::water::vision {

// The meter key a file name carries, or "" when it carries none (content hashes such as
// "3.0_9f0e…e1.jpg"). The fine label and the timestamp are dropped, so the frames of one
// camera's digit position share a key: "3.5_main_dig6_20220515-094057.jpg" → "main_dig6",
// "0.0_0_ROI5_20210223-080329.jpg" → "0_ROI5", "0.0_a2.jpg" → "a" (letters of a short name).
std::string NameKeyOfFile(const std::string& file_name);

// The date ("20220515") a timestamped file name carries, or "".
std::string DateOfFile(const std::string& file_name);

// Group index per sample (0..groups-1, numbered in order of first sample). Two crops are in one
// group when they share a name key, or a date, or look alike: mean absolute difference of their
// 8×16 colour thumbnails below `max_thumbnail_difference` grey levels (near-duplicate frames of
// one meter, whatever their names), closed transitively.
std::vector<int> MeterGroups(const std::vector<DigitSample>& samples, double max_thumbnail_difference = 14);

// Splits by group: whole groups, taken in a fixed pseudo-random order (FNV-1a hash of the
// group's first path), go to validation until it holds `validation_percent` % of the crops;
// groups larger than that share stay in training. Deterministic.
void SplitByGroup(const std::vector<DigitSample>& samples, const std::vector<int>& groups, int validation_percent,
                  std::vector<DigitSample>* train, std::vector<DigitSample>* validation);

}  // namespace mh::water::vision
