// SPEC 2.1: the region name of an install address, taken with a configurable regular expression
// (relay.region_pattern). The head-end does this when a meter's relay identity is registered; the
// meter is provisioned with the name. RE2 (linear time, bounded memory, no recursion), so no
// address and no pattern can stall or crash the daemon.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace mh::relay {

// The default pattern (SPEC 2.1): everything up to and including the first 街道|镇|乡|路|小区
// after the first district marker 区|县.
extern const char kDefaultRegionPattern[];

// Longest install address a registration accepts; a real one is a few dozen characters.
inline constexpr size_t kMaxInstallAddressBytes = 1024;
// Longest region pattern the configuration accepts.
inline constexpr size_t kMaxRegionPatternBytes = 1024;

// Region name of an install address (UTF-8): the first (leftmost) match of `pattern` — its capture
// group 1 if it has one that matched and is not empty, else the whole match; the whole address
// when nothing matches or the match is empty. `pattern` is RE2 syntax over UTF-8 characters (`.`
// is one character; CJK characters may stand inside [...]; no backreferences or lookaround).
// InvalidArgument for a pattern RE2 rejects or one longer than kMaxRegionPatternBytes. Any
// address is safe: the time is linear in its length.
Result<std::string> ExtractRegionName(std::string_view address, std::string_view pattern = kDefaultRegionPattern);

// OK when `pattern` compiles (the configuration checks relay.region_pattern at load).
Status CheckRegionPattern(std::string_view pattern);

}  // namespace mh::relay
