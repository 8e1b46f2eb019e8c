// The HTTP server against real sockets on 127.0.0.1: routing, body limits (chunked too), slow
// clients that must not stall anyone else, deadlines, connection caps and ports held elsewhere.
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

namespace mh::http {
namespace {

using namespace std::chrono_literals;

// A raw TCP connection from `source` (any 127.x.y.z) to the server.
int Connect(int port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool SendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// Whether the server closed this connection (EOF or reset) within `wait`.
bool ClosedWithin(int fd, std::chrono::milliseconds wait) {
  timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

class ServerTest : public ::testing::Test {
 protected:
  void StartWith(ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<Server>(o);
    server_->Get("/hello", [](const Request& req, Response& res) {
      res.set_content("hello " + req.get_param_value("name"), "text/plain");
    });
    server_->Get(R"(/items/([a-z]+)/(\d+))", [](const Request& req, Response& res) {
      res.set_content(req.matches[1] + "#" + req.matches[2], "text/plain");
    });
    server_->Post("/echo", [](const Request& req, Response& res) {
      res.status = 201;
      res.set_content(std::to_string(req.body.size()) + ":" + req.get_header_value("X-Tag"), "text/plain");
    });
    server_->Get("/slow", [](const Request&, Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("slow", "text/plain");
    });
    server_->Get("/throw", [](const Request&, Response&) { throw std::runtime_error("boom"); });
    server_->Post("/upload", [](const Request& req, Response& res) { res.set_content(std::to_string(req.body.size()), "text/plain"); });
    server_->SetBodyLimit("POST", "/upload", 3000);
    server_->Post("/gated", [this](const Request& req, Response& res) {
      ++gated_handled_;
      res.set_content(std::to_string(req.body.size()), "text/plain");
    });
    server_->SetBodyLimit("POST", "/gated", 3000, [](const Request& req, Response& res) {
      if (req.get_header_value("X-Key") != "open") {
        res.status = 401;
        res.set_content("no key\n", "text/plain");
      }
    });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }
  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::atomic<int> gated_handled_{0};
};

TEST_F(ServerTest, RoutesWithParamsGroupsAndErrors) {
  StartWith({});
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Get("/hello?name=w%C3%B6rld");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello wörld");
  r = c.Get("/items/abc/42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "abc#42");
  r = c.Post("/echo", httplib::Headers{{"X-Tag", "t1"}}, std::string(1000, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "1000:t1");
  r = c.Get("/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Delete("/hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  r = c.Get("/throw");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(ServerTest, BodyLimitHoldsForContentLengthAndChunkedBodies) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  StartWith(o);
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/echo", std::string(1001, 'x'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  // Chunked: no Content-Length, 3 chunks of 600 bytes.
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "258\r\n" + std::string(600, 'y') + "\r\n";
  req += "0\r\n\r\n";
  ASSERT_TRUE(SendAll(fd, req));
  std::string answer = ReadAll(fd);
  ::close(fd);
  EXPECT_NE(answer.find(" 413 "), std::string::npos) << answer.substr(0, 200);

  // A chunked body under the limit is accepted whole.
  fd = Connect(port_);
  req = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  req += "1f4\r\n" + std::string(500, 'z') + "\r\n0\r\n\r\n";
  ASSERT_TRUE(SendAll(fd, req));
  answer = ReadAll(fd);
  ::close(fd);
  EXPECT_NE(answer.find(" 201 "), std::string::npos);
  EXPECT_NE(answer.find("500:"), std::string::npos);
}

TEST_F(ServerTest, AnUploadRouteHasItsOwnBodyLimit) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  StartWith(o);
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/upload", std::string(2500, 'x'), "video/mp4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "2500");
  r = c.Post("/upload", std::string(3001, 'x'), "video/mp4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("larger than 3000 bytes"), std::string::npos) << r->body;
  r = c.Post("/echo", std::string(1001, 'x'), "text/plain");  // the others keep max_body_bytes
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

// An upload route's admission check runs on the headers: a refused request is answered before its
// body is read (a client may send its 64 MiB clip only once it is allowed to).
TEST_F(ServerTest, AnUploadIsAdmittedOnItsHeadersBeforeItsBodyIsRead) {
  std::signal(SIGPIPE, SIG_IGN);  // a refused client may still be writing its body when the answer closes the line
  StartWith({});
  // Headers only, the body never sent: the refusal must still arrive.
  int fd = Connect(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "POST /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 2900\r\n\r\n"));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0) << "no answer before the body";
  buf[n] = 0;
  EXPECT_NE(std::string(buf).find(" 401 "), std::string::npos) << buf;
  ::close(fd);

  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/gated", std::string(2900, 'x'), "video/mp4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(gated_handled_.load(), 0);
  r = c.Post("/gated", httplib::Headers{{"X-Key", "open"}}, std::string(2900, 'x'), "video/mp4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "2900");
  EXPECT_EQ(gated_handled_.load(), 1);
}

TEST_F(ServerTest, SlowClientsNeitherStallOthersNorStayForever) {
  ServerOptions o;
  o.threads = 2;
  o.read_timeout_s = 2;
  StartWith(o);
  // Twelve slowloris connections (more than the workers) trickling header lines.
  std::vector<int> slow;
  for (int i = 0; i < 12; ++i) {
    int fd = Connect(port_, "127.0.0.3");
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n"));
    slow.push_back(fd);
  }
  std::atomic<bool> stop{false};
  std::thread trickle([&] {
    while (!stop) {
      for (int fd : slow) SendAll(fd, "X-Slow: 1\r\n");
      std::this_thread::sleep_for(300ms);
    }
  });
  // Meanwhile a normal client is answered at once, and a blocked handler blocks only itself.
  httplib::Client c("127.0.0.1", port_);
  auto t0 = std::chrono::steady_clock::now();
  std::thread slow_call([&] { httplib::Client("127.0.0.1", port_).Get("/slow"); });
  std::this_thread::sleep_for(100ms);
  auto r = c.Get("/hello?name=fast");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello fast");
  EXPECT_LT(took, 1200ms);
  slow_call.join();
  // The trickling requests never completed in time: the deadline closed them.
  int closed = 0;
  for (int fd : slow) closed += ClosedWithin(fd, 3000ms) ? 1 : 0;
  stop = true;
  trickle.join();
  for (int fd : slow) ::close(fd);
  EXPECT_EQ(closed, 12);
  EXPECT_GE(server_->timeouts(), 12);
}

TEST_F(ServerTest, CapsConnectionsPerClientAddress) {
  ServerOptions o;
  o.max_connections_per_client = 4;
  StartWith(o);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect(port_, "127.0.0.4"));
  std::this_thread::sleep_for(200ms);
  int fifth = Connect(port_, "127.0.0.4");
  ASSERT_GE(fifth, 0);  // accepted by the kernel, then closed by the server
  EXPECT_TRUE(ClosedWithin(fifth, 2000ms));
  ::close(fifth);
  // Another address is still served.
  int other = Connect(port_, "127.0.0.5");
  ASSERT_TRUE(SendAll(other, "GET /hello?name=x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_NE(ReadAll(other).find("hello x"), std::string::npos);
  ::close(other);
  for (int fd : held) ::close(fd);
}

TEST_F(ServerTest, RefusesAPortSomeoneElseHolds) {
  StartWith({});
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  Server second(o);
  Status s = second.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos) << s.message();
  // Even a listener that asked for SO_REUSEPORT cannot share our port.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_NE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
}

TEST(ParseListenAddress, AcceptsHostPortAndBracketedV6) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseListenAddress("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListenAddress("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(ParseListenAddress("8080", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("h:99999", &host, &port).ok());
  EXPECT_FALSE(ParseListenAddress("h:8x", &host, &port).ok());
}

}  // namespace
}  // namespace mh::http
