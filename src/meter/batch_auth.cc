#include "meter/batch_auth.h"

#include <bit>
#include <cstring>

#include "core/meter_id.h"

namespace mh::meter {
namespace {

constexpr uint8_t kBatchVersion = 0x01;

void PutBe(crypto::Bytes* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

Result<crypto::Bytes> CanonicalBatchBytes(const RelayBatch& batch) {
  if (!IsValidMeterId(batch.origin_meter_id)) {
    return InvalidArgument("origin meter id '" + batch.origin_meter_id + "' is not 1-32 chars of [A-Za-z0-9_-]");
  }
  if (batch.readings.size() > UINT32_MAX) return InvalidArgument("too many readings in one batch");
  crypto::Bytes out;
  out.push_back(kBatchVersion);
  out.push_back(static_cast<uint8_t>(batch.origin_meter_id.size()));
  out.insert(out.end(), batch.origin_meter_id.begin(), batch.origin_meter_id.end());
  PutBe(&out, batch.failure_code, 2);
  PutBe(&out, batch.readings.size(), 4);
  for (size_t i = 0; i < batch.readings.size(); ++i) {
    const Reading& r = batch.readings[i];
    if (r.meter_id != batch.origin_meter_id) {
      return InvalidArgument("reading " + std::to_string(i) + " is of meter '" + r.meter_id +
                             "', not the origin '" + batch.origin_meter_id + "'");
    }
    if (r.raw_value.size() > 0xffff) return InvalidArgument("reading " + std::to_string(i) + ": raw value too long");
    PutBe(&out, static_cast<uint64_t>(r.ts), 8);
    out.push_back(r.value.has_value() ? 1 : 0);
    if (r.value) PutBe(&out, std::bit_cast<uint64_t>(*r.value), 8);
    PutBe(&out, r.raw_value.size(), 2);
    out.insert(out.end(), r.raw_value.begin(), r.raw_value.end());
  }
  return out;
}

Result<crypto::Digest> SignBatch(const RelayBatch& batch, std::span<const uint8_t> device_key) {
  MH_ASSIGN_OR_RETURN(const crypto::Bytes bytes, CanonicalBatchBytes(batch));
  return crypto::HmacSha256(device_key, bytes);
}

Status VerifyBatch(const RelayBatch& batch, std::span<const uint8_t> tag,
                   std::span<const uint8_t> device_key) {
  MH_ASSIGN_OR_RETURN(const crypto::Digest expected, SignBatch(batch, device_key));
  if (!crypto::ConstantTimeEqual(expected, tag)) {
    return Unauthenticated("batch tag of meter '" + batch.origin_meter_id + "' does not verify");
  }
  return Status::Ok();
}

}  // namespace mh::meter
