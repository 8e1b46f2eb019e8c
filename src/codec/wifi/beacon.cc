#include "codec/wifi/beacon.h"

#include <stdexcept>
#include <string>

namespace mh::codec::wifi {
namespace {

void PutLe16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

void PutElement(std::vector<uint8_t>& out, uint8_t id, std::span<const uint8_t> body) {
  out.push_back(id);
  out.push_back(static_cast<uint8_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

uint16_t GetLe16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}

MacAddress GetMac(std::span<const uint8_t> b, size_t at) {
  MacAddress mac;
  for (size_t i = 0; i < mac.size(); ++i) mac[i] = b[at + i];
  return mac;
}

std::vector<uint8_t> VendorBody(const VendorElement& v) {
  std::vector<uint8_t> body(v.oui.begin(), v.oui.end());
  if (v.type) body.push_back(*v.type);
  body.insert(body.end(), v.payload.begin(), v.payload.end());
  return body;
}

Status Truncated(const char* what, size_t offset, size_t need, size_t have) {
  return InvalidArgument("beacon: truncated " + std::string(what) + " at offset " +
                         std::to_string(offset) + ": needs " + std::to_string(need) +
                         " bytes, " + std::to_string(have) + " left");
}

}  // namespace

Status ValidateBeaconFields(const BeaconFields& f) {
  if (f.ssid.size() > kMaxSsidLength) {
    return InvalidArgument("beacon: ssid is " + std::to_string(f.ssid.size()) +
                           " octets, at most 32 allowed");
  }
  if (f.rates.empty() || f.rates.size() > 8 + 255) {
    return InvalidArgument("beacon: rates: " + std::to_string(f.rates.size()) +
                           " given, 1..263 allowed");
  }
  for (size_t i = 0; i < f.extra_elements.size(); ++i) {
    if (f.extra_elements[i].body.size() > 255) {
      return InvalidArgument("beacon: extra element " + std::to_string(i) + " (ID " +
                             std::to_string(f.extra_elements[i].id) + ") body is " +
                             std::to_string(f.extra_elements[i].body.size()) +
                             " bytes, at most 255");
    }
  }
  for (size_t i = 0; i < f.vendor_elements.size(); ++i) {
    const VendorElement& v = f.vendor_elements[i];
    size_t body = 3 + (v.type ? 1 : 0) + v.payload.size();
    if (body > 255) {
      return InvalidArgument("beacon: vendor element " + std::to_string(i) + " body is " +
                             std::to_string(body) + " bytes (OUI + type + payload), at most 255");
    }
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> TryBuildBeacon(const BeaconFields& f) {
  MH_RETURN_IF_ERROR(ValidateBeaconFields(f));
  std::vector<uint8_t> out;
  out.reserve(64 + f.ssid.size());
  // MAC header: frame control (version 0, type 0 management, subtype 8 beacon; no flags).
  out.push_back(0x80);
  out.push_back(0x00);
  PutLe16(out, f.duration);
  out.insert(out.end(), f.destination.begin(), f.destination.end());  // Address 1: DA
  const MacAddress& sa = f.source ? *f.source : f.bssid;
  out.insert(out.end(), sa.begin(), sa.end());                        // Address 2: SA
  out.insert(out.end(), f.bssid.begin(), f.bssid.end());              // Address 3: BSSID
  PutLe16(out, static_cast<uint16_t>((f.sequence_number & 0x0fff) << 4));
  // Fixed fields.
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(f.timestamp_us >> (8 * i)));
  PutLe16(out, f.beacon_interval_tu);
  PutLe16(out, f.capability);
  // Elements.
  PutElement(out, kElementSsid, f.ssid);
  std::span<const uint8_t> rates(f.rates);
  PutElement(out, kElementSupportedRates, rates.first(std::min<size_t>(8, rates.size())));
  uint8_t channel = f.channel;
  PutElement(out, kElementDsParameterSet, std::span<const uint8_t>(&channel, 1));
  if (rates.size() > 8) PutElement(out, kElementExtendedSupportedRates, rates.subspan(8));
  for (const InformationElement& e : f.extra_elements) PutElement(out, e.id, e.body);
  for (const VendorElement& v : f.vendor_elements) {
    PutElement(out, kElementVendorSpecific, VendorBody(v));
  }
  return out;
}

std::vector<uint8_t> BuildBeacon(const BeaconFields& fields) {
  Result<std::vector<uint8_t>> frame = TryBuildBeacon(fields);
  if (!frame.ok()) throw std::invalid_argument(frame.status().message());
  return std::move(frame).value();
}

Result<ParsedBeacon> ParseBeacon(std::span<const uint8_t> b) {
  ParsedBeacon p;
  if (b.size() < 2) return Truncated("frame control", 0, 2, b.size());
  const uint8_t fc0 = b[0];
  if ((fc0 & 0x03) != 0) {
    return InvalidArgument("beacon: frame control at offset 0: protocol version " +
                           std::to_string(fc0 & 0x03) + ", expected 0");
  }
  if (fc0 != 0x80) {
    return InvalidArgument("beacon: frame control at offset 0: type " +
                           std::to_string((fc0 >> 2) & 0x03) + " subtype " +
                           std::to_string(fc0 >> 4) +
                           " is not a beacon (type 0 management, subtype 8)");
  }
  p.frame_control_flags = b[1];
  if (p.frame_control_flags & 0x40) {
    return InvalidArgument("beacon: frame control flags at offset 1: protected frame bit set");
  }
  // A management frame with the +HTC/Order bit carries a 4-byte HT Control field.
  const size_t header = kBeaconHeaderLength + ((p.frame_control_flags & 0x80) ? 4 : 0);
  if (b.size() < header) return Truncated("MAC header", 2, header - 2, b.size() - 2);
  p.duration = GetLe16(b, 2);
  p.destination = GetMac(b, 4);
  p.source = GetMac(b, 10);
  p.bssid = GetMac(b, 16);
  const uint16_t seq = GetLe16(b, 22);
  p.sequence_number = seq >> 4;
  p.fragment_number = seq & 0x0f;
  if (b.size() - header < kBeaconFixedLength) {
    return Truncated("fixed fields", header, kBeaconFixedLength, b.size() - header);
  }
  for (int i = 7; i >= 0; --i) p.timestamp_us = (p.timestamp_us << 8) | b[header + i];
  p.beacon_interval_tu = GetLe16(b, header + 8);
  p.capability = GetLe16(b, header + 10);

  size_t at = header + kBeaconFixedLength;
  while (at < b.size()) {
    const size_t left = b.size() - at;
    if (left < 2) return Truncated("element header", at, 2, left);
    const uint8_t id = b[at];
    const size_t len = b[at + 1];
    if (len > left - 2) {
      return InvalidArgument("beacon: element ID " + std::to_string(id) + " at offset " +
                             std::to_string(at) + ": length " + std::to_string(len) +
                             " exceeds the " + std::to_string(left - 2) + " bytes left");
    }
    std::span<const uint8_t> body = b.subspan(at + 2, len);
    const std::string where = "beacon: element ID " + std::to_string(id) + " at offset " +
                              std::to_string(at) + ": ";
    switch (id) {
      case kElementSsid:
        if (len > kMaxSsidLength) {
          return InvalidArgument(where + "SSID length " + std::to_string(len) + " exceeds 32");
        }
        if (!p.has_ssid) {
          p.has_ssid = true;
          p.ssid.assign(body.begin(), body.end());
        }
        break;
      case kElementSupportedRates:
      case kElementExtendedSupportedRates:
        p.rates.insert(p.rates.end(), body.begin(), body.end());
        break;
      case kElementDsParameterSet:
        if (len != 1) {
          return InvalidArgument(where + "DS Parameter Set length " + std::to_string(len) +
                                 ", expected 1");
        }
        p.channel = body[0];
        break;
      case kElementVendorSpecific: {
        if (len < 3) {
          return InvalidArgument(where + "vendor-specific length " + std::to_string(len) +
                                 " is shorter than an OUI (3)");
        }
        VendorElement v;
        v.oui = {body[0], body[1], body[2]};
        if (len > 3) {
          v.type = body[3];
          v.payload.assign(body.begin() + 4, body.end());
        }
        p.vendor_elements.push_back(std::move(v));
        break;
      }
      default:
        break;
    }
    p.elements.push_back(InformationElement{id, std::vector<uint8_t>(body.begin(), body.end())});
    at += 2 + len;
  }
  return p;
}

}  // namespace mh::codec::wifi
