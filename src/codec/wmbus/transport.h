// The wireless M-Bus layers between the link layer and the application data: the extended link
// layers (CI 0x8C..0x8F; 0x8D/0x8F with AES-128-CTR), the OMS authentication and fragmentation
// layer (CI 0x90), and the transport layer with a long (0x72), short (0x7A) or no (0x78) header
// and its security modes 5 (AES-128-CBC, IV from address and access number) and 7 (AES-128-CBC
// with an ephemeral key derived by AES-CMAC from the message counter, OMS Vol. 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"
#include "codec/wmbus/link_layer.h"

namespace mh::codec::wmbus {

// The application layer of one telegram, decrypted, with the frame offset of every byte.
struct ApplicationData {
  std::string address;                 // the meter: transport-layer long header, else link layer
  std::vector<uint8_t> bytes;          // DIF/VIF records
  std::vector<uint16_t> origin;        // frame offset of bytes[i]
  std::vector<std::string> status;     // the transport status byte's flags ("power_low", ...)
};

// Reads everything after the link-layer header. Keys: keys.For(address), else keys.any. A
// missing key is a FailedPrecondition; a wrong one is Unauthenticated ("wrong key: ...") — never
// garbage records. Manufacturer-specific application layers (CI 0xA0..0xA3, compact frames 0x79)
// and other CIs are InvalidArgument naming the CI byte.
Result<ApplicationData> ReadTransport(const Telegram& telegram, const DecodeKeys& keys);

}  // namespace mh::codec::wmbus
