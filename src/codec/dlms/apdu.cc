#include "codec/dlms/apdu.h"

#include "crypto/aes128.h"

namespace mh::codec::dlms {
namespace {

constexpr uint8_t kDataNotification = 0x0F;
constexpr uint8_t kGeneralGloCiphering = 0xDB;
constexpr size_t kTagSize = 12;

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

// The security header of general-glo-ciphering, and where its content starts.
struct Security {
  std::string address;          // the system title in hex
  std::array<uint8_t, 12> iv{};  // system title || invocation counter
  uint8_t sc = 0;
  size_t sc_at = 0, body_at = 0;
  bool authenticated = false, encrypted = false;
};

Result<Security> ReadSecurityHeader(const Apdu& a) {
  const auto& b = a.bytes;
  Security s;
  size_t pos = 1;
  if (pos >= b.size()) return ByteError(a.Offset(pos), "system title", "truncated");
  const size_t title_length = b[pos++];
  if (title_length != 8) return ByteError(a.Offset(pos - 1), "system title", "length " + std::to_string(title_length) + " is not 8");
  if (pos + 8 > b.size()) return ByteError(a.Offset(b.size()), "system title", "truncated");
  s.address = UpperHex(std::span(b).subspan(pos, 8));
  std::copy(b.begin() + static_cast<std::ptrdiff_t>(pos), b.begin() + static_cast<std::ptrdiff_t>(pos + 8), s.iv.begin());
  pos += 8;
  const size_t length_at = pos;
  MH_ASSIGN_OR_RETURN(size_t length, ReadLength(a, &pos, "ciphered content length"));
  if (length != b.size() - pos) {
    return ByteError(a.Offset(length_at), "ciphered content length", std::to_string(length) + " bytes announced, " +
                                                                          std::to_string(b.size() - pos) + " follow");
  }
  if (length < 5) return ByteError(a.Offset(pos), "security header", "truncated: security control and invocation counter needed");
  s.sc_at = pos;
  s.sc = b[pos++];
  // Suites 0 and 1 cipher with AES-128-GCM (suite 1 adds ECDSA/ECDH, unused by pushes); suite 2
  // is AES-256-GCM.
  if ((s.sc & 0x0F) > 1) return ByteError(a.Offset(s.sc_at), "security control", "security suite " + std::to_string(s.sc & 0x0F) + " is not 0 or 1 (AES-128-GCM)");
  if (s.sc & 0x80) return ByteError(a.Offset(s.sc_at), "security control", "compressed APDUs are not supported");
  s.authenticated = s.sc & 0x10;
  s.encrypted = s.sc & 0x20;
  if (!s.authenticated && !s.encrypted) return ByteError(a.Offset(s.sc_at), "security control", Hex0x(s.sc) + " neither authenticates nor encrypts");
  std::copy(b.begin() + static_cast<std::ptrdiff_t>(pos), b.begin() + static_cast<std::ptrdiff_t>(pos + 4), s.iv.begin() + 8);
  s.body_at = pos + 4;
  if (b.size() - s.body_at < (s.authenticated ? kTagSize : 0) + 1) {
    return ByteError(a.Offset(b.size()), "ciphered content", "truncated: no APDU before the 12-byte tag");
  }
  return s;
}

// The APDU inside, its tag checked when the frame is authenticated.
Result<crypto::Bytes> Decipher(const Apdu& a, const Security& s, const KeyPair& kp) {
  const std::span<const uint8_t> body = std::span(a.bytes).subspan(s.body_at);  // with the tag
  const std::string tag_at = "byte " + std::to_string(a.Offset(a.bytes.size() - kTagSize)) + " (authentication tag): ";
  std::vector<uint8_t> aad = {s.sc};
  if (s.authenticated) aad.insert(aad.end(), kp.auth_key.begin(), kp.auth_key.end());
  if (s.encrypted && s.authenticated) {
    auto opened = crypto::Aes128GcmOpen(kp.key, s.iv, body, aad, kTagSize);
    if (opened.status().code() == StatusCode::kUnauthenticated) {
      return Unauthenticated(tag_at + "authentication tag mismatch: wrong encryption or authentication key, or altered data");
    }
    return opened;
  }
  if (s.encrypted) {  // GCM without its tag is CTR from the counter block IV || 00000002
    std::array<uint8_t, 16> counter{};
    std::copy(s.iv.begin(), s.iv.end(), counter.begin());
    counter[15] = 2;
    return crypto::Aes128Ctr(kp.key, counter, body);
  }
  // Authentication only: the tag is the GMAC of SC || AK || APDU.
  const std::span<const uint8_t> apdu = body.first(body.size() - kTagSize);
  aad.insert(aad.end(), apdu.begin(), apdu.end());
  if (!crypto::Aes128GcmOpen(kp.key, s.iv, body.last(kTagSize), aad, kTagSize).ok()) {
    return Unauthenticated(tag_at + "authentication tag mismatch: wrong key or altered data");
  }
  return crypto::Bytes(apdu.begin(), apdu.end());
}

Result<Notification> ReadCiphered(const Apdu& a, const DecodeKeys& keys) {
  MH_ASSIGN_OR_RETURN(Security s, ReadSecurityHeader(a));
  const KeyPair& kp = keys.For(s.address);
  const std::string where = "byte " + std::to_string(a.Offset(s.sc_at)) + " (security control): the APDU of system title " + s.address;
  // GCM runs on the encryption key; the authentication key only joins the AAD.
  if (kp.key.empty()) {
    return Status(StatusCode::kFailedPrecondition,
                  where + " is ciphered and no encryption key was given for it"
                          " (decode --key or --keys; the daemon: ingest.frame_keys_file)");
  }
  if (kp.auth_key.empty() && s.authenticated) {
    return Status(StatusCode::kFailedPrecondition, where + " is authenticated and no authentication key (--auth-key) was given for it");
  }
  Apdu inner;
  MH_ASSIGN_OR_RETURN(inner.bytes, Decipher(a, s, kp));
  inner.origin.assign(a.origin.begin() + static_cast<std::ptrdiff_t>(s.body_at),
                      a.origin.begin() + static_cast<std::ptrdiff_t>(s.body_at + inner.bytes.size()));
  if (inner.bytes[0] != kDataNotification) {
    const std::string what = "decrypted APDU tag " + Hex0x(inner.bytes[0]) + " is not a data-notification (0x0f)";
    if (!s.authenticated) return Unauthenticated("byte " + std::to_string(inner.Offset(0)) + " (APDU tag): " + what + ": wrong key?");
    return ByteError(inner.Offset(0), "APDU tag", what);
  }
  auto n = ReadPlain(inner);
  if (!n.ok() && !s.authenticated) {
    return Unauthenticated(n.status().message() + " (after decryption without authentication: wrong key?)");
  }
  MH_RETURN_IF_ERROR(n.status());
  n->system_title = s.address;
  return n;
}

}  // namespace

Result<Notification> ReadNotification(const Apdu& apdu, const DecodeKeys& keys) {
  const uint8_t tag = apdu.bytes[0];
  if (tag == kDataNotification) return ReadPlain(apdu);
  if (tag == kGeneralGloCiphering) return ReadCiphered(apdu, keys);
  return ByteError(apdu.Offset(0), "APDU tag", Hex0x(tag) + " is not a data-notification (0x0f) or general-glo-ciphering (0xdb)");
}

}  // namespace mh::codec::dlms
