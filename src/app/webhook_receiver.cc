#include "app/webhook_receiver.h"

namespace mh::app {

Status WebhookReceiver::Start(int port) {
  http::ServerOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.threads = 2;
  server_ = std::make_unique<http::Server>(options);
  server_->Post(R"(/.*)", [this](const http::Request& req, http::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Inbox& inbox = inboxes_[req.path];
    ++inbox.received;
    if (inbox.samples.size() < 3) inbox.samples.push_back(req.body);
    const std::string key = req.get_header_value("Idempotency-Key");
    const bool accepting = answer_status_ >= 200 && answer_status_ < 300;
    if (!key.empty() && inbox.accepted_keys.count(key) != 0) {
      ++inbox.replayed;  // a sender's retry of what was accepted: the same answer, nothing new
    } else {
      if (req.has_header("X-MeterHub-Alert-Id")) ++inbox.by_alert[req.get_header_value("X-MeterHub-Alert-Id")];
      if (!key.empty() && accepting) inbox.accepted_keys.insert(key);
    }
    res.status = answer_status_;
    if (!answer_body_.empty()) res.set_content(answer_body_, "text/plain");
  });
  MH_RETURN_IF_ERROR(server_->Start().WithContext("the demo's webhook receiver"));
  port_ = server_->port();
  return Status::Ok();
}

void WebhookReceiver::Stop() {
  if (server_) server_->Stop();
}

void WebhookReceiver::Answer(int status, std::string body) {
  std::lock_guard<std::mutex> lock(mu_);
  answer_status_ = status;
  answer_body_ = std::move(body);
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

int64_t WebhookReceiver::received(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inboxes_.find(path);
  return it == inboxes_.end() ? 0 : it->second.received;
}

std::vector<std::string> WebhookReceiver::samples(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inboxes_.find(path);
  return it == inboxes_.end() ? std::vector<std::string>{} : it->second.samples;
}

int64_t WebhookReceiver::replayed(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inboxes_.find(path);
  return it == inboxes_.end() ? 0 : it->second.replayed;
}

std::map<std::string, int64_t> WebhookReceiver::by_alert(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = inboxes_.find(path);
  return it == inboxes_.end() ? std::map<std::string, int64_t>{} : it->second.by_alert;
}

}  // namespace mh::app
