#include "gateway/gateway.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "codec/dlms/dlms.h"
#include "codec/meter/channels.h"
#include "crypto/crypto.h"
#include "gateway/stream_frames.h"
#include "http/server.h"

namespace mh::gateway {
namespace {

constexpr size_t kMaxLineId = 64;               // a registration line longer than this is not one
constexpr size_t kMaxBuffered = 256 * 1024;     // unread bytes kept per connection

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

Result<int> Listen(const std::string& address, int* bound_port) {
  std::string host;
  int port = 0;
  MH_RETURN_IF_ERROR(http::ParseListenAddress(address, &host, &port));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return InvalidArgument("gateway: cannot resolve " + address + ": " + gai_strerror(rc));
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const bool ok = fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, 512) == 0;
  freeaddrinfo(found);
  if (!ok) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return Unavailable("gateway: cannot listen on " + address + ": " + why);
  }
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *bound_port = ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  SetNonBlocking(fd);
  return fd;
}

// A binary id as uppercase hex (the way DTU vendors print IMEIs and serial numbers).
std::string HexId(std::span<const uint8_t> bytes) {
  std::string hex = crypto::HexEncode(bytes);
  std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return hex;
}

}  // namespace

struct Gateway::Connection {
  int fd = -1;
  bool dlms = false;
  std::string peer;
  int64_t last_rx_ms = 0;
  std::vector<uint8_t> in, out;
  std::unique_ptr<DtuPoller> poller;  // DTU, once registered
  int64_t refreshed_ms = 0;
  std::string last_meter;             // DLMS: the meter this connection last pushed for
  bool closed = false;
};

Gateway::Gateway(GatewayOptions options, MeterDirectory* directory, ReadingSink* sink, const Clock& clock,
                 std::shared_ptr<const codec::DecodeKeys> keys)
    : options_(std::move(options)),
      directory_(directory),
      sink_(sink),
      clock_(clock),
      keys_(keys ? std::move(keys) : std::make_shared<const codec::DecodeKeys>()) {}

Gateway::~Gateway() { Stop(); }

Status Gateway::Start() {
  if (!options_.listen.empty()) {
    MH_ASSIGN_OR_RETURN(listener_, Listen(options_.listen, &port_));
  }
  if (!options_.dlms_listen.empty()) {
    MH_ASSIGN_OR_RETURN(dlms_listener_, Listen(options_.dlms_listen, &dlms_port_));
  }
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) return Internal("gateway: pipe: " + std::string(std::strerror(errno)));
  thread_ = std::thread([this] { Loop(); });
  spdlog::info("gateway: DTUs on port {}, DLMS pushes on port {} (0 = off)", port_, dlms_port_);
  return Status::Ok();
}

void Gateway::Stop() {
  if (thread_.joinable()) {
    stopping_ = true;
    const char b = 0;
    (void)!write(wake_[1], &b, 1);
    thread_.join();
  }
  for (auto& c : connections_) Close(*c, "gateway stopping", /*quiet=*/true);
  connections_.clear();
  for (int fd : {listener_, dlms_listener_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
  listener_ = dlms_listener_ = wake_[0] = wake_[1] = -1;
}

void Gateway::Loop() {
  std::vector<pollfd> fds;
  while (!stopping_) {
    int64_t now_ms = clock_.NowMillis();
    // Polling first: what is due is sent before we sleep.
    int64_t wake_ms = now_ms + 1000;
    for (auto& c : connections_) {
      if (c->poller) {
        if (now_ms - c->refreshed_ms >= directory_refresh_ms()) Refresh(*c, now_ms);
        for (std::vector<uint8_t> out = c->poller->Step(now_ms, clock_.NowSeconds()); !out.empty();
             out = c->poller->Step(now_ms, clock_.NowSeconds())) {
          c->out.insert(c->out.end(), out.begin(), out.end());
        }
        wake_ms = std::min(wake_ms, c->poller->NextWakeMs());
      }
      if (!c->out.empty()) Flush(*c);
      if (now_ms - c->last_rx_ms >= options_.idle_timeout_s * 1000) Close(*c, "idle");
      wake_ms = std::min(wake_ms, c->last_rx_ms + options_.idle_timeout_s * 1000);
    }
    std::erase_if(connections_, [](const auto& c) { return c->closed; });

    fds.clear();
    fds.push_back({wake_[0], POLLIN, 0});
    if (listener_ >= 0) fds.push_back({listener_, POLLIN, 0});
    if (dlms_listener_ >= 0) fds.push_back({dlms_listener_, POLLIN, 0});
    const size_t first = fds.size();
    for (auto& c : connections_) {
      fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
    }
    const int timeout = static_cast<int>(std::clamp<int64_t>(wake_ms - now_ms, 0, 1000));
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      spdlog::error("gateway: poll: {}", std::strerror(errno));
      return;
    }
    now_ms = clock_.NowMillis();
    for (size_t i = 1; i < first; ++i) {
      if (fds[i].revents & POLLIN) Accept(fds[i].fd, fds[i].fd == dlms_listener_);
    }
    for (size_t i = first; i < fds.size(); ++i) {
      Connection& c = *connections_[i - first];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!ReadFrom(c, now_ms)) continue;
      }
      if (fds[i].revents & POLLOUT) Flush(c);
    }
    std::erase_if(connections_, [](const auto& c) { return c->closed; });
  }
}

void Gateway::Accept(int listener, bool dlms) {
  for (;;) {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&sa)->sin_addr, host, sizeof host);
    if (sa.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&sa)->sin6_addr, host, sizeof host);
    if (static_cast<int>(connections_.size()) >= options_.max_connections) {
      spdlog::warn("gateway: refusing {} ({} connections, gateway.max_connections)", host, connections_.size());
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->dlms = dlms;
    c->peer = host;
    c->last_rx_ms = clock_.NowMillis();
    if (dlms) ++counters_.dlms_connections;
    connections_.push_back(std::move(c));
  }
}

bool Gateway::ReadFrom(Connection& c, int64_t now_ms) {
  uint8_t buf[16 * 1024];
  for (;;) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      Close(c, n == 0 ? "closed by peer" : std::strerror(errno));
      return false;
    }
    if (n < 0) return true;
    c.last_rx_ms = now_ms;
    if (c.poller) {
      c.poller->Received({buf, static_cast<size_t>(n)}, now_ms, clock_.NowSeconds());
      continue;
    }
    c.in.insert(c.in.end(), buf, buf + n);
    if (c.in.size() > kMaxBuffered) {
      Close(c, "too many unread bytes");
      return false;
    }
    if (c.dlms) {
      DlmsPushes(c);
    } else if (!Register(c, now_ms)) {
      return false;
    }
    if (c.closed) return false;
  }
}

// The registration packet; bytes after it are the DTU's first answer bytes (none are expected).
bool Gateway::Register(Connection& c, int64_t now_ms) {
  std::string id;
  size_t used = 0;
  if (options_.registration.kind == Registration::Kind::kLine) {
    auto nl = std::find(c.in.begin(), c.in.end(), uint8_t{'\n'});
    if (nl == c.in.end()) {
      if (c.in.size() > kMaxLineId) Close(c, "no registration line within " + std::to_string(kMaxLineId) + " bytes");
      return !c.closed;
    }
    id.assign(c.in.begin(), nl);
    used = static_cast<size_t>(nl - c.in.begin()) + 1;
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    if (id.empty() || id.size() > kMaxLineId ||
        !std::all_of(id.begin(), id.end(), [](char ch) { return ch > ' ' && ch < 127; })) {
      Close(c, "registration line is not a printable id");
      return false;
    }
  } else {
    const size_t n = static_cast<size_t>(options_.registration.bytes);
    if (c.in.size() < n) return true;
    id = HexId({c.in.data(), n});
    used = n;
  }
  c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(used));
  c.poller = std::make_unique<DtuPoller>(id, options_, sink_, &counters_);
  ++counters_.dtus;
  Refresh(c, now_ms);
  spdlog::info("gateway: DTU {} registered from {} ({} meters to poll)", id, c.peer, c.poller->meter_count());
  c.in.clear();
  return true;
}

int64_t Gateway::directory_refresh_ms() const {
  return options_.poll_interval_s > 0 ? std::min(options_.poll_interval_s * 1000, kDirectoryRefreshMs) : kDirectoryRefreshMs;
}

void Gateway::Refresh(Connection& c, int64_t now_ms) {
  c.refreshed_ms = now_ms;
  Result<std::vector<GatewayMeter>> meters = directory_->MetersBehind(c.poller->dtu_id());
  if (!meters.ok()) {
    spdlog::error("gateway: meters behind DTU {}: {}", c.poller->dtu_id(), meters.status().ToString());
    return;
  }
  c.poller->SetMeters(std::move(*meters), now_ms);
}

void Gateway::DlmsPushes(Connection& c) {
  for (;;) {
    const FrameCut cut = CutWrapperPdu(c.in);
    if (cut.length == SIZE_MAX) return Close(c, "not an IEC 62056-47 wrapper PDU (length over 64 KiB)");
    if (cut.length == 0) return;
    std::vector<uint8_t> pdu(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(cut.length));
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(cut.length));
    Result<codec::DecodedFrame> frame = codec::DecodeDlms(pdu, *keys_);
    // A ciphered push that does not decipher (no key, a wrong one) still names its meter in clear.
    const std::optional<std::string> address = frame.ok() ? frame->address : codec::DlmsSystemTitle(pdu);
    std::optional<GatewayMeter> meter;
    if (address && !address->empty()) {
      Result<std::optional<GatewayMeter>> found = directory_->MeterByAddress("dlms", *address);
      if (!found.ok()) {
        spdlog::error("gateway: DLMS push from {}: {}", c.peer, found.status().ToString());
        continue;
      }
      meter = std::move(*found);
    }
    if (!frame.ok() || !meter) {
      // A rejected raw frame of its meter, else of the meter the connection last pushed for: the
      // shard's owner decodes it again (with the same keys) and keeps the decoder's error.
      ++counters_.corrupt;
      if (meter) c.last_meter = meter->meter_id;
      if (c.last_meter.empty()) {
        ++counters_.dlms_unknown;
        spdlog::warn("gateway: DLMS push from {} dropped: {}", c.peer,
                     !frame.ok() ? frame.status().message()
                     : !address || address->empty() ? "the push names no meter (no system title or logical device name)"
                                                    : "no meter is registered with dlms address " + *address);
      } else if (Status s = sink_->Reject(c.last_meter, "dlms", pdu); !s.ok()) {
        spdlog::error("gateway: could not hand on the DLMS push from {}: {}", c.peer, s.ToString());
      }
      continue;
    }
    c.last_meter = meter->meter_id;
    ++counters_.dlms_pushes;
    std::vector<Reading> readings = codec::RegisterReadings(
        "dlms", meter->meter_id, frame->registers, codec::ReadingStamp(clock_.NowSeconds(), meter->interval_s));
    if (readings.empty()) continue;
    const int64_t n = static_cast<int64_t>(readings.size());
    if (Status s = sink_->Deliver(readings); s.ok()) {
      counters_.readings += n;
    } else {
      counters_.deliver_failed += n;
      spdlog::error("gateway: readings of DLMS meter {} not delivered: {}", meter->meter_id, s.ToString());
    }
  }
}

void Gateway::Flush(Connection& c) {
  while (!c.out.empty() && !c.closed) {
    const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return Close(c, std::strerror(errno));
    }
    c.out.erase(c.out.begin(), c.out.begin() + n);
  }
}

void Gateway::Close(Connection& c, const std::string& why, bool quiet) {
  if (c.closed) return;
  c.closed = true;
  if (quiet) {
    if (c.poller) --counters_.dtus;
    if (c.dlms) --counters_.dlms_connections;
  } else if (c.poller) {
    c.poller->Abandon();
    --counters_.dtus;
    spdlog::info("gateway: DTU {} ({}) disconnected: {}", c.poller->dtu_id(), c.peer, why);
  } else if (c.dlms) {
    --counters_.dlms_connections;
    spdlog::debug("gateway: DLMS connection from {} closed: {}", c.peer, why);
  } else {
    spdlog::info("gateway: unregistered connection from {} closed: {}", c.peer, why);
  }
  close(c.fd);
  c.fd = -1;
}

}  // namespace mh::gateway
