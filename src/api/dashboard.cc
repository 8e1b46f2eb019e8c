#include "api/dashboard.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#include <spdlog/spdlog.h>

namespace mh::api {
namespace {

namespace fs = std::filesystem;

struct StaticFile {
  std::string body;
  std::string type;
};

std::string ContentType(const fs::path& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"}, {".webmanifest", "application/manifest+json"}};
  auto it = kTypes.find(path.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// Headers every dashboard answer carries: nothing runs but the app's own scripts, no framing.
void SecurityHeaders(http::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                 "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
}

bool IsAppPath(const std::string& path) {
  static const std::regex kPages(R"(/|/login|/relay|/water|/audit|/meters/[A-Za-z0-9_-]{1,32})");
  return std::regex_match(path, kPages);
}

}  // namespace

std::string DefaultWebRoot() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "web";
  return (exe.parent_path() / "web").string();
}

Result<int> ServeDashboard(http::Server& srv, const std::string& web_root) {
  auto files = std::make_shared<std::map<std::string, StaticFile>>();
  std::error_code ec;
  if (!web_root.empty() && fs::is_directory(web_root, ec)) {
    for (auto it = fs::recursive_directory_iterator(web_root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream body;
      body << in.rdbuf();
      if (!in) return Internal("dashboard: cannot read " + it->path().string());
      const std::string url = "/" + fs::relative(it->path(), web_root).generic_string();
      (*files)[url] = {body.str(), ContentType(it->path())};
    }
    if (ec) return Internal("dashboard: cannot list " + web_root + ": " + ec.message());
  }
  const bool built = files->count("/index.html") > 0;
  if (!built) spdlog::warn("dashboard: no built dashboard in '{}' (was npm available at build time?)", web_root);

  srv.SetFallback([files, built, web_root](const http::Request& req, http::Response& res) {
    SecurityHeaders(res);
    if (IsAppPath(req.path)) {
      if (!built) {
        res.status = 503;
        res.set_content("<!doctype html><title>MeterHub</title><p>The dashboard was not built: no Node.js/npm at "
                        "build time, or no files in " + web_root + ". The REST API under /api/v1 works.</p>",
                        "text/html; charset=utf-8");
        return;
      }
      const StaticFile& index = files->at("/index.html");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(index.body, index.type);
      return;
    }
    auto it = files->find(req.path);
    if (it == files->end() || req.path == "/index.html") {
      res.status = 404;
      res.set_content("{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\"}}", "application/json");
      return;
    }
    // Built assets carry a content hash in their name: cache them for good.
    res.set_header("Cache-Control", req.path.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable"
                                                                       : "no-cache");
    res.set_content(it->second.body, it->second.type);
  });
  return static_cast<int>(files->size());
}

}  // namespace mh::api
