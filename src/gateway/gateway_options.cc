#include "gateway/gateway_options.h"

#include <charconv>

namespace mh::gateway {

Result<Registration> ParseRegistration(std::string_view text) {
  Registration r;
  if (text == "line") return r;
  constexpr std::string_view kBinary = "binary:";
  if (text.substr(0, kBinary.size()) == kBinary) {
    std::string_view n = text.substr(kBinary.size());
    int bytes = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), bytes);
    if (ec == std::errc() && end == n.data() + n.size() && bytes >= 1 && bytes <= 64) {
      r.kind = Registration::Kind::kBinary;
      r.bytes = bytes;
      return r;
    }
  }
  return InvalidArgument("gateway.registration: expected \"line\" or \"binary:N\" with N in 1..64, got \"" +
                         std::string(text) + "\"");
}

}  // namespace mh::gateway
