#include "meter/slots.h"

#include <algorithm>
#include <charconv>

#include "crypto/crypto.h"

namespace mh::meter {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "HH:MM" with HH:MM in 00:00..24:00 → minutes after midnight.
bool ParseClock(std::string_view s, int* minutes) {
  if (s.size() != 5 || s[2] != ':') return false;
  int h = 0, m = 0;
  for (char c : s.substr(0, 2)) if (c < '0' || c > '9') return false;
  for (char c : s.substr(3, 2)) if (c < '0' || c > '9') return false;
  if (!ParseInt(s.substr(0, 2), &h) || !ParseInt(s.substr(3, 2), &m)) return false;
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

}  // namespace

int WindowMinutes(const SlotOptions& o) {
  int len = o.window_end_min - o.window_start_min;
  if (len < 0) len += 24 * 60;
  return len;
}

Result<int> SlotCount(const SlotOptions& o) {
  if (o.slot_minutes <= 0) return InvalidArgument("slot length must be positive");
  const int len = WindowMinutes(o);
  if (len <= 0) return InvalidArgument("the window is empty");
  if (len % o.slot_minutes != 0) {
    return InvalidArgument("window of " + std::to_string(len) + " min is not a whole number of " +
                           std::to_string(o.slot_minutes) + "-min slots");
  }
  return len / o.slot_minutes;
}

Status ParseWindow(std::string_view text, SlotOptions* options) {
  const size_t dash = text.find('-');
  int from = 0, to = 0;
  if (dash == std::string_view::npos || !ParseClock(text.substr(0, dash), &from) ||
      !ParseClock(text.substr(dash + 1), &to)) {
    return InvalidArgument("window '" + std::string(text) + "' is not HH:MM-HH:MM");
  }
  if (from == 24 * 60) from = 0;
  options->window_start_min = from;
  options->window_end_min = to;
  return Status::Ok();
}

Result<int> ParseMinutes(std::string_view text) {
  std::string_view digits = text;
  int scale_s = 60;
  if (!text.empty()) {
    switch (text.back()) {
      case 'm': scale_s = 60; digits.remove_suffix(1); break;
      case 'h': scale_s = 3600; digits.remove_suffix(1); break;
      case 's': scale_s = 1; digits.remove_suffix(1); break;
      default: break;
    }
  }
  int v = 0;
  if (!ParseInt(digits, &v) || v <= 0 || v > 24 * 3600) {
    return InvalidArgument("duration '" + std::string(text) + "' is not a positive 5m / 1h / 300s");
  }
  if ((v * scale_s) % 60 != 0) {
    return InvalidArgument("duration '" + std::string(text) + "' is not whole minutes");
  }
  return v * scale_s / 60;
}

std::vector<int> AllocateSlots(std::string_view region_name, int n, int count) {
  std::vector<int> slots;
  if (n <= 0 || count <= 0) return slots;
  const crypto::Digest h = crypto::Sha256(region_name);
  for (size_t i = 0; i < h.size() / 2 && static_cast<int>(slots.size()) < count; ++i) {
    const int v = h[2 * i] * 256 + h[2 * i + 1];
    const int slot = v % n;
    if (std::find(slots.begin(), slots.end(), slot) == slots.end()) slots.push_back(slot);
  }
  std::sort(slots.begin(), slots.end());
  return slots;
}

}  // namespace mh::meter
