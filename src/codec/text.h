// Small text helpers the codecs share (private to src/codec).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "base/number_text.h"

namespace mh::codec::internal {

// Without surrounding spaces and tabs (and a trailing CR): the one trim of base/number_text.
inline std::string_view Trim(std::string_view s) { return TrimBlanks(s); }

// ASCII case-insensitive equality (header names, units, format names).
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Walks a text line by line: skips a leading UTF-8 BOM, splits at '\n', drops a trailing '\r',
// and counts lines from 1.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {
    if (text.size() >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
  }
  bool Next(std::string_view* line) {
    if (p_ >= end_) return false;
    const char* nl = static_cast<const char*>(std::memchr(p_, '\n', static_cast<size_t>(end_ - p_)));
    const char* line_end = nl ? nl : end_;
    *line = std::string_view(p_, static_cast<size_t>(line_end - p_));
    p_ = nl ? nl + 1 : end_;
    ++line_no_;
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return true;
  }
  int64_t line_no() const { return line_no_; }
  // Bytes consumed so far (for progress).
  const char* position() const { return p_; }

 private:
  const char* p_;
  const char* const end_;
  int64_t line_no_ = 0;
};

}  // namespace mh::codec::internal
