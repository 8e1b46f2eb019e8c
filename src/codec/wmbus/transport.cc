#include "codec/wmbus/transport.h"

#include <array>
#include <cstdio>

#include "crypto/aes128.h"

namespace mh::codec::wmbus {
namespace {

// The telegram being unwrapped: a private copy (decryption works in place) and a read position.
struct Unwrap {
  Unwrap(const Telegram& telegram, const DecodeKeys& k) : t(telegram), keys(k), b(telegram.bytes) {}
  const Telegram& t;
  const DecodeKeys& keys;
  std::vector<uint8_t> b;
  size_t p = kCiOffset;
  std::string dll_address;
  std::string address;  // the meter's: replaced by a long transport header's
  // From an AFL (CI 0x90), for security mode 7.
  bool afl = false;
  uint8_t afl_mcl = 0;
  std::optional<std::array<uint8_t, 4>> afl_counter;
  std::vector<uint8_t> afl_mac;
  size_t afl_mac_at = 0;
  std::optional<std::array<uint8_t, 2>> afl_length;
  bool already_decrypted = false;  // encrypted on the air, in clear here

  size_t Off(size_t i) const { return t.Offset(i); }
  size_t Left() const { return b.size() - p; }
  Status Need(size_t n, std::string_view field) const {
    if (Left() >= n) return Status::Ok();
    return ByteError(Off(b.size()), field, "truncated: needs " + std::to_string(n) + " bytes from byte " +
                                               std::to_string(Off(p)) + ", " + std::to_string(Left()) + " remain");
  }
  // The key for `who`: its own, else the one for every frame. Missing is FailedPrecondition.
  Result<std::vector<uint8_t>> KeyFor(const std::string& who, size_t at, std::string_view what) const {
    const std::vector<uint8_t>& k = keys.For(who).key;
    if (k.empty()) {
      return Status(StatusCode::kFailedPrecondition,
                    "byte " + std::to_string(Off(at)) + " (" + std::string(what) + "): the telegram of " + who +
                        " is encrypted and no key was given for it");
    }
    if (k.size() != crypto::kAes128KeySize) {
      return InvalidArgument("the key for " + who + " has " + std::to_string(k.size()) + " bytes, AES-128 needs 16");
    }
    return k;
  }
};

// Extended link layer I..IV (EN 13757-4): CC, ACC, [target M A], [session number, payload CRC].
Status ReadEll(Unwrap& u) {
  const uint8_t ci = u.b[u.p];
  const bool has_target = ci == 0x8E || ci == 0x8F;
  const bool has_session = ci == 0x8D || ci == 0x8F;
  const size_t size = 3 + (has_target ? 8 : 0) + (has_session ? 6 : 0);
  MH_RETURN_IF_ERROR(u.Need(size, "extended link layer"));
  const uint8_t cc = u.b[u.p + 1];
  size_t q = u.p + 3 + (has_target ? 8 : 0);
  if (has_session) {
    const size_t sn_at = q;
    const uint32_t sn = static_cast<uint32_t>(u.b[q]) | static_cast<uint32_t>(u.b[q + 1]) << 8 |
                        static_cast<uint32_t>(u.b[q + 2]) << 16 | static_cast<uint32_t>(u.b[q + 3]) << 24;
    const int encryption = static_cast<int>(sn >> 29);
    const size_t crc_at = q + 4;
    bool decrypted = false;
    const bool crc_holds = static_cast<uint16_t>(u.b[crc_at] | u.b[crc_at + 1] << 8) ==
                           Crc16En13757(std::span(u.b).subspan(crc_at + 2));
    if (encryption == 1 && crc_holds && u.keys.For(u.dll_address).key.empty()) {
      // Sent encrypted but delivered in clear (a receiver that decrypts, or a recorded test
      // telegram): the payload CRC already holds, so nothing is left to decrypt.
      u.already_decrypted = true;
    } else if (encryption == 1) {
      MH_ASSIGN_OR_RETURN(std::vector<uint8_t> key, u.KeyFor(u.dll_address, sn_at, "ELL session number"));
      // Counter block: M, A (link layer), CC without its R and B bits, SN, frame number 0, block 0.
      std::array<uint8_t, 16> iv{};
      std::copy(u.b.begin() + 2, u.b.begin() + 10, iv.begin());
      iv[8] = cc & static_cast<uint8_t>(~0x12);
      std::copy(u.b.begin() + static_cast<std::ptrdiff_t>(sn_at), u.b.begin() + static_cast<std::ptrdiff_t>(sn_at + 4), iv.begin() + 9);
      std::span<uint8_t> payload(u.b.data() + crc_at, u.b.size() - crc_at);
      MH_ASSIGN_OR_RETURN(crypto::Bytes plain, crypto::Aes128Ctr(key, iv, payload));
      std::copy(plain.begin(), plain.end(), payload.begin());
      decrypted = true;
    } else if (encryption != 0) {
      return ByteError(u.Off(sn_at + 3), "ELL session number", "encryption " + std::to_string(encryption) + " is not AES-128-CTR (1)");
    }
    const uint16_t want = static_cast<uint16_t>(u.b[crc_at] | u.b[crc_at + 1] << 8);
    const uint16_t got = Crc16En13757(std::span(u.b).subspan(crc_at + 2));
    if (want != got) {
      if (decrypted) {
        return Unauthenticated("byte " + std::to_string(u.Off(crc_at)) +
                               " (ELL payload CRC): wrong key: the payload CRC does not match after AES-128-CTR decryption");
      }
      char buf[64];
      std::snprintf(buf, sizeof buf, "expected 0x%04x, got 0x%04x", got, want);
      return ByteError(u.Off(crc_at), "ELL payload CRC", buf);
    }
    q = crc_at + 2;
  }
  u.p = q;
  return Status::Ok();
}

// Authentication and fragmentation layer (OMS Vol. 2, CI 0x90): what security mode 7 needs.
Status ReadAfl(Unwrap& u) {
  MH_RETURN_IF_ERROR(u.Need(4, "AFL header"));
  const size_t len = u.b[u.p + 1];
  const size_t start = u.p + 2, end = start + len;
  if (end > u.b.size()) return ByteError(u.Off(u.p + 1), "AFL length", std::to_string(len) + " bytes announced, " + std::to_string(u.b.size() - start) + " remain");
  if (len < 2) return ByteError(u.Off(u.p + 1), "AFL length", "shorter than its fragmentation control field");
  const uint16_t fcl = static_cast<uint16_t>(u.b[start] | u.b[start + 1] << 8);
  if (fcl & 0x4000) return ByteError(u.Off(start + 1), "AFL fragmentation control", "fragmented messages are not supported");
  size_t q = start + 2;
  auto take = [&](size_t n, const char* field) -> Result<size_t> {
    if (q + n > end) return ByteError(u.Off(q), field, "does not fit in the AFL's " + std::to_string(len) + " bytes");
    const size_t at = q;
    q += n;
    return at;
  };
  if (fcl & 0x2000) {
    MH_ASSIGN_OR_RETURN(size_t at, take(1, "AFL message control"));
    u.afl_mcl = u.b[at];
  }
  if (fcl & 0x0200) {
    MH_ASSIGN_OR_RETURN(size_t at, take(2, "AFL key information"));
    (void)at;
  }
  if (fcl & 0x0800) {
    MH_ASSIGN_OR_RETURN(size_t at, take(4, "AFL message counter"));
    u.afl_counter.emplace();
    std::copy(u.b.begin() + static_cast<std::ptrdiff_t>(at), u.b.begin() + static_cast<std::ptrdiff_t>(at + 4), u.afl_counter->begin());
  }
  if (fcl & 0x0400) {
    static constexpr size_t kMacLength[16] = {0, 0, 0, 2, 4, 8, 12, 16, 12, 0, 0, 0, 0, 0, 0, 0};
    const size_t mac_len = kMacLength[u.afl_mcl & 0x0F];
    if (mac_len == 0 || (u.afl_mcl & 0x0F) == 8) {
      return ByteError(u.Off(start + 2), "AFL message control", "authentication type " + std::to_string(u.afl_mcl & 0x0F) + " is not AES-CMAC");
    }
    MH_ASSIGN_OR_RETURN(size_t at, take(mac_len, "AFL MAC"));
    u.afl_mac.assign(u.b.begin() + static_cast<std::ptrdiff_t>(at), u.b.begin() + static_cast<std::ptrdiff_t>(at + mac_len));
    u.afl_mac_at = at;
  }
  if (fcl & 0x1000) {
    MH_ASSIGN_OR_RETURN(size_t at, take(2, "AFL message length"));
    u.afl_length = std::array<uint8_t, 2>{u.b[at], u.b[at + 1]};
  }
  u.afl = true;
  u.p = end;
  return Status::Ok();
}

void AddStatusFlags(uint8_t sts, std::vector<std::string>& out) {
  static const char* const kApplication[4] = {nullptr, "busy", "application_error", "alarm"};
  if (kApplication[sts & 3]) out.emplace_back(kApplication[sts & 3]);
  if (sts & 0x04) out.emplace_back("power_low");
  if (sts & 0x08) out.emplace_back("permanent_error");
  if (sts & 0x10) out.emplace_back("temporary_error");
  if (sts & 0xE0) out.emplace_back("manufacturer_status_0x" + HexByte(sts & 0xE0));
}

Status CheckDecrypted(const Unwrap& u, size_t at, const char* mode) {
  if (u.b[at] == 0x2F && u.b[at + 1] == 0x2F) return Status::Ok();
  return Unauthenticated("byte " + std::to_string(u.Off(at)) + " (" + mode +
                         "): wrong key: the decrypted data do not start with the 2F2F check bytes");
}

// A telegram sent encrypted but delivered in clear (by a receiver that decrypts, or recorded so
// for tests, as wmbusmeters' are) already starts with the 2F2F check bytes; without a key for it
// it is read as is and flagged "already_decrypted". With a key it is decrypted.
bool AlreadyDecrypted(Unwrap& u, size_t data_at) {
  if (data_at + 2 > u.b.size() || u.b[data_at] != 0x2F || u.b[data_at + 1] != 0x2F) return false;
  if (!u.keys.For(u.address).key.empty()) return false;
  u.already_decrypted = true;
  return true;
}

// The encrypted blocks the configuration word announces (bits 4..7; 0: every whole block).
Result<std::span<uint8_t>> EncryptedBlocks(Unwrap& u, size_t data_at, size_t cw_at, uint16_t cw) {
  const size_t blocks = (cw >> 4) & 0x0F;
  const size_t left = u.b.size() - data_at;
  const size_t length = blocks ? 16 * blocks : left - left % 16;
  if (length > left || length == 0) {
    return ByteError(u.Off(cw_at), "configuration word",
                     std::to_string(blocks) + " encrypted blocks announced, " + std::to_string(left) + " bytes follow");
  }
  return std::span<uint8_t>(u.b.data() + data_at, length);
}

Status DecryptCbc(std::span<const uint8_t> key, std::span<const uint8_t> iv, std::span<uint8_t> blocks) {
  MH_ASSIGN_OR_RETURN(crypto::Bytes plain, crypto::Aes128CbcDecrypt(key, iv, blocks));
  std::copy(plain.begin(), plain.end(), blocks.begin());
  return Status::Ok();
}

// Security mode 5: AES-128-CBC, IV = M || A || access number x 8.
Status DecryptMode5(Unwrap& u, size_t data_at, size_t cw_at, uint16_t cw, const uint8_t* m, const uint8_t* a, uint8_t acc) {
  MH_ASSIGN_OR_RETURN(std::span<uint8_t> enc, EncryptedBlocks(u, data_at, cw_at, cw));
  if (AlreadyDecrypted(u, data_at)) return Status::Ok();
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> key, u.KeyFor(u.address, cw_at, "configuration word, security mode 5"));
  std::array<uint8_t, 16> iv{};
  std::copy(m, m + 2, iv.begin());
  std::copy(a, a + 6, iv.begin() + 2);
  std::fill(iv.begin() + 8, iv.end(), acc);
  MH_RETURN_IF_ERROR(DecryptCbc(key, iv, enc));
  return CheckDecrypted(u, data_at, "security mode 5");
}

// Security mode 7 (OMS Vol. 2): Kenc = CMAC(K, 0x00 || counter || ID || 0x07 x 7), IV = 0; the
// AFL MAC, when present, is checked first with Kmac (derivation constant 0x01).
Status DecryptMode7(Unwrap& u, size_t tpl_at, size_t data_at, size_t cw_at, uint16_t cw, const uint8_t* id) {
  const uint8_t cfe = u.b[data_at - 1];
  if (((cfe >> 4) & 3) != 1) {
    return ByteError(u.Off(data_at - 1), "configuration field extension", "key derivation " + std::to_string((cfe >> 4) & 3) + " is not 1 (OMS)");
  }
  if (AlreadyDecrypted(u, data_at)) return Status::Ok();
  if (!u.afl_counter) return ByteError(u.Off(cw_at), "configuration word", "security mode 7 needs the AFL message counter (CI 0x90)");
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> key, u.KeyFor(u.address, cw_at, "configuration word, security mode 7"));
  std::array<uint8_t, 16> input{};
  std::copy(u.afl_counter->begin(), u.afl_counter->end(), input.begin() + 1);
  std::copy(id, id + 4, input.begin() + 5);
  std::fill(input.begin() + 9, input.end(), 0x07);
  MH_ASSIGN_OR_RETURN(crypto::AesBlock kenc, crypto::Aes128Cmac(key, input));
  if (!u.afl_mac.empty()) {
    input[0] = 0x01;
    MH_ASSIGN_OR_RETURN(crypto::AesBlock kmac, crypto::Aes128Cmac(key, input));
    std::vector<uint8_t> msg = {u.afl_mcl};
    msg.insert(msg.end(), u.afl_counter->begin(), u.afl_counter->end());
    if (u.afl_length) msg.insert(msg.end(), u.afl_length->begin(), u.afl_length->end());
    msg.insert(msg.end(), u.b.begin() + static_cast<std::ptrdiff_t>(tpl_at), u.b.end());
    MH_ASSIGN_OR_RETURN(crypto::AesBlock mac, crypto::Aes128Cmac(kmac, msg));
    if (!std::equal(u.afl_mac.begin(), u.afl_mac.end(), mac.begin())) {
      return Unauthenticated("byte " + std::to_string(u.Off(u.afl_mac_at)) +
                             " (AFL MAC): authentication tag mismatch: wrong key or altered telegram");
    }
  }
  MH_ASSIGN_OR_RETURN(std::span<uint8_t> enc, EncryptedBlocks(u, data_at, cw_at, cw));
  MH_RETURN_IF_ERROR(DecryptCbc(kenc, std::array<uint8_t, 16>{}, enc));
  return CheckDecrypted(u, data_at, "security mode 7");
}

std::string UnsupportedCi(uint8_t ci) {
  if (ci >= 0xA0 && ci <= 0xA3) return "CI 0x" + HexByte(ci) + " is a manufacturer-specific application layer (not decoded)";
  if (ci == 0x79) return "CI 0x79 is a manufacturer compact frame (not decoded)";
  return "CI 0x" + HexByte(ci) + " is not a supported transport layer (0x72, 0x7A, 0x78, ELL 0x8C..0x8F, AFL 0x90)";
}

// The transport layer at u.p (CI 0x72, 0x7A or 0x78): takes its address and status, decrypts
// what its security mode says; returns where the records start.
Result<size_t> ReadTransportHeader(Unwrap& u, std::vector<std::string>& status) {
  const size_t tpl_at = u.p;
  const uint8_t ci = u.b[tpl_at];
  if (ci == 0x78) return tpl_at + 1;
  if (ci != 0x72 && ci != 0x7A) return ByteError(u.Off(tpl_at), "CI field", UnsupportedCi(ci));
  const bool long_header = ci == 0x72;
  const size_t header = long_header ? 12 : 4;
  MH_RETURN_IF_ERROR(u.Need(1 + header, long_header ? "long transport header" : "short transport header"));
  const uint8_t* m = &u.b[2];
  const uint8_t* a = &u.b[4];
  if (long_header) {
    a = &u.b[tpl_at + 1];  // ID (4), then M, version, device type
    m = &u.b[tpl_at + 5];
    u.address = MeterAddress(m, a);
  }
  // The long header's address is ID, M, version, type; the IV wants M, then ID, version, type.
  std::array<uint8_t, 6> a6{};
  std::copy(a, a + 4, a6.begin());
  a6[4] = long_header ? u.b[tpl_at + 7] : u.b[8];
  a6[5] = long_header ? u.b[tpl_at + 8] : u.b[9];
  const size_t acc_at = tpl_at + header - 3;
  AddStatusFlags(u.b[acc_at + 1], status);
  const size_t cw_at = acc_at + 2;
  const uint16_t cw = static_cast<uint16_t>(u.b[cw_at] | u.b[cw_at + 1] << 8);
  size_t data_at = tpl_at + 1 + header;
  const int mode = (cw >> 8) & 0x1F;
  if (mode == 5) {
    MH_RETURN_IF_ERROR(DecryptMode5(u, data_at, cw_at, cw, m, a6.data(), u.b[acc_at]));
  } else if (mode == 7) {
    MH_RETURN_IF_ERROR(u.Need(1 + header + 1, "configuration field extension"));
    ++data_at;
    MH_RETURN_IF_ERROR(DecryptMode7(u, tpl_at, data_at, cw_at, cw, a));
  } else if (mode != 0) {
    return ByteError(u.Off(cw_at + 1), "configuration word", "security mode " + std::to_string(mode) + " is not supported (0, 5 and 7 are)");
  }
  return data_at;
}

}  // namespace

Result<ApplicationData> ReadTransport(const Telegram& telegram, const DecodeKeys& keys) {
  Unwrap u(telegram, keys);
  if (u.b.size() <= kCiOffset) return ByteError(u.Off(u.b.size()), "CI field", "truncated: the telegram ends before its CI field");
  u.dll_address = u.address = MeterAddress(&u.b[2], &u.b[4]);
  ApplicationData out;
  out.status = telegram.status;
  while (true) {
    MH_RETURN_IF_ERROR(u.Need(1, "CI field"));
    const uint8_t ci = u.b[u.p];
    if (ci >= 0x8C && ci <= 0x8F) {
      MH_RETURN_IF_ERROR(ReadEll(u));
    } else if (ci == 0x90) {
      if (u.afl) return ByteError(u.Off(u.p), "CI field", "a second AFL");
      MH_RETURN_IF_ERROR(ReadAfl(u));
    } else {
      break;
    }
  }
  MH_ASSIGN_OR_RETURN(const size_t data_at, ReadTransportHeader(u, out.status));
  out.address = u.address;
  if (u.already_decrypted) out.status.push_back("already_decrypted");
  out.bytes.assign(u.b.begin() + static_cast<std::ptrdiff_t>(data_at), u.b.end());
  out.origin.reserve(out.bytes.size());
  for (size_t i = data_at; i < u.b.size(); ++i) out.origin.push_back(static_cast<uint16_t>(u.Off(i)));
  return out;
}

}  // namespace mh::codec::wmbus
