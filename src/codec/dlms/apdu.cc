#include "codec/dlms/apdu.h"

#include <cstdio>

#include "crypto/aes128.h"

namespace mh::codec::dlms {
namespace {

constexpr uint8_t kDataNotification = 0x0F;
constexpr uint8_t kGeneralGloCiphering = 0xDB;
constexpr size_t kTagSize = 12;

std::string Hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 0x0F]);
  }
  return s;
}

std::string Hex8(uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

Result<Notification> ReadPlain(const Apdu& a) {
  const auto& b = a.bytes;
  Notification n;
  if (b.size() < 6) return ByteError(a.Offset(b.size()), "data-notification", "truncated: invoke id and date-time needed");
  n.invoke_id_and_priority = static_cast<uint32_t>(b[1]) << 24 | static_cast<uint32_t>(b[2]) << 16 |
                             static_cast<uint32_t>(b[3]) << 8 | b[4];
  size_t pos = 5;
  // date-time: OCTET STRING (SIZE(0..12)) — A-XDR length 0 or 12; many meters send it as a
  // Data octet-string instead (tag 0x09 first).
  if (b[pos] == 0x09 && pos + 1 < b.size() && b[pos + 1] == 12) ++pos;
  const uint8_t length = b[pos];
  if (length != 0 && length != 12) {
    return ByteError(a.Offset(pos), "data-notification date-time", "length " + std::to_string(length) + " is not 0 or 12");
  }
  ++pos;
  if (length == 12) {
    if (pos + 12 > b.size()) return ByteError(a.Offset(b.size()), "data-notification date-time", "truncated");
    n.date_time.emplace();
    std::copy(b.begin() + static_cast<std::ptrdiff_t>(pos), b.begin() + static_cast<std::ptrdiff_t>(pos + 12), n.date_time->begin());
    pos += 12;
  }
  MH_ASSIGN_OR_RETURN(n.body, ReadData(a, &pos));
  if (pos != b.size()) return ByteError(a.Offset(pos), "data-notification", std::to_string(b.size() - pos) + " bytes after the notification body");
  return n;
}

Result<Notification> ReadCiphered(const Apdu& a, const DecodeKeys& keys) {
  const auto& b = a.bytes;
  size_t pos = 1;
  if (pos >= b.size()) return ByteError(a.Offset(pos), "system title", "truncated");
  const size_t title_length = b[pos++];
  if (title_length != 8) return ByteError(a.Offset(pos - 1), "system title", "length " + std::to_string(title_length) + " is not 8");
  if (pos + 8 > b.size()) return ByteError(a.Offset(b.size()), "system title", "truncated");
  const std::span<const uint8_t> title(b.data() + pos, 8);
  const std::string address = Hex(title);
  pos += 8;
  const size_t length_at = pos;
  MH_ASSIGN_OR_RETURN(size_t length, ReadLength(a, &pos, "ciphered content length"));
  if (length != b.size() - pos) {
    return ByteError(a.Offset(length_at), "ciphered content length", std::to_string(length) + " bytes announced, " +
                                                                          std::to_string(b.size() - pos) + " follow");
  }
  if (length < 5) return ByteError(a.Offset(pos), "security header", "truncated: security control and invocation counter needed");
  const size_t sc_at = pos;
  const uint8_t sc = b[pos++];
  // Suites 0 and 1 cipher with AES-128-GCM (suite 1 adds ECDSA/ECDH, unused by pushes); suite 2
  // is AES-256-GCM.
  if ((sc & 0x0F) > 1) return ByteError(a.Offset(sc_at), "security control", "security suite " + std::to_string(sc & 0x0F) + " is not 0 or 1 (AES-128-GCM)");
  if (sc & 0x80) return ByteError(a.Offset(sc_at), "security control", "compressed APDUs are not supported");
  const bool authenticated = sc & 0x10, encrypted = sc & 0x20;
  if (!authenticated && !encrypted) return ByteError(a.Offset(sc_at), "security control", Hex8(sc) + " neither authenticates nor encrypts");
  std::array<uint8_t, 12> iv{};
  std::copy(title.begin(), title.end(), iv.begin());
  std::copy(b.begin() + static_cast<std::ptrdiff_t>(pos), b.begin() + static_cast<std::ptrdiff_t>(pos + 4), iv.begin() + 8);
  pos += 4;
  const size_t body_at = pos;
  const size_t tag_size = authenticated ? kTagSize : 0;
  if (b.size() - body_at < tag_size + 1) return ByteError(a.Offset(b.size()), "ciphered content", "truncated: no APDU before the 12-byte tag");
  const std::span<const uint8_t> body(b.data() + body_at, b.size() - body_at);  // with the tag
  const KeyPair& kp = keys.For(address);
  if (kp.key.empty()) {  // GCM runs on the encryption key; the authentication key only joins the AAD
    return Status(StatusCode::kFailedPrecondition, "byte " + std::to_string(a.Offset(sc_at)) +
                                                       " (security control): the APDU of system title " + address +
                                                       " is ciphered and no encryption key (--key) was given for it");
  }
  if (kp.auth_key.empty() && authenticated) {
    return Status(StatusCode::kFailedPrecondition, "byte " + std::to_string(a.Offset(sc_at)) +
                                                       " (security control): the APDU of system title " + address +
                                                       " is authenticated and no authentication key (--auth-key) was given for it");
  }
  std::vector<uint8_t> aad = {sc};
  if (authenticated) aad.insert(aad.end(), kp.auth_key.begin(), kp.auth_key.end());
  crypto::Bytes plain;
  if (encrypted && authenticated) {
    auto opened = crypto::Aes128GcmOpen(kp.key, iv, body, aad, kTagSize);
    if (!opened.ok() && opened.status().code() == StatusCode::kUnauthenticated) {
      return Unauthenticated("byte " + std::to_string(a.Offset(b.size() - kTagSize)) +
                             " (authentication tag): authentication tag mismatch: wrong encryption or authentication key, or altered data");
    }
    MH_ASSIGN_OR_RETURN(plain, std::move(opened));
  } else if (encrypted) {
    // GCM without its tag is CTR from the counter block IV || 00000002.
    std::array<uint8_t, 16> counter{};
    std::copy(iv.begin(), iv.end(), counter.begin());
    counter[15] = 2;
    MH_ASSIGN_OR_RETURN(plain, crypto::Aes128Ctr(kp.key, counter, body));
  } else {
    // Authentication only: the tag is the GMAC of SC || AK || APDU.
    const std::span<const uint8_t> apdu = body.first(body.size() - kTagSize);
    aad.insert(aad.end(), apdu.begin(), apdu.end());
    auto checked = crypto::Aes128GcmOpen(kp.key, iv, body.last(kTagSize), aad, kTagSize);
    if (!checked.ok()) {
      return Unauthenticated("byte " + std::to_string(a.Offset(b.size() - kTagSize)) +
                             " (authentication tag): authentication tag mismatch: wrong key or altered data");
    }
    plain.assign(apdu.begin(), apdu.end());
  }
  Apdu inner;
  inner.bytes = std::move(plain);
  inner.origin.assign(a.origin.begin() + static_cast<std::ptrdiff_t>(body_at),
                      a.origin.begin() + static_cast<std::ptrdiff_t>(body_at + inner.bytes.size()));
  if (inner.bytes[0] != kDataNotification) {
    const std::string what = "decrypted APDU tag " + Hex8(inner.bytes[0]) + " is not a data-notification (0x0f)";
    if (!authenticated) return Unauthenticated("byte " + std::to_string(inner.Offset(0)) + " (APDU tag): " + what + ": wrong key?");
    return ByteError(inner.Offset(0), "APDU tag", what);
  }
  auto n = ReadPlain(inner);
  if (!n.ok() && !authenticated) {
    return Unauthenticated(n.status().message() + " (after decryption without authentication: wrong key?)");
  }
  MH_RETURN_IF_ERROR(n.status());
  n->system_title = address;
  return n;
}

}  // namespace

Result<Notification> ReadNotification(const Apdu& apdu, const DecodeKeys& keys) {
  const uint8_t tag = apdu.bytes[0];
  if (tag == kDataNotification) return ReadPlain(apdu);
  if (tag == kGeneralGloCiphering) return ReadCiphered(apdu, keys);
  return ByteError(apdu.Offset(0), "APDU tag", Hex8(tag) + " is not a data-notification (0x0f) or general-glo-ciphering (0xdb)");
}

}  // namespace mh::codec::dlms
