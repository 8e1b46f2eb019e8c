#include "codec/meter/frame_json.h"

#include <nlohmann/json.hpp>

namespace mh::codec {

namespace {
using json = nlohmann::ordered_json;

json StatusArray(const std::vector<std::string>& flags) {
  json a = json::array();
  for (const auto& f : flags) a.push_back(f);
  return a;
}
}  // namespace

std::string FrameJson(const DecodedFrame& frame) {
  json j;
  j["protocol"] = frame.protocol;
  j["address"] = frame.address ? json(*frame.address) : json(nullptr);
  json regs = json::array();
  for (const auto& r : frame.registers) {
    json jr;
    jr["channel"] = r.channel;
    jr["value"] = r.value;
    jr["unit"] = r.unit ? json(*r.unit) : json(nullptr);
    jr["ts"] = r.ts ? json(*r.ts) : json(nullptr);
    jr["status"] = StatusArray(r.status);
    regs.push_back(std::move(jr));
  }
  j["registers"] = std::move(regs);
  if (!frame.status.empty()) j["status"] = StatusArray(frame.status);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string FrameErrorJson(std::string_view protocol, std::string_view error) {
  json j;
  j["protocol"] = std::string(protocol);
  j["error"] = std::string(error);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<uint8_t>> ParseHexFrame(std::string_view text) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '_' || c == '|' || c == '\r' || c == '\n') {
      continue;
    }
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return InvalidArgument("hex: character " + std::to_string(i + 1) + " is not a hex digit");
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return InvalidArgument("hex: odd number of hex digits");
  if (out.empty()) return InvalidArgument("hex: empty frame");
  return out;
}

}  // namespace mh::codec
