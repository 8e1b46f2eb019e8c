// The text lines of a gzip-compressed file, or of every member of a zip archive in order (what
// `zcat` / `unzip -p` print), read in-process with libarchive: the real data sets (SGSC .csv.gz,
// DAIAD .zip) are read without a shell or an unzip binary.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mh::codec {

// Calls `line(lineno, text)` for every line (without "\n" or "\r\n"; numbered from 1 across the
// members); a non-OK return stops there and is returned. A file that is neither gzip nor zip is read
// as is. `member`, when not empty, limits a zip to that member. Errors name the file: unreadable,
// corrupt, no such member, no data.
using LineFn = std::function<Status(int64_t lineno, std::string_view text)>;
Status ForEachCompressedLine(const std::string& path, const LineFn& line, const std::string& member = "");

}  // namespace mh::codec
