#include "app/webhook_receiver.h"

namespace mh::app {

Status WebhookReceiver::Start() {
  server_.Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    Inbox& inbox = inboxes_[req.path];
    ++inbox.received;
    if (inbox.samples.size() < 3) inbox.samples.push_back(req.body);
    res.status = 204;
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return Unavailable("cannot bind the demo's webhook receiver");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  return Status::Ok();
}

void WebhookReceiver::Stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
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

}  // namespace mh::app
