#include "meter/access_password.h"

#include <algorithm>

#include "meter/relay_score.h"

namespace mh::meter {
namespace {

constexpr size_t kHeaderSize = 5;  // OUI | type | key id
constexpr size_t kNonceOffset = kHeaderSize;
constexpr size_t kSealedOffset = kNonceOffset + crypto::kGcmNonceSize;  // 17

}  // namespace

bool IsReferenceHex(std::string_view r) {
  return r.size() == kReferenceHexLength &&
         std::all_of(r.begin(), r.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<std::string> ReferenceFromBytes(std::span<const uint8_t> random16) {
  if (random16.size() != kReferenceHexLength / 2) return InvalidArgument("a reference takes 16 random bytes");
  return crypto::HexEncode(random16);
}

Result<crypto::Bytes> BuildReferencePayload(const RegionKey& key, std::string_view reference,
                                            std::span<const uint8_t> nonce) {
  if (!IsReferenceHex(reference)) return InvalidArgument("reference is not 32 lowercase hex chars");
  if (nonce.size() != crypto::kGcmNonceSize) return InvalidArgument("nonce must be 12 bytes");
  crypto::Bytes out = {kVendorOui[0], kVendorOui[1], kVendorOui[2], kReferencePayloadType, key.id};
  out.insert(out.end(), nonce.begin(), nonce.end());
  MH_ASSIGN_OR_RETURN(crypto::Bytes sealed,
                      crypto::Seal(key.key, nonce, crypto::AsBytes(reference),
                                   std::span<const uint8_t>(out.data(), kHeaderSize)));
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<std::string> ParseReferencePayload(std::span<const uint8_t> payload,
                                          std::span<const RegionKey> keys) {
  if (payload.size() != kReferencePayloadSize) {
    return InvalidArgument("reference element is " + std::to_string(payload.size()) + " bytes, want " +
                           std::to_string(kReferencePayloadSize));
  }
  if (!std::equal(kVendorOui.begin(), kVendorOui.end(), payload.begin())) {
    return InvalidArgument("vendor element OUI is " + crypto::HexEncode(payload.subspan(0, 3)) +
                           ", want 024d48");
  }
  if (payload[3] != kReferencePayloadType) {
    return InvalidArgument("vendor element type " + std::to_string(payload[3]) + ", want 1");
  }
  const uint8_t key_id = payload[4];
  auto key = std::find_if(keys.begin(), keys.end(), [&](const RegionKey& k) { return k.id == key_id; });
  if (key == keys.end()) return NotFound("unknown region key id " + std::to_string(key_id));
  Result<crypto::Bytes> plain =
      crypto::Open(key->key, payload.subspan(kNonceOffset, crypto::kGcmNonceSize),
                   payload.subspan(kSealedOffset), payload.subspan(0, kHeaderSize));
  if (!plain.ok()) return plain.status().WithContext("reference element (key id " + std::to_string(key_id) + ")");
  std::string reference(plain->begin(), plain->end());
  if (!IsReferenceHex(reference)) return InvalidArgument("decrypted reference is not 32 lowercase hex chars");
  return reference;
}

Result<std::string> DeriveAccessPassword(std::string_view region_code, std::string_view position_code,
                                         std::string_view reference) {
  if (!IsDigits(region_code, kRegionCodeLength)) {
    return InvalidArgument("region code '" + std::string(region_code) + "' is not 9 digits");
  }
  if (!IsDigits(position_code, kPositionCodeLength)) {
    return InvalidArgument("position code '" + std::string(position_code) + "' is not 6 digits");
  }
  if (!IsReferenceHex(reference)) {
    return InvalidArgument("reference '" + std::string(reference) + "' is not 32 lowercase hex chars");
  }
  std::string target;
  target.append(region_code).append(position_code).append(reference);
  return crypto::HexEncode(crypto::Sha256(target)).substr(16, 32);
}

}  // namespace mh::meter
