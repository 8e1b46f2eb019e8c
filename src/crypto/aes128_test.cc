// Known-answer tests from published vectors: NIST SP 800-38A F.2.1/F.2.2 (CBC-AES128) and F.5.1
// (CTR-AES128), RFC 4493 section 4 (AES-CMAC, all four examples), McGrew & Viega's GCM test case 4
// (AES-128 with AAD, the NIST GCM submission) with its full and a 12-byte tag, and the AES-GCM
// worked example of the DLMS UA Green Book (security suite 0: IV = system title || invocation
// counter, AAD = security control byte || authentication key). Each was re-checked with python3
// `cryptography`.
#include "crypto/aes128.h"

#include <gtest/gtest.h>

namespace mh::crypto {
namespace {

Bytes Hex(std::string_view h) { return HexDecode(h).value(); }

const Bytes kNistKey = Hex("2b7e151628aed2a6abf7158809cf4f3c");
const Bytes kNistPlain = Hex(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");

TEST(Aes128CbcTest, NistSp80038aF21AndF22) {
  const Bytes iv = Hex("000102030405060708090a0b0c0d0e0f");
  const std::string expected =
      "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
      "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7";
  auto ct = Aes128CbcEncrypt(kNistKey, iv, kNistPlain);
  ASSERT_TRUE(ct.ok()) << ct.status().message();
  EXPECT_EQ(HexEncode(*ct), expected);
  auto pt = Aes128CbcDecrypt(kNistKey, iv, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(*pt, kNistPlain);
}

TEST(Aes128CbcTest, RejectsPartialBlocksAndBadSizes) {
  const Bytes iv(16, 0);
  EXPECT_EQ(Aes128CbcDecrypt(kNistKey, iv, Bytes(15, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes128CbcDecrypt(Bytes(32, 0), iv, Bytes(16, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes128CbcDecrypt(kNistKey, Bytes(12, 0), Bytes(16, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Aes128CbcDecrypt(kNistKey, iv, {})->empty());
}

TEST(Aes128CtrTest, NistSp80038aF51) {
  const Bytes counter = Hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  auto ct = Aes128Ctr(kNistKey, counter, kNistPlain);
  ASSERT_TRUE(ct.ok()) << ct.status().message();
  EXPECT_EQ(HexEncode(*ct),
            "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
            "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee");
  // A stream: any length, and decryption is the same call.
  auto part = Aes128Ctr(kNistKey, counter, std::span(*ct).first(21));
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, Bytes(kNistPlain.begin(), kNistPlain.begin() + 21));
}

TEST(Aes128CmacTest, Rfc4493Examples) {
  const std::pair<size_t, const char*> cases[] = {
      {0, "bb1d6929e95937287fa37d129b756746"},
      {16, "070a16b46b4d4144f79bdd9dd04a287c"},
      {40, "dfa66747de9ae63030ca32611497c827"},
      {64, "51f0bebf7e3b9d92fc49741779363cfe"},
  };
  for (const auto& [len, mac] : cases) {
    auto got = Aes128Cmac(kNistKey, std::span(kNistPlain).first(len));
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(HexEncode(*got), mac) << len << "-byte message";
  }
  EXPECT_FALSE(Aes128Cmac(Bytes(8, 0), kNistPlain).ok());
}

TEST(Aes128GcmTest, GcmSpecCase4FullAndTruncatedTag) {
  const Bytes key = Hex("feffe9928665731c6d6a8f9467308308");
  const Bytes iv = Hex("cafebabefacedbaddecaf888");
  const Bytes pt = Hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string ct =
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091";
  auto sealed = Aes128GcmSeal(key, iv, pt, aad, 16);
  ASSERT_TRUE(sealed.ok()) << sealed.status().message();
  EXPECT_EQ(HexEncode(*sealed), ct + "5bc94fbc3221a5db94fae95ae7121a47");
  auto short_tag = Aes128GcmSeal(key, iv, pt, aad, 12);
  ASSERT_TRUE(short_tag.ok());
  EXPECT_EQ(HexEncode(*short_tag), ct + "5bc94fbc3221a5db94fae95a");
  auto opened = Aes128GcmOpen(key, iv, *short_tag, aad, 12);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(*opened, pt);
}

TEST(Aes128GcmTest, DlmsGreenBookExample) {
  const Bytes ek = Hex("000102030405060708090A0B0C0D0E0F");
  const Bytes ak = Hex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF");
  Bytes iv = Hex("4D4D4D0000BC614E");  // system title
  const Bytes ic = Hex("01234567");
  iv.insert(iv.end(), ic.begin(), ic.end());
  Bytes aad = {0x30};
  aad.insert(aad.end(), ak.begin(), ak.end());
  auto sealed = Aes128GcmSeal(ek, iv, Hex("C0010000080000010000FF0200"), aad, 12);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), "411312ff935a47566827c467bc7d825c3be4a77c3fcc056b6b");
}

TEST(Aes128GcmTest, WrongKeyAadOrByteIsATagMismatch) {
  const Bytes key(16, 7), iv(12, 1), aad = {0x30, 1, 2};
  auto sealed = Aes128GcmSeal(key, iv, Hex("0f000000010203"), aad, 12);
  ASSERT_TRUE(sealed.ok());
  Bytes wrong_key(16, 8);
  auto a = Aes128GcmOpen(wrong_key, iv, *sealed, aad, 12);
  EXPECT_EQ(a.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(a.status().message().find("authentication tag mismatch"), std::string::npos);
  EXPECT_EQ(Aes128GcmOpen(key, iv, *sealed, Hex("31"), 12).status().code(), StatusCode::kUnauthenticated);
  Bytes flipped = *sealed;
  flipped[2] ^= 1;
  EXPECT_EQ(Aes128GcmOpen(key, iv, flipped, aad, 12).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Aes128GcmOpen(key, iv, Bytes(5, 0), aad, 12).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes128GcmOpen(key, Bytes(16, 0), *sealed, aad, 12).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Aes128GcmSeal(key, iv, {}, aad, 10).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mh::crypto
