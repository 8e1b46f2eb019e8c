// Splitting the lines of the audit's text formats (fixed segment, dynamic segment, comparison
// table) into blank-separated words; shared by their parsers.
#pragma once

#include <string_view>
#include <vector>

#include "base/number_text.h"

namespace mh::meter::audit {

// The words of `s`, separated by spaces or tabs (empty words are skipped).
inline std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Blanks off both ends (trailing CR too): the same trim the offline tools use.
inline std::string_view Trim(std::string_view s) { return TrimBlanks(s); }

}  // namespace mh::meter::audit
