// An in-process daemon for the REST API's integration tests: SQLite in a fresh temp directory,
// no broker, the API on a free loopback port, an HTTP client and an admin token.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/auth.h"
#include "app/daemon.h"
#include "support/test_env.h"

namespace mh::testing {

class ApiDaemon {
 public:
  // `adjust` changes the configuration before the daemon starts; check started() after.
  explicit ApiDaemon(const std::string& name, const std::function<void(app::Config&)>& adjust = {}) : dir_(name) {
    app::Config config;
    config.store.path = dir_ / "meterhub.db";
    config.mqtt.broker = "";
    config.http.listen = "127.0.0.1:0";
    config.alerts.dispatcher.poll_interval_ms = 50;
    if (adjust) adjust(config);
    daemon_ = std::make_unique<app::Daemon>(config);
    Status s = daemon_->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", daemon_->http_port());
    client_->set_read_timeout(30, 0);
    admin_ = *api::CreateToken(*daemon_->store(), api::Role::kAdmin, "test-admin", "");
  }

  bool started() const { return client_ != nullptr; }
  app::Daemon& daemon() { return *daemon_; }
  store::Store& store() { return *daemon_->store(); }
  httplib::Client& client() { return *client_; }
  const std::string& admin() const { return admin_; }
  const TempDir& dir() const { return dir_; }

  std::string Token(api::Role role, const std::string& customer = "", const std::string& name = "test") {
    return *api::CreateToken(store(), role, name, customer);
  }
  static httplib::Headers Auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

  httplib::Result Post(const std::string& path, const std::string& body, const std::string& type = "application/json",
                       const std::string& token = "") {
    return client_->Post(path.c_str(), Auth(token.empty() ? admin_ : token), body, type.c_str());
  }
  httplib::Result Put(const std::string& path, const std::string& body, const std::string& token = "") {
    return client_->Put(path.c_str(), Auth(token.empty() ? admin_ : token), body, "application/json");
  }
  httplib::Result Get(const std::string& path, const std::string& token = "") {
    return client_->Get(path.c_str(), Auth(token.empty() ? admin_ : token));
  }
  httplib::Result Delete(const std::string& path, const std::string& token = "") {
    return client_->Delete(path.c_str(), Auth(token.empty() ? admin_ : token));
  }
  // Registers a meter over the API (a 15-minute interval, +08:00); fails the test otherwise.
  void Register(const std::string& id, const std::string& customer, const std::string& kind = "electricity") {
    auto r = Post("/api/v1/meters", nlohmann::json{{"meter_id", id}, {"customer_id", customer}, {"kind", kind},
                                                   {"interval_s", 900}, {"timezone", "+08:00"}}.dump());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->status == 201 || r->status == 200) << r->body;
  }

 private:
  TempDir dir_;
  std::unique_ptr<app::Daemon> daemon_;
  std::unique_ptr<httplib::Client> client_;
  std::string admin_;
};

}  // namespace mh::testing
