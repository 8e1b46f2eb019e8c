// MeterHub's HTTP server: routes requests to handlers on a bounded worker pool. Sockets are handled
// by libmicrohttpd's event loop (epoll), so a slow or idle client costs a connection slot, never a
// worker: a handler runs only once its request has fully arrived. Limits a public endpoint needs:
// a deadline for a request's headers and body, a body size limit that also holds for chunked
// bodies, connection caps (total and per client address), a listen backlog, and no SO_REUSEPORT —
// a port another process holds is refused, never shared.
//
// Thread model: one libmicrohttpd polling thread does all socket I/O; `threads` workers run the
// handlers; a watchdog thread closes connections whose request is late. Handlers may block (e.g.
// on a durable commit) without stalling other connections' I/O.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/status.h"
#include "http/message.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace mh::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0 = any free port (see Server::port())
  size_t max_body_bytes = 16u << 20;      // larger bodies get 413, chunked ones too
  int threads = 8;                        // handler workers
  int read_timeout_s = 30;                // a request's headers and body must arrive within this
  int idle_timeout_s = 60;                // an idle keep-alive connection is closed after this
  int max_connections = 1000;
  int max_connections_per_client = 32;    // per client IP address
  int backlog = 1024;                     // listen queue
  size_t max_queued_requests = 4096;      // complete requests waiting for a worker; beyond: 503
  std::string tls_cert_pem;               // both set = HTTPS only
  std::string tls_key_pem;
};

using Handler = std::function<void(const Request&, Response&)>;
// Formats an error the server answers by itself (404, 405, 413, 500, 503, ...).
using ErrorFormatter = std::function<void(int status, const std::string& message, Response&)>;

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes: `pattern` is an ECMAScript regular expression matched against the whole path; its
  // groups land in Request::matches. The first matching route of the method wins. Add routes
  // before Start().
  void Get(const std::string& pattern, Handler handler) { Route("GET", pattern, std::move(handler)); }
  void Post(const std::string& pattern, Handler handler) { Route("POST", pattern, std::move(handler)); }
  void Put(const std::string& pattern, Handler handler) { Route("PUT", pattern, std::move(handler)); }
  void Patch(const std::string& pattern, Handler handler) { Route("PATCH", pattern, std::move(handler)); }
  void Delete(const std::string& pattern, Handler handler) { Route("DELETE", pattern, std::move(handler)); }
  void Route(const std::string& method, const std::string& pattern, Handler handler);
  // Requests of `method` whose path matches `pattern` may carry bodies up to `bytes` instead of
  // max_body_bytes (uploads: customer clips of up to water.max_upload_bytes). `admit`, when given,
  // runs as soon as the headers are in, before any of the body is read: a response status of 400
  // or more is sent at once and the body is never buffered — so a large upload is authenticated
  // before it costs memory. It runs on the I/O thread: keep it to a header check and one indexed
  // lookup. Before Start().
  void SetBodyLimit(const std::string& method, const std::string& pattern, size_t bytes, Handler admit = {});
  // Every route as added: (method, pattern) — for checking the API's documentation against it.
  std::vector<std::pair<std::string, std::string>> RouteTable() const;
  // Answers GET/HEAD requests no route matched (static files of the dashboard); default 404.
  void SetFallback(Handler handler) { fallback_ = std::move(handler); }
  void SetErrorFormatter(ErrorFormatter formatter) { format_error_ = std::move(formatter); }
  // Called after each response with the request, its status and the handler's time.
  void SetLogger(std::function<void(const Request&, int status, std::chrono::microseconds)> logger) {
    logger_ = std::move(logger);
  }

  // Binds host:port (AlreadyExists naming the address when it is in use) and starts serving.
  Status Start();
  // Stops accepting, lets running handlers finish, closes every connection.
  void Stop();
  int port() const { return port_; }

  // Counters for /metrics.
  int64_t requests() const { return requests_.load(); }
  int64_t timeouts() const { return timeouts_.load(); }
  int64_t rejected_busy() const { return rejected_busy_.load(); }

 private:
  struct RouteEntry {
    std::string method;
    std::string source;  // the pattern as given
    std::regex pattern;
    Handler handler;
  };
  struct Exchange;        // one request in flight (per connection)
  struct ConnectionInfo;  // deadline bookkeeping per connection

  friend struct ServerCallbacks;  // libmicrohttpd's callbacks (server.cc)

  int Accept(MHD_Connection* c, const char* url, const char* method, const char* upload_data, size_t* upload_size,
             void** con_cls);
  void Dispatch(Exchange* ex);
  void Work();
  void Watch();
  // Sends `res` on the connection of `ex` (from the polling thread, or a worker for a suspended one).
  int Queue(MHD_Connection* c, int status, Response& res);
  void ErrorResponse(int status, const std::string& message, Response& res) const;
  void SetPhase(MHD_Connection* c, bool reading);

  struct BodyLimitEntry {
    std::string method;
    std::regex pattern;
    size_t bytes;
    Handler admit;  // may be empty
  };
  const BodyLimitEntry* BodyLimitFor(const std::string& method, const std::string& path) const;

  const ServerOptions options_;
  std::vector<RouteEntry> routes_;
  std::vector<BodyLimitEntry> body_limits_;
  Handler fallback_;
  ErrorFormatter format_error_;
  std::function<void(const Request&, int, std::chrono::microseconds)> logger_;
  MHD_Daemon* daemon_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::deque<Exchange*> jobs_;   // guarded by jobs_mu_
  bool stopping_ = false;        // guarded by jobs_mu_
  int busy_workers_ = 0;         // guarded by jobs_mu_
  std::vector<std::thread> workers_;

  std::mutex conns_mu_;
  std::condition_variable watch_cv_;
  std::map<MHD_Connection*, std::unique_ptr<ConnectionInfo>> conns_;  // guarded by conns_mu_
  bool watch_stop_ = false;                                         // guarded by conns_mu_
  std::thread watchdog_;

  std::atomic<int64_t> requests_{0}, timeouts_{0}, rejected_busy_{0};
};

// "127.0.0.1:8080" / "[::1]:8080" → host, port.
Status ParseListenAddress(const std::string& listen, std::string* host, int* port);

}  // namespace mh::http
