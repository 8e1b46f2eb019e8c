// Real local peers for the alerts tests, each on 127.0.0.1 and a free port: an HTTP server
// (webhook receiver, SMS gateway) and a minimal SMTP sink that captures what it is sent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "alerts/channels/webhook_channel.h"
#include "store/records.h"

namespace mh::alerts::testing {

// Webhook options for the loopback peers here: the address rule (terminal_address.h) is for
// customers' URLs, and these tests exercise everything else.
inline WebhookOptions LoopbackWebhook(WebhookOptions o = {}) {
  o.allow_private = true;
  return o;
}

// The alert every channel test sends: M1 read 203 kWh, 12.5 in the period against T1 = 10.
inline store::AlertRecord SampleAlert(int64_t id) {
  store::AlertRecord a;
  a.id = id;
  a.meter_id = "M1";
  a.period_start = 1603900800;
  a.ts = 1603983600;
  a.reading = 203;
  a.period_consumption = 12.5;
  a.threshold = 10;
  a.excess = 2.5;
  return a;
}

class LocalHttpServer {
 public:
  explicit LocalHttpServer(const std::function<void(httplib::Server&)>& routes) {
    routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalHttpServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A port on 127.0.0.1 nothing listens on (bound, read, closed: connections are refused).
inline int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The replies the sink gives; each is a whole reply line without CRLF.
struct SmtpSinkReplies {
  std::string greeting = "220 sink.test ESMTP MeterHub test sink";
  std::string ehlo = "250 sink.test";
  std::string mail = "250 2.1.0 OK";
  std::string rcpt = "250 2.1.5 OK";
  std::string data_end = "250 2.0.0 OK queued";
};

// Speaks just enough SMTP for one client at a time: 220, EHLO/HELO 250, MAIL 250, RCPT 250,
// DATA 354 … "." 250, QUIT 221. Captures the envelope and the message (dot-unstuffed).
class SmtpSink {
 public:
  struct Mail {
    std::string helo;
    std::string mail_from;              // the argument of MAIL FROM:, e.g. "<a@b> SIZE=12"
    std::vector<std::string> rcpt_to;   // arguments of RCPT TO:
    std::string data;                   // lines joined with CRLF, ending in CRLF
  };

  explicit SmtpSink(SmtpSinkReplies replies = {}) : replies_(std::move(replies)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SmtpSink() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  std::string Url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<Mail> mails() {
    std::lock_guard<std::mutex> lock(mu_);
    return mails_;
  }
  std::vector<std::string> commands() {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      Converse(fd);
      ::close(fd);
    }
  }

  // The next CRLF-terminated line (without CRLF); false on EOF, error or stop.
  bool ReadLine(int fd, std::string* line) {
    while (true) {
      size_t eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        *line = buffer_.substr(0, eol);
        buffer_.erase(0, eol + 2);
        return true;
      }
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 20);
      if (stop_) return false;
      if (r <= 0) continue;
      char chunk[4096];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  static void Reply(int fd, const std::string& line) {
    std::string out = line + "\r\n";
    ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }

  static bool StartsWithNoCase(const std::string& s, const std::string& prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    }
    return true;
  }

  void Converse(int fd) {
    buffer_.clear();
    Mail mail;
    Reply(fd, replies_.greeting);
    std::string line;
    while (ReadLine(fd, &line)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        commands_.push_back(line);
      }
      if (StartsWithNoCase(line, "EHLO") || StartsWithNoCase(line, "HELO")) {
        mail.helo = line.substr(std::min<size_t>(5, line.size()));
        Reply(fd, replies_.ehlo);
      } else if (StartsWithNoCase(line, "MAIL FROM:")) {
        mail.mail_from = line.substr(10);
        Reply(fd, replies_.mail);
      } else if (StartsWithNoCase(line, "RCPT TO:")) {
        mail.rcpt_to.push_back(line.substr(8));
        Reply(fd, replies_.rcpt);
      } else if (StartsWithNoCase(line, "DATA")) {
        Reply(fd, "354 End data with <CR><LF>.<CR><LF>");
        std::string data;
        while (ReadLine(fd, &line) && line != ".") {
          if (!line.empty() && line[0] == '.') line.erase(0, 1);  // RFC 5321 4.5.2 transparency
          data += line + "\r\n";
        }
        mail.data = data;
        {
          std::lock_guard<std::mutex> lock(mu_);
          mails_.push_back(mail);
        }
        mail = Mail{mail.helo, {}, {}, {}};
        Reply(fd, replies_.data_end);
      } else if (StartsWithNoCase(line, "RSET") || StartsWithNoCase(line, "NOOP")) {
        Reply(fd, "250 2.0.0 OK");
      } else if (StartsWithNoCase(line, "QUIT")) {
        Reply(fd, "221 2.0.0 Bye");
        return;
      } else {
        Reply(fd, "502 5.5.2 Command not implemented");
      }
    }
  }

  const SmtpSinkReplies replies_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::string buffer_;  // only the serving thread
  std::mutex mu_;
  std::vector<Mail> mails_;          // guarded by mu_
  std::vector<std::string> commands_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace mh::alerts::testing
