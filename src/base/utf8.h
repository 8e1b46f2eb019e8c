// UTF-8 decoding for text that arrives from outside: the API's text rules (api/route_kit) and
// the raw text the codecs keep (a CSV value that is not a number), which must be valid UTF-8
// before anything serialises it as JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mh {

// The code point starting at s[*i], advancing *i past it; -1 (and *i unchanged) for an invalid,
// truncated or overlong sequence, a surrogate or a value past U+10FFFF.
inline int32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(*i);
  const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > s.size()) return -1;
  int32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    if ((byte(*i + k) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (byte(*i + k) & 0x3F);
  }
  static constexpr int32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += len;
  return cp;
}

// `s` with every invalid byte replaced by U+FFFD; `s` itself when it is valid.
inline std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    if (DecodeUtf8(s, &i) < 0) {
      out += "\xEF\xBF\xBD";
      i = at + 1;
    } else {
      out.append(s.substr(at, i - at));
    }
  }
  return out;
}

}  // namespace mh
