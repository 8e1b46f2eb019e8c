#include "fuzz/meter_fuzz_target.h"

#include <cmath>
#include <cstdlib>
#include <span>
#include <string>

#include "codec/dlms/dlms.h"
#include "codec/wmbus/wmbus.h"

namespace mh::fuzz {
namespace {

std::vector<uint8_t> Bytes(const char* hex) {
  std::vector<uint8_t> out;
  for (const char* p = hex; p[0] && p[1]; p += 2) out.push_back(static_cast<uint8_t>(std::strtoul(std::string(p, 2).c_str(), nullptr, 16)));
  return out;
}

// The keys of the driver vectors: the Green Book's for DLMS, 00..0F for wM-Bus.
const codec::DecodeKeys& Keys() {
  static const codec::DecodeKeys keys = [] {
    codec::DecodeKeys k;
    k.any.key = Bytes("000102030405060708090A0B0C0D0E0F");
    k.any.auth_key = Bytes("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
    return k;
  }();
  return keys;
}

void Check(const Result<codec::DecodedFrame>& r, size_t size) {
  if (r.ok()) {
    for (const codec::DecodedRegister& reg : r->registers) {
      if (!std::isfinite(reg.value) || reg.channel.empty() || (reg.unit && reg.unit->empty())) __builtin_trap();
    }
    return;
  }
  const std::string& m = r.status().message();
  if (m.rfind("byte ", 0) != 0) __builtin_trap();
  if (std::strtoull(m.c_str() + 5, nullptr, 10) > size) __builtin_trap();
}

}  // namespace

void FuzzDlms(const uint8_t* data, size_t size) {
  Check(codec::DecodeDlms(std::span(data, size), Keys()), size);
}

void FuzzWmbus(const uint8_t* data, size_t size) {
  Check(codec::DecodeWmbus(std::span(data, size), Keys()), size);
}

}  // namespace mh::fuzz
