#include "alerts/dispatcher.h"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "alerts/channels/sms_channel.h"
#include "alerts/channels/webhook_channel.h"
#include "alerts/fake_store_for_test.h"
#include "alerts/message.h"
#include "alerts/test_servers_for_test.h"

namespace mh::alerts {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using store::Delivery;
using store::DeliveryStatus;
using testing::FakeDeliveryStore;
using testing::LocalHttpServer;

constexpr int64_t kStartMs = 1603983600000;

std::string AlertContent(int64_t alert_id) {
  store::AlertRecord a = testing::SampleAlert(alert_id);
  return FormatAlert(a, "kWh").json;
}

Delivery PendingDelivery(const std::string& channel, const std::string& address, int64_t due_ms,
                         int64_t alert_id = 1) {
  Delivery d;
  d.alert_id = alert_id;
  d.terminal_id = "T1";
  d.channel = channel;
  d.address = address;
  d.content = AlertContent(alert_id);
  d.next_attempt_at = due_ms;
  return d;
}

// A webhook receiver answering from a script of statuses (the last one repeats), counting
// requests per alert_id.
class ScriptedReceiver {
 public:
  explicit ScriptedReceiver(std::vector<int> statuses, milliseconds delay = milliseconds(0))
      : statuses_(std::move(statuses)), delay_(delay) {}
  std::string Url() const { return server_.Url("/hook"); }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::map<int64_t, int> per_alert() {
    std::lock_guard<std::mutex> lock(mu_);
    return per_alert_;
  }
  // Waits until `n` requests have arrived; false on timeout.
  bool WaitForRequests(int n, milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requests_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const std::vector<int> statuses_;
  const milliseconds delay_;
  int requests_ = 0;              // guarded by mu_
  std::map<int64_t, int> per_alert_;  // guarded by mu_
  LocalHttpServer server_{[this](httplib::Server& s) {
    s.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
      std::lock_guard<std::mutex> lock(mu_);
      int i = std::min<int>(requests_, static_cast<int>(statuses_.size()) - 1);
      ++requests_;
      auto j = nlohmann::json::parse(req.body, nullptr, false);
      if (j.is_object() && j.contains("alert_id")) ++per_alert_[j["alert_id"].get<int64_t>()];
      res.status = statuses_[i];
      cv_.notify_all();
    });
  }};
};

SmsOptions SmsAt(const std::string& url) {
  SmsOptions o;
  o.url = url;
  o.token = "t";
  return o;
}

DispatcherOptions TestOptions() {
  DispatcherOptions o;
  o.max_attempts = 5;
  o.initial_backoff_ms = 1000;
  o.max_backoff_ms = 300000;
  o.threads = 1;
  return o;
}

TEST(RetryDelayTest, DoublesFromInitialAndCaps) {
  DispatcherOptions o;
  o.initial_backoff_ms = 1000;
  o.max_backoff_ms = 5000;
  EXPECT_EQ(RetryDelayMs(o, 1), 1000);
  EXPECT_EQ(RetryDelayMs(o, 2), 2000);
  EXPECT_EQ(RetryDelayMs(o, 3), 4000);
  EXPECT_EQ(RetryDelayMs(o, 4), 5000);
  EXPECT_EQ(RetryDelayMs(o, 1000), 5000);
}

TEST(DispatcherTest, ServerErrorsAreRetriedWithBackoffUntilDelivered) {
  ScriptedReceiver receiver({500, 500, 200});
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher dispatcher(&store, &clock, TestOptions());
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url(), kStartMs));

  EXPECT_EQ(dispatcher.RunOnce(), 1);
  Delivery d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.next_attempt_at, kStartMs + 1000);
  EXPECT_NE(d.last_error.find("HTTP 500"), std::string::npos) << d.last_error;
  EXPECT_EQ(d.updated_at, kStartMs);

  EXPECT_EQ(dispatcher.RunOnce(), 0);  // not due yet
  clock.AdvanceMillis(999);
  EXPECT_EQ(dispatcher.RunOnce(), 0);
  clock.AdvanceMillis(1);
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  d = store.Get(id);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.next_attempt_at, kStartMs + 1000 + 2000);  // doubled

  clock.AdvanceMillis(2000);
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kSent);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(d.updated_at, kStartMs + 3000);
  EXPECT_EQ(receiver.requests(), 3);

  // The delivery log holds every attempt.
  auto updates = store.Updates();
  ASSERT_EQ(updates.size(), 3u);
  EXPECT_EQ(updates[0].attempts, 1);
  EXPECT_EQ(updates[0].status, DeliveryStatus::kPending);
  EXPECT_EQ(updates[1].attempts, 2);
  EXPECT_EQ(updates[1].status, DeliveryStatus::kPending);
  EXPECT_EQ(updates[2].attempts, 3);
  EXPECT_EQ(updates[2].status, DeliveryStatus::kSent);

  EXPECT_EQ(dispatcher.sent(), 1);
  EXPECT_EQ(dispatcher.retried(), 2);
  EXPECT_EQ(dispatcher.failed(), 0);
  clock.AdvanceMillis(1000000);
  EXPECT_EQ(dispatcher.RunOnce(), 0);  // sent is final
}

TEST(DispatcherTest, ClientErrorFailsAtOnce) {
  ScriptedReceiver receiver({400});
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher dispatcher(&store, &clock, TestOptions());
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url(), kStartMs));

  EXPECT_EQ(dispatcher.RunOnce(), 1);
  Delivery d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_NE(d.last_error.find("HTTP 400"), std::string::npos) << d.last_error;
  clock.AdvanceMillis(1000000);
  EXPECT_EQ(dispatcher.RunOnce(), 0);
  EXPECT_EQ(receiver.requests(), 1);
  EXPECT_EQ(dispatcher.failed(), 1);
  EXPECT_EQ(dispatcher.retried(), 0);
}

TEST(DispatcherTest, UnreachableReceiverIsRetriedThenFailedAfterMaxAttempts) {
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  DispatcherOptions o = TestOptions();
  o.max_attempts = 3;
  Dispatcher dispatcher(&store, &clock, o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  std::string url = "http://127.0.0.1:" + std::to_string(testing::UnusedPort()) + "/hook";
  int64_t id = store.AddDelivery(PendingDelivery("webhook", url, kStartMs));

  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_EQ(dispatcher.RunOnce(), 1) << attempt;
    Delivery d = store.Get(id);
    EXPECT_EQ(d.attempts, attempt);
    EXPECT_FALSE(d.last_error.empty());
    EXPECT_EQ(d.status, attempt < 3 ? DeliveryStatus::kPending : DeliveryStatus::kFailed);
    clock.AdvanceMillis(RetryDelayMs(o, attempt));
  }
  EXPECT_EQ(dispatcher.RunOnce(), 0);
  EXPECT_EQ(dispatcher.retried(), 2);
  EXPECT_EQ(dispatcher.failed(), 1);
}

// The production rule: no cap on attempts, a time budget per round. The waits double to the cap,
// the last attempt is made exactly at the deadline, and only then is the delivery failed.
TEST(DispatcherTest, GivesUpWhenTheRoundsTimeBudgetIsSpent) {
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  DispatcherOptions o = TestOptions();
  o.max_attempts = 0;
  o.give_up_after_ms = 60000;
  o.initial_backoff_ms = 10000;
  o.max_backoff_ms = 20000;
  Dispatcher dispatcher(&store, &clock, o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  std::string url = "http://127.0.0.1:" + std::to_string(testing::UnusedPort()) + "/hook";
  int64_t id = store.AddDelivery(PendingDelivery("webhook", url, kStartMs));

  // Attempts at 0, 10, 30, 50 s (waits 10, 20, 20), then 60 s: the deadline, not 70 s.
  std::vector<int64_t> attempts_at;
  while (store.Get(id).status == DeliveryStatus::kPending) {
    clock.SetMillis(store.Get(id).next_attempt_at);
    attempts_at.push_back(clock.NowMillis() - kStartMs);
    ASSERT_EQ(dispatcher.RunOnce(), 1);
    ASSERT_LT(attempts_at.size(), 20u);
  }
  EXPECT_EQ(attempts_at, (std::vector<int64_t>{0, 10000, 30000, 50000, 60000}));
  Delivery d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.round_started_at, kStartMs);
  EXPECT_EQ(dispatcher.failed(), 1);
}

// A re-queued delivery (the store's RequeueFailedDeliveries: pending, round_started_at 0,
// round_base = attempts) gets a whole new round: the budget and the back-off start over.
TEST(DispatcherTest, ARequeuedDeliveryStartsANewRound) {
  ScriptedReceiver receiver({503, 503, 200});
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  DispatcherOptions o = TestOptions();
  o.max_attempts = 1;
  Dispatcher dispatcher(&store, &clock, o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url(), kStartMs));
  ASSERT_EQ(dispatcher.RunOnce(), 1);
  Delivery d = store.Get(id);
  ASSERT_EQ(d.status, DeliveryStatus::kFailed);  // one attempt per round

  clock.AdvanceMillis(3600000);
  d.status = DeliveryStatus::kPending;
  d.next_attempt_at = clock.NowMillis();
  d.round_started_at = 0;
  d.round_base = d.attempts;
  ASSERT_TRUE(store.UpdateDelivery(d).ok());
  ASSERT_EQ(dispatcher.RunOnce(), 1);
  d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);  // the second round's one attempt: 503 again
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.round_started_at, kStartMs + 3600000);

  o.max_attempts = 0;
  Dispatcher patient(&store, &clock, o);
  patient.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  d.status = DeliveryStatus::kPending;
  d.round_started_at = 0;
  d.round_base = d.attempts;
  ASSERT_TRUE(store.UpdateDelivery(d).ok());
  ASSERT_EQ(patient.RunOnce(), 1);
  EXPECT_EQ(store.Get(id).status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get(id).attempts, 3);
}

TEST(DispatcherTest, UnknownChannelFailsWithAClearError) {
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher dispatcher(&store, &clock, TestOptions());
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  int64_t id = store.AddDelivery(PendingDelivery("pigeon", "loft 3", kStartMs));
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  Delivery d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kFailed);
  EXPECT_EQ(d.attempts, 0);
  EXPECT_EQ(d.last_error, "no channel \"pigeon\" is configured (configured: webhook)");
  EXPECT_EQ(dispatcher.failed(), 1);
}

TEST(DispatcherTest, SmsGatewayGetsTheTextRebuiltFromTheStoredContent) {
  std::mutex mu;
  nlohmann::json body;
  LocalHttpServer gateway([&](httplib::Server& s) {
    s.Post("/sms", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      body = nlohmann::json::parse(req.body);
    });
  });
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher dispatcher(&store, &clock, TestOptions());
  dispatcher.AddChannel(std::make_unique<SmsChannel>(SmsAt(gateway.Url("/sms"))));
  store.AddDelivery(PendingDelivery("sms", "+8613800138000", kStartMs, 5));
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(body["to"], "+8613800138000");
  EXPECT_EQ(body["text"], MessageFromContent(AlertContent(5)).text);
  EXPECT_EQ(dispatcher.sent(), 1);
}

TEST(DispatcherTest, AFailedRecordReleasesTheClaimAndTheDeliveryIsSentAgain) {
  ScriptedReceiver receiver({200});
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher dispatcher(&store, &clock, TestOptions());
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url(), kStartMs));
  store.FailUpdates(true);
  EXPECT_EQ(dispatcher.RunOnce(), 1);
  EXPECT_EQ(dispatcher.in_flight(), 0);
  EXPECT_EQ(store.Get(id).status, DeliveryStatus::kPending);
  store.FailUpdates(false);
  EXPECT_EQ(dispatcher.RunOnce(), 0);  // the claim holds it until claim_ms has passed
  clock.AdvanceMillis(TestOptions().claim_ms);
  EXPECT_EQ(dispatcher.RunOnce(), 1);  // at least once
  EXPECT_EQ(store.Get(id).status, DeliveryStatus::kSent);
  EXPECT_EQ(receiver.requests(), 2);
}

// Two dispatchers on one store (two processes on one database): the claim, not the in-flight set,
// keeps the second from sending what the first claimed; a re-send carries the same ids.
TEST(DispatcherTest, ADeliveryClaimedElsewhereIsNotSentAndEverySendCarriesItsStableIds) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> ids;  // (Idempotency-Key, X-MeterHub-Alert-Id)
  LocalHttpServer hook([&](httplib::Server& s) {
    s.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      ids.emplace_back(req.get_header_value("Idempotency-Key"), req.get_header_value("X-MeterHub-Alert-Id"));
      res.status = 204;
    });
  });
  FakeDeliveryStore store;
  SimulatedClock clock(kStartMs);
  Dispatcher first(&store, &clock, TestOptions()), second(&store, &clock, TestOptions());
  for (Dispatcher* d : {&first, &second}) d->AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  const int64_t id = store.AddDelivery(PendingDelivery("webhook", hook.Url("/hook"), kStartMs, 42));
  ASSERT_TRUE(*store.ClaimDelivery(id, kStartMs, kStartMs + 5000));  // "first" claimed it and died
  EXPECT_EQ(second.RunOnce(), 0);
  clock.AdvanceMillis(5000);  // the claim expired: sent again, once
  EXPECT_EQ(second.RunOnce(), 1);
  EXPECT_EQ(first.RunOnce(), 0);
  EXPECT_EQ(store.Get(id).status, DeliveryStatus::kSent);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].first, "meterhub-delivery-" + std::to_string(id));
  EXPECT_EQ(ids[0].second, "42");
}

TEST(DispatcherTest, WorkersDeliverANudgePromptlyAndStopQuickly) {
  ScriptedReceiver receiver({200});
  FakeDeliveryStore store;
  DispatcherOptions o = TestOptions();
  o.threads = 2;
  o.poll_interval_ms = 60000;  // only the nudge can explain a prompt delivery
  Dispatcher dispatcher(&store, &SystemClock::Instance(), o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  dispatcher.Start();
  std::this_thread::sleep_for(milliseconds(100));  // the workers' first poll found nothing

  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url(), SystemClock::Instance().NowMillis()));
  auto nudged = steady_clock::now();
  dispatcher.Nudge();
  ASSERT_TRUE(receiver.WaitForRequests(1, milliseconds(5000)));
  EXPECT_LT(steady_clock::now() - nudged, milliseconds(1000));

  auto deadline = steady_clock::now() + milliseconds(5000);
  while (store.Get(id).status != DeliveryStatus::kSent && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(store.Get(id).status, DeliveryStatus::kSent);

  auto stopping = steady_clock::now();
  dispatcher.Stop();
  EXPECT_LT(steady_clock::now() - stopping, milliseconds(500));
  EXPECT_EQ(dispatcher.sent(), 1);
}

TEST(DispatcherTest, StopDoesNotWaitForAHangingReceiverAndLeavesTheDeliveryPending) {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, released = false;
  LocalHttpServer receiver([&](httplib::Server& s) {
    s.Post("/hang", [&](const httplib::Request&, httplib::Response&) {
      std::unique_lock<std::mutex> lock(mu);
      entered = true;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(20), [&] { return released; });
    });
  });
  FakeDeliveryStore store;
  DispatcherOptions o = TestOptions();
  o.poll_interval_ms = 60000;
  Dispatcher dispatcher(&store, &SystemClock::Instance(), o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  dispatcher.Start();
  int64_t id = store.AddDelivery(PendingDelivery("webhook", receiver.Url("/hang"), 0));
  dispatcher.Nudge();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return entered; }));
  }
  auto stopping = steady_clock::now();
  dispatcher.Stop();
  EXPECT_LT(steady_clock::now() - stopping, milliseconds(500));
  Delivery d = store.Get(id);
  EXPECT_EQ(d.status, DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 0);  // a send cut short by shutdown is not an attempt
  EXPECT_EQ(dispatcher.retried() + dispatcher.failed() + dispatcher.sent(), 0);
  {
    std::lock_guard<std::mutex> lock(mu);
    released = true;
  }
  cv.notify_all();
}

TEST(DispatcherTest, ConcurrentWorkersAndRunOnceNeverSendADeliveryTwice) {
  ScriptedReceiver receiver({200}, milliseconds(20));
  FakeDeliveryStore store;
  DispatcherOptions o = TestOptions();
  o.threads = 4;
  o.poll_interval_ms = 5;
  o.batch_size = 2;
  Dispatcher dispatcher(&store, &SystemClock::Instance(), o);
  dispatcher.AddChannel(std::make_unique<WebhookChannel>(testing::LoopbackWebhook()));
  constexpr int kDeliveries = 24;
  for (int i = 1; i <= kDeliveries; ++i) store.AddDelivery(PendingDelivery("webhook", receiver.Url(), 0, i));
  dispatcher.Start();
  dispatcher.RunOnce();  // competes with the workers
  ASSERT_TRUE(receiver.WaitForRequests(kDeliveries, milliseconds(10000)));
  auto deadline = steady_clock::now() + milliseconds(5000);
  while (dispatcher.sent() < kDeliveries && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  dispatcher.Stop();
  EXPECT_EQ(dispatcher.sent(), kDeliveries);
  EXPECT_EQ(receiver.requests(), kDeliveries);
  auto per_alert = receiver.per_alert();
  ASSERT_EQ(per_alert.size(), static_cast<size_t>(kDeliveries));
  for (const auto& [alert_id, count] : per_alert) EXPECT_EQ(count, 1) << "alert " << alert_id;
}

}  // namespace
}  // namespace mh::alerts
