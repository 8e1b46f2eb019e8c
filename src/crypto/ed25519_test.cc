// Ed25519 against RFC 8032 section 7.1 (TEST 1 and TEST 2), plus round trips and rejections.
#include "crypto/ed25519.h"

#include <gtest/gtest.h>

namespace mh::crypto {
namespace {

Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : Bytes{};
}

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032, 7.1 "Test Vectors for Ed25519", TEST 1 (empty message) and TEST 2 (one byte 0x72).
constexpr Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24"
     "655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aee"
     "b00d291612bb0c00"},
};

TEST(Ed25519, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kVectors) {
    const Bytes secret = Hex(v.secret);
    const Bytes message = Hex(v.message);
    Result<Bytes> public_key = Ed25519PublicKey(secret);
    ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
    EXPECT_EQ(HexEncode(*public_key), v.public_key);
    Result<Bytes> signature = Ed25519Sign(secret, message);
    ASSERT_TRUE(signature.ok()) << signature.status().ToString();
    EXPECT_EQ(HexEncode(*signature), v.signature);
    EXPECT_TRUE(Ed25519Verify(*public_key, message, *signature).ok());
  }
}

TEST(Ed25519, AnyFlippedBitFailsVerification) {
  const Bytes public_key = Hex(kVectors[1].public_key);
  const Bytes message = Hex(kVectors[1].message);
  const Bytes signature = Hex(kVectors[1].signature);
  for (size_t bit = 0; bit < signature.size() * 8; ++bit) {
    Bytes bad = signature;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(Ed25519Verify(public_key, message, bad).code(), StatusCode::kUnauthenticated) << "bit " << bit;
  }
  Bytes other_message = message;
  other_message[0] ^= 1;
  EXPECT_EQ(Ed25519Verify(public_key, other_message, signature).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Ed25519Verify(Hex(kVectors[0].public_key), message, signature).code(), StatusCode::kUnauthenticated);
}

TEST(Ed25519, GeneratedKeysSignAndVerify) {
  Result<Ed25519KeyPair> pair = Ed25519Generate();
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  EXPECT_EQ(pair->private_key.size(), kEd25519PrivateKeySize);
  EXPECT_EQ(pair->public_key.size(), kEd25519PublicKeySize);
  Result<Bytes> signature = Ed25519Sign(pair->private_key, AsBytes("tree head"));
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(Ed25519Verify(pair->public_key, AsBytes("tree head"), *signature).ok());
  Result<Ed25519KeyPair> other = Ed25519Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->private_key, pair->private_key);
  EXPECT_FALSE(Ed25519Verify(other->public_key, AsBytes("tree head"), *signature).ok());
}

TEST(Ed25519, WrongLengthsAreInvalidArgument) {
  const Bytes short_key(31, 1);
  EXPECT_EQ(Ed25519Sign(short_key, AsBytes("x")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519PublicKey(Bytes(33, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519Verify(short_key, AsBytes("x"), Bytes(64)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519Verify(Bytes(32), AsBytes("x"), Bytes(63)).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mh::crypto
