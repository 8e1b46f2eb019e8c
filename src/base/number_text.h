// Whole-text numbers and blank trimming for the CSV-like inputs and option values of the offline
// tools: a field is a number only when all of it is (surrounding blanks and a leading '+' allowed).
#pragma once

#include <string_view>

namespace mh {

// `s` without leading blanks (space, tab) and trailing blanks (space, tab, CR).
std::string_view TrimBlanks(std::string_view s);
// False on anything but a whole number (a double must be finite).
bool ParseIntText(std::string_view s, long* out);
bool ParseDoubleText(std::string_view s, double* out);

}  // namespace mh
