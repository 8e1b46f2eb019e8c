// Decryption keys of encrypted meter frames (wM-Bus modes 5/7, DLMS ciphering), as an operator
// keeps them: a CSV of `address,key[,auth_key]`. Read by `meterhub decode --keys FILE` and by the
// daemon's `[ingest] frame_keys_file`.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "codec/meter/meter_frame.h"

namespace mh::codec {

// An AES-128 key in hex (separators allowed as in frames); InvalidArgument unless 16 bytes.
Result<std::vector<uint8_t>> ParseAesKey(const std::string& hex);

// `address,key[,auth_key]` per line (keys in hex, 16 bytes), an optional header line starting
// with "address", blank lines and lines starting with # skipped; addresses are matched
// case-insensitively (stored upper-case). An error names the file and the line, never a key.
Result<std::map<std::string, KeyPair>> ReadKeysFile(const std::string& path);

}  // namespace mh::codec
