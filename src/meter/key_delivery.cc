#include "meter/key_delivery.h"

#include <algorithm>

namespace mh::meter {
namespace {

constexpr std::string_view kWrapLabel = "meterhub/region-keys/v1";
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

crypto::Digest WrappingKey(std::span<const uint8_t> device_key) {
  return crypto::HmacSha256(device_key, crypto::AsBytes(kWrapLabel));
}

}  // namespace

Result<crypto::Bytes> SealRegionKeys(std::span<const uint8_t> device_key, std::string_view meter_id,
                                     const std::vector<RegionKey>& keys, RandomSource& random) {
  if (keys.empty()) return InvalidArgument("seal region keys: no keys");
  if (keys.size() > 255) return InvalidArgument("seal region keys: more than 255 keys");
  crypto::Bytes plain;
  plain.push_back(static_cast<uint8_t>(keys.size()));
  for (const RegionKey& k : keys) {
    if (k.id == 0) return InvalidArgument("seal region keys: key id 0 is never used");
    plain.push_back(k.id);
    plain.insert(plain.end(), k.key.begin(), k.key.end());
  }
  crypto::Bytes nonce(kNonceSize);
  MH_RETURN_IF_ERROR(random.Fill(nonce).WithContext("seal region keys: nonce"));
  const crypto::Digest wrap = WrappingKey(device_key);
  MH_ASSIGN_OR_RETURN(crypto::Bytes sealed, crypto::Seal(wrap, nonce, plain, crypto::AsBytes(meter_id)));
  crypto::Bytes out = nonce;
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<std::vector<RegionKey>> OpenRegionKeys(std::span<const uint8_t> device_key, std::string_view meter_id,
                                              std::span<const uint8_t> sealed) {
  if (sealed.size() < kNonceSize + kTagSize + 1) return InvalidArgument("region keys: sealed bytes too short");
  const crypto::Digest wrap = WrappingKey(device_key);
  Result<crypto::Bytes> plain =
      crypto::Open(wrap, sealed.first(kNonceSize), sealed.subspan(kNonceSize), crypto::AsBytes(meter_id));
  if (!plain.ok()) return Unauthenticated("region keys: the seal does not open under this meter's device key");
  const crypto::Bytes& p = *plain;
  if (p.empty() || p[0] == 0 || p.size() != 1 + p[0] * size_t{33})
    return InvalidArgument("region keys: malformed plaintext");
  std::vector<RegionKey> keys(p[0]);
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint8_t* k = p.data() + 1 + i * 33;
    if (k[0] == 0) return InvalidArgument("region keys: key id 0");
    keys[i].id = k[0];
    std::copy(k + 1, k + 33, keys[i].key.begin());
  }
  return keys;
}

}  // namespace mh::meter
