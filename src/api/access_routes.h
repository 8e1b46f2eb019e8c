// REST routes of access (SPEC 5): the dashboard's login session (POST/GET/DELETE /api/v1/session),
// API tokens (create, list, revoke) and user accounts (add, list, delete) for admins.
#pragma once

#include <cstdint>

#include "http/server.h"
#include "store/store.h"

namespace mh::api {

struct AccessOptions {
  int64_t session_ttl_s = 12 * 3600;  // a session ends this long after login
};

void AddAccessRoutes(http::Server& srv, store::Store* store, AccessOptions options);

}  // namespace mh::api
