// An HTTP request as a route handler sees it (complete: headers and the whole body have arrived)
// and the response it fills. Plain values: the server (server.h) owns the sockets.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mh::http {

struct Request {
  std::string method;                             // "GET", "POST", ...
  std::string path;                               // unescaped, without the query
  std::multimap<std::string, std::string> params; // the query's arguments, unescaped
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::vector<std::string> matches;  // [0] the path, [1..] the route pattern's groups
  std::string route;                 // the pattern of the route that matched (Server::Route)
  std::string remote_addr;           // the client's IP address
  bool tls = false;                  // arrived over HTTPS

  bool has_header(std::string_view name) const;
  // The first value of header `name` (any case), "" when absent.
  std::string get_header_value(std::string_view name) const;
  bool has_param(const std::string& name) const { return params.count(name) > 0; }
  // The first value of query argument `name`, "" when absent.
  std::string get_param_value(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void set_content(std::string content, std::string_view content_type);
  // Replaces an existing header of that name.
  void set_header(std::string_view name, std::string value);
  std::string get_header_value(std::string_view name) const;
};

}  // namespace mh::http
