// The forwarded-batch tag (SPEC 2.5 [beyond]). Expected bytes and tag computed with python3:
//   b = bytes([1, 5]) + b"m-001" + struct.pack(">HI", 7, 3)
//     + struct.pack(">qB", 1700000000, 1) + struct.pack(">d", 123.5) + struct.pack(">H", 0)
//     + struct.pack(">qB", 1700000900, 0) + struct.pack(">H", 3) + b"n/a"
//     + struct.pack(">qB", -1, 1) + struct.pack(">d", -0.25) + struct.pack(">H", 0)
//   hmac.new(bytes(range(32)), b, hashlib.sha256).hexdigest()
#include "meter/batch_auth.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

RelayBatch Batch() {
  RelayBatch b;
  b.origin_meter_id = "m-001";
  b.failure_code = 7;
  b.readings = {{"m-001", 1700000000, 123.5, ""}, {"m-001", 1700000900, std::nullopt, "n/a"}, {"m-001", -1, -0.25, ""}};
  return b;
}

crypto::Bytes DeviceKey() {
  crypto::Bytes k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<uint8_t>(i));
  return k;
}

TEST(BatchAuthTest, ExactBytesAndTag) {
  auto bytes = CanonicalBatchBytes(Batch());
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(crypto::HexEncode(*bytes),
            "01" "05" "6d2d303031" "0007" "00000003"              // version, id, failure, count
            "000000006553f100" "01" "405ee00000000000" "0000"  // 1700000000, 123.5
            "000000006553f484" "00" "0003" "6e2f61"           // 1700000900, no value, "n/a"
            "ffffffffffffffff" "01" "bfd0000000000000" "0000");  // -1, -0.25
  auto tag = SignBatch(Batch(), DeviceKey());
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(crypto::HexEncode(*tag), "c5db215f2baffa7f0fab74b65a5016d2300923e75e77961d01226b4054128af4");
  EXPECT_TRUE(VerifyBatch(Batch(), *tag, DeviceKey()).ok());
}

TEST(BatchAuthTest, RelayCannotAlterOrInvent) {
  const crypto::Digest tag = *SignBatch(Batch(), DeviceKey());
  RelayBatch altered = Batch();
  altered.readings[0].value = 12.35;
  EXPECT_EQ(VerifyBatch(altered, tag, DeviceKey()).code(), StatusCode::kUnauthenticated);
  RelayBatch invented = Batch();
  invented.readings.push_back({"m-001", 1700001800, 130.0, ""});
  EXPECT_EQ(VerifyBatch(invented, tag, DeviceKey()).code(), StatusCode::kUnauthenticated);
  RelayBatch dropped = Batch();
  dropped.readings.pop_back();
  EXPECT_EQ(VerifyBatch(dropped, tag, DeviceKey()).code(), StatusCode::kUnauthenticated);
  RelayBatch recoded = Batch();
  recoded.failure_code = 8;
  EXPECT_EQ(VerifyBatch(recoded, tag, DeviceKey()).code(), StatusCode::kUnauthenticated);
  crypto::Bytes relay_key = DeviceKey();
  relay_key[0] ^= 1;
  EXPECT_EQ(VerifyBatch(Batch(), *SignBatch(Batch(), relay_key), DeviceKey()).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyBatch(Batch(), crypto::Bytes(16, 0), DeviceKey()).code(), StatusCode::kUnauthenticated);
}

TEST(BatchAuthTest, RejectsMalformedBatches) {
  RelayBatch bad_id = Batch();
  bad_id.origin_meter_id = "bad id";
  EXPECT_EQ(CanonicalBatchBytes(bad_id).status().code(), StatusCode::kInvalidArgument);
  RelayBatch foreign = Batch();
  foreign.readings[1].meter_id = "m-002";
  auto r = CanonicalBatchBytes(foreign);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("reading 1"), std::string::npos);
}

}  // namespace
}  // namespace mh::meter
