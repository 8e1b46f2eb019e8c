// Serves the web dashboard (web/, built by npm into a directory of static files) from the API's
// own server: the app's fixed page paths (/login, /, /meters/{id}, /relay, /water, /audit) answer
// with index.html, /assets/... with the built files. The files are read once, at start, so a
// request can name nothing but a file that was there then.
#pragma once

#include <string>

#include "base/status.h"
#include "http/server.h"

namespace mh::api {

// The dashboard beside the running binary: <dir of /proc/self/exe>/web.
std::string DefaultWebRoot();

// Sets `srv`'s fallback to serve the dashboard built in `web_root`. Without a built dashboard
// there (no index.html: the Node toolchain was missing at build time) the page paths answer 503
// with a note saying so, and the API is unaffected. Returns how many files were loaded.
Result<int> ServeDashboard(http::Server& srv, const std::string& web_root);

}  // namespace mh::api
