#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace mh::http {

// One request in flight on a connection: filled by the polling thread, handled by a worker.
struct Server::Exchange {
  MHD_Connection* conn = nullptr;
  Request req;
  bool too_large = false;
  bool answered = false;  // a response was queued
  uint64_t received = 0;  // body bytes that arrived
  size_t limit = 0;       // the body limit of this request's route
};

// Per-connection deadline: while `reading`, the request must have arrived by since + read_timeout.
struct Server::ConnectionInfo {
  int fd = -1;
  bool reading = true;
  std::chrono::steady_clock::time_point since;
  bool closed_by_watchdog = false;
};

namespace {

// An oversized body is read and dropped up to this many times the limit before the server answers
// without reading further (and closes the connection).
constexpr uint64_t kDrainFactor = 16;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

enum MHD_Result CollectHeader(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<Request*>(cls);
  if (key != nullptr) req->headers.emplace(Lower(key), value ? value : "");
  return MHD_YES;
}

enum MHD_Result CollectParam(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<Request*>(cls);
  if (key != nullptr) req->params.emplace(key, value ? value : "");
  return MHD_YES;
}

std::string AddressOf(const sockaddr* sa) {
  if (sa == nullptr) return "";
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

void LogFromMhd(void*, const char* fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  spdlog::debug("http: {}", line);
}

}  // namespace

// --- Request / Response ---

bool Request::has_header(std::string_view name) const { return headers.count(Lower(name)) > 0; }

std::string Request::get_header_value(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void Response::set_content(std::string content, std::string_view content_type) {
  body = std::move(content);
  set_header("Content-Type", std::string(content_type));
}

void Response::set_header(std::string_view name, std::string value) {
  for (auto& [k, v] : headers) {
    if (IEquals(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

std::string Response::get_header_value(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (IEquals(k, name)) return v;
  return "";
}

Status ParseListenAddress(const std::string& listen, std::string* host, int* port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return InvalidArgument("expected HOST:PORT, got '" + listen + "'");
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = listen.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return InvalidArgument("bad port in '" + listen + "'");
  int n = std::stoi(p);
  if (n > 65535) return InvalidArgument("port out of range in '" + listen + "'");
  *host = h;
  *port = n;
  return Status::Ok();
}

// --- Server ---

// libmicrohttpd's callbacks, forwarded to the server they were registered with.
struct ServerCallbacks {
  static enum MHD_Result Access(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                                const char* upload_data, size_t* upload_size, void** con_cls) {
    return static_cast<Server*>(cls)->Accept(c, url, method, upload_data, upload_size, con_cls) ? MHD_YES : MHD_NO;
  }
  static void Completed(void* cls, MHD_Connection* c, void** con_cls, enum MHD_RequestTerminationCode) {
    delete static_cast<Server::Exchange*>(*con_cls);
    *con_cls = nullptr;
    static_cast<Server*>(cls)->SetPhase(c, true);
  }
  static void Connection(void* cls, MHD_Connection* c, void**, enum MHD_ConnectionNotificationCode what) {
    auto* self = static_cast<Server*>(cls);
    std::lock_guard<std::mutex> lock(self->conns_mu_);
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
      auto info = std::make_unique<Server::ConnectionInfo>();
      const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      info->fd = ci ? ci->connect_fd : -1;
      info->since = std::chrono::steady_clock::now();
      self->conns_[c] = std::move(info);
    } else {
      // MHD closes the socket only after this notification: the watchdog, which shuts sockets
      // down under conns_mu_, can never touch a closed (or reused) descriptor.
      self->conns_.erase(c);
    }
  }
};

Server::Server(ServerOptions options) : options_(std::move(options)) {}

Server::~Server() { Stop(); }

void Server::Route(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, pattern, std::regex(pattern, std::regex::ECMAScript | std::regex::optimize), std::move(handler)});
}

void Server::SetBodyLimit(const std::string& method, const std::string& pattern, size_t bytes, Handler admit) {
  body_limits_.push_back(
      {method, std::regex(pattern, std::regex::ECMAScript | std::regex::optimize), bytes, std::move(admit)});
}

const Server::BodyLimitEntry* Server::BodyLimitFor(const std::string& method, const std::string& path) const {
  for (const BodyLimitEntry& e : body_limits_) {
    if (e.method == method && std::regex_match(path, e.pattern)) return &e;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> Server::RouteTable() const {
  std::vector<std::pair<std::string, std::string>> table;
  for (const RouteEntry& r : routes_) table.emplace_back(r.method, r.source);
  return table;
}

void Server::ErrorResponse(int status, const std::string& message, Response& res) const {
  res = Response();
  res.status = status;
  if (format_error_) {
    format_error_(status, message, res);
    res.status = status;
  } else {
    res.set_content(message + "\n", "text/plain; charset=utf-8");
  }
}

void Server::SetPhase(MHD_Connection* c, bool reading) {
  std::lock_guard<std::mutex> lock(conns_mu_);
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  it->second->reading = reading;
  it->second->since = std::chrono::steady_clock::now();
}

int Server::Queue(MHD_Connection* c, int status, Response& res) {
  MHD_Response* r = MHD_create_response_from_buffer(res.body.size(), res.body.data(), MHD_RESPMEM_MUST_COPY);
  if (r == nullptr) return MHD_NO;
  for (const auto& [k, v] : res.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
  enum MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(status), r);
  MHD_destroy_response(r);
  return ok;
}

// The access handler: called once the headers are in, then per chunk of body, then once more
// when the body is complete. Only that last call hands the request to a worker.
int Server::Accept(MHD_Connection* c, const char* url, const char* method, const char* upload_data,
                   size_t* upload_size, void** con_cls) {
  auto* ex = static_cast<Exchange*>(*con_cls);
  if (ex == nullptr) {
    ex = new Exchange;
    ex->conn = c;
    *con_cls = ex;
    ex->req.method = method ? method : "";
    ex->req.path = url ? url : "";
    ex->req.tls = !options_.tls_cert_pem.empty();
    MHD_get_connection_values(c, MHD_HEADER_KIND, &CollectHeader, &ex->req);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &CollectParam, &ex->req);
    if (const MHD_ConnectionInfo* ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS))
      ex->req.remote_addr = AddressOf(ci->client_addr);
    const BodyLimitEntry* special = BodyLimitFor(ex->req.method, ex->req.path);
    ex->limit = special != nullptr ? special->bytes : options_.max_body_bytes;
    if (special != nullptr && special->admit) {
      Response res;
      try {
        special->admit(ex->req, res);
      } catch (const std::exception&) {
        ErrorResponse(500, "internal error while admitting the request", res);
      }
      if (res.status >= 400) {
        // Refused on its headers: the body is dropped unread (`answered`), never buffered.
        ex->answered = true;
        return Queue(c, res.status, res);
      }
    }
    std::string length = ex->req.get_header_value("content-length");
    if (!length.empty()) {
      errno = 0;
      char* end = nullptr;
      unsigned long long n = std::strtoull(length.c_str(), &end, 10);
      if (errno != 0 || end == length.c_str() || n > kDrainFactor * ex->limit) {
        // Absurdly large: answered before the body is read; the connection closes after it.
        Response res;
        ErrorResponse(413, "request body larger than " + std::to_string(ex->limit) + " bytes", res);
        ex->answered = true;
        return Queue(c, 413, res);
      }
      // Too large but drainable: read and dropped, then answered, so that a client that writes
      // its whole body before reading sees the 413 instead of a reset connection.
      if (n > ex->limit) ex->too_large = true;
      else ex->req.body.reserve(static_cast<size_t>(n));
    }
    if (ex->req.path.size() > 2048) {
      Response res;
      ErrorResponse(414, "request path longer than 2048 characters", res);
      ex->answered = true;
      return Queue(c, 414, res);
    }
    return MHD_YES;
  }
  if (ex->answered) {
    *upload_size = 0;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    // Chunked bodies have no Content-Length: the limit is enforced on what arrives. The rest of
    // an oversized body is read and dropped (bounded by the read deadline), then answered 413.
    ex->received += *upload_size;
    if (!ex->too_large && ex->req.body.size() + *upload_size > ex->limit) {
      ex->too_large = true;
      std::string().swap(ex->req.body);
    }
    if (!ex->too_large) ex->req.body.append(upload_data, *upload_size);
    *upload_size = 0;
    if (ex->too_large && ex->received > kDrainFactor * ex->limit) {
      Response res;
      ErrorResponse(413, "request body larger than " + std::to_string(ex->limit) + " bytes", res);
      ex->answered = true;
      return Queue(c, 413, res);
    }
    return MHD_YES;
  }
  if (ex->too_large) {
    Response res;
    ErrorResponse(413, "request body larger than " + std::to_string(ex->limit) + " bytes", res);
    ex->answered = true;
    return Queue(c, 413, res);
  }
  SetPhase(c, false);  // from here on the handler's time, not the client's
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    if (stopping_ || jobs_.size() >= options_.max_queued_requests) {
      ++rejected_busy_;
      Response res;
      ErrorResponse(503, stopping_ ? "server is shutting down" : "server busy: too many requests waiting", res);
      res.set_header("Retry-After", "1");
      ex->answered = true;
      return Queue(c, 503, res);
    }
    ex->answered = true;
    MHD_suspend_connection(c);
    jobs_.push_back(ex);
  }
  jobs_cv_.notify_one();
  return MHD_YES;
}

void Server::Dispatch(Exchange* ex) {
  Request& req = ex->req;
  Response res;
  const bool head = req.method == "HEAD";
  const std::string& method = head ? std::string("GET") : req.method;
  bool path_matched = false;
  std::string allowed;
  const RouteEntry* route = nullptr;
  std::smatch m;
  for (const RouteEntry& r : routes_) {
    if (!std::regex_match(req.path, m, r.pattern)) continue;
    if (r.method == method) {
      route = &r;
      break;
    }
    path_matched = true;
    if (allowed.find(r.method) == std::string::npos) allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  auto t0 = std::chrono::steady_clock::now();
  try {
    if (route != nullptr) {
      req.matches.assign(m.begin(), m.end());
      req.route = route->source;
      route->handler(req, res);
    } else if (path_matched) {
      ErrorResponse(405, "method " + req.method + " not allowed on " + req.path, res);
      res.set_header("Allow", allowed);
    } else if (fallback_ && method == "GET") {
      fallback_(req, res);
    } else {
      ErrorResponse(404, "no route " + req.method + " " + req.path, res);
    }
  } catch (const std::exception& e) {
    spdlog::error("http: {} {} threw: {}", req.method, req.path, e.what());
    ErrorResponse(500, "internal error", res);
  } catch (...) {
    spdlog::error("http: {} {} threw", req.method, req.path);
    ErrorResponse(500, "internal error", res);
  }
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  ++requests_;
  if (logger_) logger_(req, res.status, took);
  if (Queue(ex->conn, res.status, res) != MHD_YES) spdlog::warn("http: cannot queue the response to {}", req.path);
}

void Server::Work() {
  for (;;) {
    Exchange* ex = nullptr;
    bool refuse = false;
    {
      std::unique_lock<std::mutex> lock(jobs_mu_);
      jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      ex = jobs_.front();
      jobs_.pop_front();
      refuse = stopping_;
      ++busy_workers_;
    }
    MHD_Connection* c = ex->conn;
    if (refuse) {
      Response res;
      ErrorResponse(503, "server is shutting down", res);
      Queue(c, 503, res);
    } else {
      Dispatch(ex);
    }
    // After the resume the polling thread may complete the exchange and free it at any moment.
    MHD_resume_connection(c);
    std::lock_guard<std::mutex> lock(jobs_mu_);
    --busy_workers_;
  }
}

void Server::Watch() {
  const auto deadline = std::chrono::seconds(options_.read_timeout_s);
  std::unique_lock<std::mutex> lock(conns_mu_);
  while (!watch_stop_) {
    watch_cv_.wait_for(lock, std::chrono::milliseconds(250));
    auto now = std::chrono::steady_clock::now();
    for (auto& [conn, info] : conns_) {
      if (!info->reading || info->closed_by_watchdog || info->fd < 0) continue;
      if (now - info->since <= deadline) continue;
      // A request (or the next one on a kept-alive connection) that has not arrived in time: the
      // event loop sees the shut socket and closes the connection.
      ::shutdown(info->fd, SHUT_RDWR);
      info->closed_by_watchdog = true;
      ++timeouts_;
    }
  }
}

Status Server::Start() {
  if (daemon_ != nullptr) return FailedPrecondition("http server already started");
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.empty() ? nullptr : options_.host.c_str(), port_text.c_str(), &hints, &found);
      rc != 0) {
    return InvalidArgument("http.listen " + where + ": " + gai_strerror(rc));
  }
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) {
    freeaddrinfo(found);
    return Unavailable("http.listen " + where + ": socket: " + std::strerror(errno));
  }
  // SO_REUSEADDR only (a restart may bind while old connections sit in TIME_WAIT). Never
  // SO_REUSEPORT: it would let a second process listen on the same port and take half the traffic.
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
    int err = errno;
    freeaddrinfo(found);
    ::close(fd);
    if (err == EADDRINUSE)
      return AlreadyExists("http.listen " + where + ": address already in use (another process listens there)");
    if (err == EACCES) return PermissionDenied("http.listen " + where + ": permission denied");
    return Unavailable("http.listen " + where + ": bind: " + std::strerror(err));
  }
  freeaddrinfo(found);
  if (::listen(fd, options_.backlog) != 0) {
    int err = errno;
    ::close(fd);
    return Unavailable("http.listen " + where + ": listen: " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  const bool tls = !options_.tls_cert_pem.empty() && !options_.tls_key_pem.empty();
  if (tls) flags |= MHD_USE_TLS;
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_LISTEN_SOCKET, fd, nullptr},
      {MHD_OPTION_CONNECTION_LIMIT, options_.max_connections, nullptr},
      {MHD_OPTION_PER_IP_CONNECTION_LIMIT, options_.max_connections_per_client, nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT, options_.read_timeout_s, nullptr},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 128 * 1024, nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&ServerCallbacks::Completed), this},
      {MHD_OPTION_NOTIFY_CONNECTION, reinterpret_cast<intptr_t>(&ServerCallbacks::Connection), this},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&LogFromMhd), nullptr},
  };
  if (tls) {
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(options_.tls_key_pem.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(options_.tls_cert_pem.c_str())});
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr, &ServerCallbacks::Access, this, MHD_OPTION_ARRAY,
                             items.data(), MHD_OPTION_END);
  if (daemon_ == nullptr) {
    ::close(fd);
    listen_fd_ = -1;
    return Unavailable("http.listen " + where + ": cannot start the HTTP server" + (tls ? " (check the TLS key and certificate)" : ""));
  }
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    stopping_ = false;
  }
  for (int i = 0; i < std::max(1, options_.threads); ++i) workers_.emplace_back([this] { Work(); });
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    watch_stop_ = false;
  }
  watchdog_ = std::thread([this] { Watch(); });
  return Status::Ok();
}

void Server::Stop() {
  if (daemon_ == nullptr) return;
  // No new connections; the listening socket is ours again to close.
  MHD_socket quiesced = MHD_quiesce_daemon(daemon_);
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  {
    std::lock_guard<std::mutex> lock(conns_mu_);
    watch_stop_ = true;
  }
  watch_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
  if (quiesced != MHD_INVALID_SOCKET) ::close(quiesced);
  else if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

}  // namespace mh::http
