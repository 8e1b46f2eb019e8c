// Published vectors: FIPS 180-2 SHA-256 "abc", RFC 4231 HMAC-SHA256 test case 2, and the AES-256
// GCM test cases 13, 14 and 16 of McGrew & Viega, "The Galois/Counter Mode of Operation" (the
// NIST GCM submission); all three also re-checked with python3 `cryptography` AESGCM.
#include "crypto/crypto.h"

#include <gtest/gtest.h>

namespace mh::crypto {
namespace {

Bytes Hex(std::string_view h) { return HexDecode(h).value(); }

TEST(Sha256Test, FipsAbc) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HexTest, RoundTripAndErrors) {
  EXPECT_EQ(HexEncode(Hex("00ff7FaB")), "00ff7fab");
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_EQ(HexDecode("zz").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(HexDecode("").ok());
}

TEST(HmacTest, Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, Rfc4231Case1) {
  Bytes key(20, 0x0b);
  EXPECT_EQ(HexEncode(HmacSha256(key, AsBytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(ConstantTimeEqualTest, Basics) {
  EXPECT_TRUE(ConstantTimeEqual(Hex("0102"), Hex("0102")));
  EXPECT_FALSE(ConstantTimeEqual(Hex("0102"), Hex("0103")));
  EXPECT_FALSE(ConstantTimeEqual(Hex("0102"), Hex("01")));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
}

TEST(RandomBytesTest, LengthAndVariety) {
  auto a = RandomBytes(16), b = RandomBytes(16);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), 16u);
  EXPECT_NE(*a, *b);  // 2^-128 chance of a false failure
  EXPECT_TRUE(RandomBytes(0)->empty());
}

TEST(AesGcmTest, GcmSpecCase13EmptyPlaintext) {
  Bytes key(32, 0), nonce(12, 0);
  auto sealed = Seal(key, nonce, {}, {});
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), "530f8afbc74536b9a963b4f1c4cb738b");
  auto opened = Open(key, nonce, *sealed, {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

TEST(AesGcmTest, GcmSpecCase14) {
  Bytes key(32, 0), nonce(12, 0), pt(16, 0);
  auto sealed = Seal(key, nonce, pt);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), "cea7403d4d606b6e074ec5d3baf39d18"
                                "d0d1c8a799996bf0265b98b5d48ab919");
}

TEST(AesGcmTest, GcmSpecCase16WithAad) {
  Bytes key = Hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  Bytes nonce = Hex("cafebabefacedbaddecaf888");
  Bytes pt = Hex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  Bytes aad = Hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string expected =
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b";
  auto sealed = Seal(key, nonce, pt, aad);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(HexEncode(*sealed), expected);

  auto opened = Open(key, nonce, *sealed, aad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, pt);

  // Any flipped bit, a wrong key or a wrong aad is a Status, never an exception.
  for (size_t i : {size_t{0}, sealed->size() - 1}) {
    Bytes bad = *sealed;
    bad[i] ^= 0x01;
    auto r = Open(key, nonce, bad, aad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  }
  Bytes wrong_key = key;
  wrong_key[31] ^= 0x80;
  EXPECT_EQ(Open(wrong_key, nonce, *sealed, aad).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Open(key, nonce, *sealed, {}).status().code(), StatusCode::kUnauthenticated);
}

TEST(AesGcmTest, BadSizesAreInvalidArgument) {
  Bytes key(16, 0), nonce(12, 0);
  EXPECT_EQ(Seal(key, nonce, {}).status().code(), StatusCode::kInvalidArgument);
  Bytes key32(32, 0), nonce8(8, 0);
  EXPECT_EQ(Seal(key32, nonce8, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Open(key32, nonce, Bytes(15, 0)).status().code(), StatusCode::kInvalidArgument);
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(AsBytes("")), "");
  EXPECT_EQ(Base64Encode(AsBytes("f")), "Zg==");
  EXPECT_EQ(Base64Encode(AsBytes("fo")), "Zm8=");
  EXPECT_EQ(Base64Encode(AsBytes("foo")), "Zm9v");
  EXPECT_EQ(Base64Encode(AsBytes("foob")), "Zm9vYg==");
  EXPECT_EQ(Base64Encode(AsBytes("fooba")), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode(AsBytes("foobar")), "Zm9vYmFy");
}

// The published PBKDF2-HMAC-SHA512 vectors (the RFC 6070 inputs with SHA-512).
TEST(Pbkdf2Test, Sha512Vectors) {
  auto one = Pbkdf2Sha512("password", AsBytes("salt"), 1, 64);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(HexEncode(*one),
            "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
            "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
  auto many = Pbkdf2Sha512("passwordPASSWORDpassword", AsBytes("saltSALTsaltSALTsaltSALTsaltSALTsalt"), 4096, 64);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(HexEncode(*many),
            "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
            "115b59f9e60cd9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b8");
  EXPECT_FALSE(Pbkdf2Sha512("p", AsBytes("s"), 0, 64).ok());
}

}  // namespace
}  // namespace mh::crypto
