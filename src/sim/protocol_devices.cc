#include "sim/protocol_devices.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sys/stat.h>

#include "codec/cjt188/cjt188.h"
#include "codec/dlt645/dlt645.h"
#include "codec/meter/keys_file.h"
#include "crypto/aes128.h"
#include "crypto/crypto.h"
#include "ingest/device_topics.h"
#include "gateway/stream_frames.h"

namespace mh::sim {
namespace {

// `digits` BCD digits of round(value x 10^decimals), least significant byte first.
std::vector<uint8_t> Bcd(double value, int decimals, int bytes) {
  uint64_t n = static_cast<uint64_t>(std::llround(std::max(0.0, value) * std::pow(10.0, decimals)));
  std::vector<uint8_t> out;
  for (int i = 0; i < bytes; ++i, n /= 100) {
    const unsigned two = static_cast<unsigned>(n % 100);
    out.push_back(static_cast<uint8_t>((two / 10) << 4 | two % 10));
  }
  return out;
}

Result<int> Connect(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return Unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (!ok) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Unavailable("cannot connect to " + host + ":" + std::to_string(port) + ": " + why);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::vector<uint8_t> Dlt645ReadAnswer(const std::string& address, const std::string& di_hex, double value) {
  std::vector<uint8_t> data;
  for (int i = 3; i >= 0; --i) data.push_back(static_cast<uint8_t>(std::stoul(di_hex.substr(static_cast<size_t>(i) * 2, 2), nullptr, 16)));
  for (uint8_t b : Bcd(value, 2, 4)) data.push_back(b);
  auto wire = codec::dlt645::AddressBytes(address);
  return codec::dlt645::EncodeFrame(wire.ok() ? *wire : std::array<uint8_t, 6>{}, 0x91, data);
}

std::vector<uint8_t> Cjt188ReadAnswer(const std::string& address, double volume_m3, uint8_t ser) {
  std::vector<uint8_t> data = {0x1f, 0x90, ser};
  for (int i = 0; i < 2; ++i) {  // current, then settlement-date volume (the same here)
    for (uint8_t b : Bcd(volume_m3, 2, 4)) data.push_back(b);
    data.push_back(0x2c);        // m³
  }
  data.insert(data.end(), 7, 0);  // no real time: the head-end stamps the reading
  data.insert(data.end(), {0x00, 0x00});
  auto wire = codec::cjt188::AddressBytes(address);
  return codec::cjt188::EncodeFrame(codec::cjt188::kColdWater, wire.ok() ? *wire : std::array<uint8_t, 7>{}, 0x81, data);
}

namespace {

// The data-notification APDU of DlmsPush.
std::vector<uint8_t> DlmsNotification(const std::string& name, uint32_t import_wh) {
  std::vector<uint8_t> apdu;
  // (push_back, not insert of braced lists: GCC 12 warns falsely about those.)
  auto put = [&apdu](std::initializer_list<uint8_t> bytes) {
    for (uint8_t b : bytes) apdu.push_back(b);
  };
  put({0x0f, 0x00, 0x00, 0x00, 0x01, 0x00});  // data-notification, invoke id, no date-time
  put({0x02, 0x05});                          // structure of 5
  put({0x09, 0x06, 0x00, 0x00, 0x2a, 0x00, 0x00, 0xff, 0x09, static_cast<uint8_t>(name.size())});
  for (char c : name) apdu.push_back(static_cast<uint8_t>(c));
  put({0x09, 0x06, 0x01, 0x00, 0x01, 0x08, 0x00, 0xff, 0x06});
  for (int shift = 24; shift >= 0; shift -= 8) apdu.push_back(static_cast<uint8_t>(import_wh >> shift));
  put({0x02, 0x02, 0x0f, 0x00, 0x16, 0x1e});  // scaler 0, unit Wh
  return apdu;
}

// An APDU in the IEC 62056-47 wrapper: version 1, wPorts 1 and 1, length.
std::vector<uint8_t> Wrapped(const std::vector<uint8_t>& apdu) {
  std::vector<uint8_t> pdu;
  pdu.reserve(8 + apdu.size());
  for (uint8_t b : {0x00, 0x01, 0x00, 0x01, 0x00, 0x01}) pdu.push_back(b);
  pdu.push_back(static_cast<uint8_t>(apdu.size() >> 8));
  pdu.push_back(static_cast<uint8_t>(apdu.size()));
  pdu.insert(pdu.end(), apdu.begin(), apdu.end());
  return pdu;
}

}  // namespace

std::vector<uint8_t> DlmsPush(const std::string& name, uint32_t import_wh) { return Wrapped(DlmsNotification(name, import_wh)); }

Result<std::vector<uint8_t>> DlmsCipheredPush(const std::string& name, uint32_t import_wh, const std::string& system_title_hex,
                                              const std::string& key_hex, const std::string& auth_key_hex,
                                              uint32_t invocation_counter) {
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> title, crypto::HexDecode(system_title_hex));
  if (title.size() != 8) return InvalidArgument("DLMS system title '" + system_title_hex + "' is not 8 bytes");
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> key, codec::ParseAesKey(key_hex));
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> auth_key, codec::ParseAesKey(auth_key_hex));
  constexpr uint8_t kSecurityControl = 0x30;  // suite 0, authenticated and encrypted
  std::array<uint8_t, 12> iv{};               // system title || invocation counter
  std::copy(title.begin(), title.end(), iv.begin());
  for (int i = 0; i < 4; ++i) iv[8 + i] = static_cast<uint8_t>(invocation_counter >> (24 - 8 * i));
  std::vector<uint8_t> aad = {kSecurityControl};
  aad.insert(aad.end(), auth_key.begin(), auth_key.end());
  MH_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, crypto::Aes128GcmSeal(key, iv, DlmsNotification(name, import_wh), aad, 12));
  std::vector<uint8_t> apdu = {0xdb, 0x08};  // general-glo-ciphering, system title length
  apdu.insert(apdu.end(), title.begin(), title.end());
  const size_t length = 5 + sealed.size();
  if (length > 127) apdu.push_back(0x81);   // the A-XDR length: one byte up to 127, else 0x81 + one
  apdu.push_back(static_cast<uint8_t>(length));
  apdu.push_back(kSecurityControl);
  apdu.insert(apdu.end(), iv.begin() + 8, iv.end());
  apdu.insert(apdu.end(), sealed.begin(), sealed.end());
  return Wrapped(apdu);
}

SimDtu::SimDtu(std::string registration, std::vector<SimProtocolMeter> meters)
    : registration_(std::move(registration)),
      meters_(std::move(meters)),
      last_(meters_.size(), 0.0),
      disconnected_(meters_.size(), false) {}

SimDtu::~SimDtu() { Stop(); }

Status SimDtu::Start(const std::string& host, int port, int reconnect_ms) {
  MH_ASSIGN_OR_RETURN(int fd, Connect(host, port));
  close(fd);  // the address works; the thread makes the real connections
  thread_ = std::thread([this, host, port, reconnect_ms] { Run(host, port, reconnect_ms); });
  return Status::Ok();
}

void SimDtu::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

double SimDtu::last_value(const std::string& address) const {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < meters_.size(); ++i) {
    if (meters_[i].address == address) return last_[i];
  }
  return 0;
}

void SimDtu::Run(std::string host, int port, int reconnect_ms) {
  while (!stopping_) {
    Result<int> fd = Connect(host, port);
    if (fd.ok()) {
      ++connects_;
      std::vector<uint8_t> in;
      bool up = SendAll(*fd, std::vector<uint8_t>(registration_.begin(), registration_.end()));
      while (up && !stopping_) {
        pollfd p{*fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        uint8_t buf[4096];
        const ssize_t n = read(*fd, buf, sizeof buf);
        if (n <= 0) break;
        in.insert(in.end(), buf, buf + n);
        up = Serve(*fd, in);
      }
      close(*fd);
    }
    for (int waited = 0; waited < reconnect_ms && !stopping_; waited += 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool SimDtu::Serve(int fd, std::vector<uint8_t>& in) {
  for (;;) {
    const auto start = std::find(in.begin(), in.end(), uint8_t{0x68});
    in.erase(in.begin(), start);
    if (in.size() < 11) return true;
    const std::string protocol = in[7] == 0x68 ? "dlt645" : "cjt188";
    const gateway::FrameCut cut = gateway::CutMeterFrame(protocol, in);
    if (cut.length == 0) return true;
    std::vector<uint8_t> frame(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut.length));
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(cut.length));
    ++requests_;
    std::string address, di;
    uint8_t ser = 0;
    if (protocol == "dlt645") {
      auto f = codec::dlt645::ParseFrame(frame);
      if (!f.ok() || f->control != 0x11 || f->data.size() != 4) continue;
      address = f->address;
      const std::array<uint8_t, 4> di_bytes = {f->data[3], f->data[2], f->data[1], f->data[0]};  // DI0 first on the wire
      di = crypto::HexEncode(di_bytes);
    } else {
      auto f = codec::cjt188::ParseFrame(frame);
      if (!f.ok() || f->data.size() < 3) continue;
      address = f->address;
      ser = f->data[2];
    }
    std::unique_lock lock(mu_);
    SimProtocolMeter* m = Find(protocol, address);
    if (m == nullptr || m->behaviour == MeterBehaviour::kSilent) continue;
    const size_t i = static_cast<size_t>(m - meters_.data());
    if (m->behaviour == MeterBehaviour::kDisconnect && !disconnected_[i]) {
      disconnected_[i] = true;
      return false;
    }
    std::vector<uint8_t> answer = protocol == "dlt645" ? Dlt645ReadAnswer(address, di, m->value)
                                                       : Cjt188ReadAnswer(address, m->value, ser);
    if (m->behaviour == MeterBehaviour::kCorrupt) {
      answer[answer.size() - 2] ^= 0x5a;  // the checksum
    } else {
      last_[i] = m->value;
      m->value += m->step;
      ++answers_;
    }
    lock.unlock();
    if (!SendAll(fd, answer)) return false;
  }
}

SimProtocolMeter* SimDtu::Find(const std::string& protocol, const std::string& address) {
  for (SimProtocolMeter& m : meters_) {
    if (m.protocol == protocol && m.address == address) return &m;
  }
  return nullptr;
}

Result<int> SendPdus(const std::string& host, int port, const std::vector<std::vector<uint8_t>>& pdus, int interval_ms) {
  MH_ASSIGN_OR_RETURN(int fd, Connect(host, port));
  int sent = 0;
  for (const std::vector<uint8_t>& pdu : pdus) {
    if (sent > 0 && interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    if (!SendAll(fd, pdu)) break;
    ++sent;
  }
  close(fd);
  return sent;
}

Result<int> PushDlms(const std::string& host, int port, const std::string& name, uint32_t first_wh, uint32_t step_wh,
                     int count, int interval_ms) {
  std::vector<std::vector<uint8_t>> pdus;
  for (int i = 0; i < count; ++i) pdus.push_back(DlmsPush(name, first_wh + step_wh * static_cast<uint32_t>(i)));
  return SendPdus(host, port, pdus, interval_ms);
}

Result<std::vector<uint8_t>> WmbusTelegram(const std::string& id, double volume_m3, uint8_t access,
                                           const std::string& key_hex) {
  if (id.size() != 8 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return InvalidArgument("wM-Bus meter id '" + id + "' is not 8 decimal digits");
  // L, C (SND_NR), M = "MHU", ID (BCD, least significant byte first), version 1, type 7 (water).
  std::vector<uint8_t> t = {0x00, 0x44, 0x15, 0x35};
  for (int i = 3; i >= 0; --i) t.push_back(static_cast<uint8_t>((id[static_cast<size_t>(i) * 2] - '0') << 4 | (id[static_cast<size_t>(i) * 2 + 1] - '0')));
  t.push_back(0x01);
  t.push_back(0x07);
  // Records: the 2F2F check bytes, then the volume (DIF 0C: 8 BCD digits; VIF 13: litres).
  std::vector<uint8_t> records = {0x2f, 0x2f, 0x0c, 0x13};
  for (uint8_t b : Bcd(volume_m3, 3, 4)) records.push_back(b);
  uint16_t cw = 0;
  if (!key_hex.empty()) {
    MH_ASSIGN_OR_RETURN(std::vector<uint8_t> key, codec::ParseAesKey(key_hex));
    records.resize((records.size() + 15) / 16 * 16, 0x2f);  // filler to whole blocks
    const size_t blocks = records.size() / 16;
    cw = static_cast<uint16_t>(0x0500 | blocks << 4);
    // IV = M || ID || version || type || access number x 8.
    std::array<uint8_t, 16> iv{};
    std::copy(t.begin() + 2, t.begin() + 10, iv.begin());
    std::fill(iv.begin() + 8, iv.end(), access);
    MH_ASSIGN_OR_RETURN(records, crypto::Aes128CbcEncrypt(key, iv, records));
  }
  for (uint8_t b : {uint8_t{0x7a}, access, uint8_t{0x00}, static_cast<uint8_t>(cw), static_cast<uint8_t>(cw >> 8)}) t.push_back(b);
  t.insert(t.end(), records.begin(), records.end());
  t[0] = static_cast<uint8_t>(t.size() - 1);
  return t;
}

SimWmbusReceiver::SimWmbusReceiver(std::string receiver_id, std::vector<SimWmbusMeter> meters)
    : id_(std::move(receiver_id)), meters_(std::move(meters)) {}

Status SimWmbusReceiver::WriteKeysFile(const std::string& path) const {
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return Unavailable("cannot write " + path);
    out << "address,key\n";
    for (const SimWmbusMeter& m : meters_) {
      if (!m.key_hex.empty()) out << AddressOf(m) << "," << m.key_hex << "\n";
    }
    if (!out.flush()) return Unavailable("cannot write " + path);
  }
  if (::chmod(path.c_str(), 0600) != 0) return Unavailable("cannot chmod 600 " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

Result<int> SimWmbusReceiver::Round(const Publish& publish) {
  const std::string topic = ingest::DeviceTopic(id_, "raw/wmbus");
  ++access_;
  int sent = 0;
  for (SimWmbusMeter& m : meters_) {
    MH_ASSIGN_OR_RETURN(std::vector<uint8_t> telegram, WmbusTelegram(m.id, m.volume_m3, access_, m.key_hex));
    if (m.corrupt) telegram[0] = static_cast<uint8_t>(telegram[0] + 3);  // announces bytes that never come
    MH_RETURN_IF_ERROR(publish(topic, crypto::HexEncode(telegram)));
    m.volume_m3 += m.step_m3;
    ++sent;
    ++telegrams_;
  }
  return sent;
}

}  // namespace mh::sim
