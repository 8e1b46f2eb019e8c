// SPEC 2.5 exact vectors, computed with python3:
//   password: hashlib.sha256((C + P + ref).encode()).hexdigest()[16:48]
//   payload:  cryptography AESGCM(key).encrypt(nonce, ref, aad = 02 4d 48 01 07) behind the
//             5-byte header and the nonce; key = bytes(range(32)), nonce = bytes(range(0xa0, 0xac)).
#include "meter/access_password.h"

#include <gtest/gtest.h>

namespace mh::meter {
namespace {

constexpr char kRef[] = "00112233445566778899aabbccddeeff";
constexpr char kPayloadHex[] =
    "024d4801"    // OUI, type
    "07"          // key id
    "a0a1a2a3a4a5a6a7a8a9aaab"  // nonce
    "d6284d1c77f9318c5651b2e6314cf7e948946029f3d6200eff6d42e21ace1367"  // ciphertext
    "80616b542af9667c9f3c659c0f37a0e6";  // tag

RegionKey Key(uint8_t id) {
  RegionKey k;
  k.id = id;
  for (int i = 0; i < 32; ++i) k.key[i] = static_cast<uint8_t>(i);
  return k;
}

crypto::Bytes Nonce() {
  crypto::Bytes n;
  for (int i = 0xa0; i < 0xac; ++i) n.push_back(static_cast<uint8_t>(i));
  return n;
}

TEST(AccessPasswordTest, ExactVectors) {
  EXPECT_EQ(*DeriveAccessPassword("330106001", "000123", kRef), "f7e5883b88039728337040d40347d622");
  EXPECT_EQ(*DeriveAccessPassword("110105002", "004567", "0123456789abcdef0123456789abcdef"),
            "bf81a3e18d37422399e7cb5d87d3cf2f");
  EXPECT_FALSE(DeriveAccessPassword("33010600", "000123", kRef).ok());
  EXPECT_FALSE(DeriveAccessPassword("330106001", "00123", kRef).ok());
  EXPECT_FALSE(DeriveAccessPassword("330106001", "000123", "00112233445566778899AABBCCDDEEFF").ok());
}

TEST(ReferencePayloadTest, ExactBytesAndRoundTrip) {
  auto p = BuildReferencePayload(Key(7), kRef, Nonce());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->size(), kReferencePayloadSize);
  EXPECT_EQ(crypto::HexEncode(*p), kPayloadHex);
  const RegionKey keys[] = {Key(3), Key(7)};
  auto ref = ParseReferencePayload(*p, keys);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(*ref, kRef);
}

TEST(ReferencePayloadTest, FreshReference) {
  auto bytes = crypto::RandomBytes(16);
  auto ref = ReferenceFromBytes(*bytes);
  ASSERT_TRUE(ref.ok());
  EXPECT_TRUE(IsReferenceHex(*ref));
  EXPECT_FALSE(ReferenceFromBytes(crypto::Bytes(15)).ok());
}

TEST(ReferencePayloadTest, Rejections) {
  const crypto::Bytes good = *crypto::HexDecode(kPayloadHex);
  const RegionKey right[] = {Key(7)};

  RegionKey wrong = Key(7);
  wrong.key[0] ^= 1;
  const RegionKey wrong_keys[] = {wrong};
  EXPECT_EQ(ParseReferencePayload(good, wrong_keys).status().code(), StatusCode::kUnauthenticated);

  const RegionKey other_id[] = {Key(8)};
  auto unknown = ParseReferencePayload(good, other_id);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("key id 7"), std::string::npos);

  for (size_t i = 5; i < good.size(); ++i) {  // nonce, ciphertext and tag are all covered
    crypto::Bytes bad = good;
    bad[i] ^= 0x40;
    EXPECT_EQ(ParseReferencePayload(bad, right).status().code(), StatusCode::kUnauthenticated) << i;
  }
  crypto::Bytes bad_oui = good;
  bad_oui[2] = 0x49;
  auto r = ParseReferencePayload(bad_oui, right);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("OUI"), std::string::npos);
  crypto::Bytes bad_type = good;
  bad_type[3] = 0x02;
  EXPECT_EQ(ParseReferencePayload(bad_type, right).status().code(), StatusCode::kInvalidArgument);
  crypto::Bytes short_p(good.begin(), good.end() - 1);
  EXPECT_EQ(ParseReferencePayload(short_p, right).status().code(), StatusCode::kInvalidArgument);
  // The key id is authenticated: relabelling the payload for another key of the same bytes fails.
  crypto::Bytes relabel = good;
  relabel[4] = 9;
  RegionKey same_bytes = Key(9);
  const RegionKey k9[] = {same_bytes};
  EXPECT_EQ(ParseReferencePayload(relabel, k9).status().code(), StatusCode::kUnauthenticated);

  EXPECT_FALSE(BuildReferencePayload(Key(7), "xyz", Nonce()).ok());
  EXPECT_FALSE(BuildReferencePayload(Key(7), kRef, crypto::Bytes(11)).ok());
}

}  // namespace
}  // namespace mh::meter
