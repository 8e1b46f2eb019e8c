// Issue 4's closed loop end to end: a real Mosquitto on a free 127.0.0.1 port and the real
// `meterhub serve`. A simulated water meter terminal with an injected drift and its reference
// flowmeter publish RLE flow frames (the flowmeter's relayed through the terminal's topic); the
// server detects the steady deviation in the closed window and sends the fitted parameters as a
// command; the simulated terminal (src/meter/water self-maintenance) applies them and acks; the
// next window is clean and the case closes. The customer's phone (an SMS-gateway webhook here) got
// the self-check notice. A corrupt frame is rejected and visible with the decoder's error.
#include <mosquitto.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "app/local_broker.h"
#include "codec/water_frame.h"
#include "core/meter_id.h"
#include "meter/water/self_maintenance.h"
#include "sim/water_devices.h"
#include "support/test_env.h"
#include "water/pairing.h"
#include "water/vision/render.h"
#include "water/vision/video.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::TempDir;
using testing::WaitFor;

constexpr int64_t kDay = 1793491200;  // 2026-11-01T00:00:00Z
constexpr char kTerminal[] = "WT-0001";
constexpr char kFlowmeter[] = "FM-0001";
constexpr char kPhone[] = "+8613800138000";
constexpr int64_t kMaxUpload = 20 << 20;  // water.max_upload_bytes, above http.max_body_bytes (16 MiB)

using testing::ServeProcess;

// The terminal's MQTT side (src/sim/water_devices.h, shared with `meterhub demo`): publishes its
// frames (and its flowmeter's, relayed) and acks, and receives its command topic.
class DeviceLink : public sim::WaterDeviceLink {
 public:
  DeviceLink(int port, const std::string& terminal) : sim::WaterDeviceLink(terminal) {
    Status s = Connect(port);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  void Publish(const std::string& suffix, const std::string& payload) {
    Status s = sim::WaterDeviceLink::Publish(suffix, payload);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
};

// The customer's phone behind an SMS gateway, and the work-order desk: one webhook receiver.
class Receiver {
 public:
  Receiver() {
    server_.Post(R"(/(sms|work-orders))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      received_.push_back({req.matches[1], req.body});
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::pair<std::string, std::string>> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> received_;
};

// The household's true flow in minute i of the day: a tap opening 6 of every 20 minutes at
// varied flows, plus a small deterministic wobble (the flowmeter's own noise).
double TrueFlow(int64_t i) { return (i % 20) < 6 ? 0.2 + 0.15 * static_cast<double>(i % 7) : 0.0; }
double FlowmeterNoise(int64_t i) { return 0.001 * static_cast<double>((i * 7919) % 3 - 1); }

std::string Frame(codec::WaterDeviceKind kind, const std::string& device, int64_t start, int n,
                  const std::function<double(int64_t)>& flow, bool relayed) {
  std::vector<double> flows;
  for (int i = 0; i < n; ++i) flows.push_back(flow((start - kDay) / 60 + i));
  auto bytes = sim::EncodeFlowFrame(kind, water::FeatureCodeOf(kTerminal), device, start, 60, flows, relayed);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::string();
}

class WaterServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (app::FindMosquitto().empty()) GTEST_SKIP() << "mosquitto not installed (apt-get install mosquitto)";
    ASSERT_TRUE(broker_.Start(dir_ / "broker").ok()) << "broker did not start";
    http_port_ = app::FreeLoopbackPort();
    config_ = dir_ / "meterhub.toml";
    const std::string hook = "http://127.0.0.1:" + std::to_string(receiver_.port());
    testing::WriteFile(config_, "[store]\npath = \"" + (dir_ / "meterhub.db") + "\"\n[http]\nlisten = \"127.0.0.1:" +
                                    std::to_string(http_port_) + "\"\n[mqtt]\nbroker = \"" + broker_.address() +
                                    "\"\n[alerts.sms]\nurl = \"" + hook + "/sms\"\n[water]\nwindow = \"6h\"\n" +
                                    "upload_url = \"https://meters.example.com/water/{terminal}/photos\"\n" +
                                    "max_upload_bytes = " + std::to_string(kMaxUpload) + "\n" +
                                    "work_order_url = \"" + hook + "/work-orders\"\n[log]\nlevel = \"info\"\n");
    auto token = RunCommand(testing::MeterhubBinary() + " token create --role admin --config " + config_);
    ASSERT_EQ(token.exit_code, 0) << token.output;
    token_ = token.output.substr(0, token.output.find('\n'));
  }

  json Get(const std::string& path) {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get(path, {{"Authorization", "Bearer " + token_}});
    if (!r || r->status != 200) return json();
    return json::parse(r->body);
  }
  bool Up() {
    httplib::Client c("127.0.0.1", http_port_);
    auto r = c.Get("/healthz");
    return r && r->status == 200 && Get("/api/v1/status").value("mqtt", "") == "connected";
  }
  std::vector<std::string> Events() {
    std::vector<std::string> out;
    json h = Get(std::string("/api/v1/water/meters/") + kTerminal + "/history");
    if (h.is_null()) return out;
    for (const auto& r : h["history"]) out.push_back(r["event"]);
    return out;
  }
  bool HasEvent(const std::string& e) {
    auto ev = Events();
    return std::find(ev.begin(), ev.end(), e) != ev.end();
  }
  // The operator pairs the test's terminal with its flowmeter and the customer's phone (REST).
  httplib::Result Pair() {
    httplib::Client c("127.0.0.1", http_port_);
    return c.Post("/api/v1/water/pairs", {{"Authorization", "Bearer " + token_}},
                  json{{"terminal_id", kTerminal}, {"flowmeter_id", kFlowmeter}, {"phone", kPhone}}.dump(),
                  "application/json");
  }

  // Starts `serve`, pairs the test's terminal over REST and waits for the link's subscription.
  void StartAndPair(ServeProcess& serve, DeviceLink& link) {
    serve.Start();
    ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
    auto paired = Pair();
    ASSERT_TRUE(paired && paired->status == 201) << (paired ? paired->body : "no answer");
    ASSERT_TRUE(WaitFor([&] { return link.subscribed.load(); }, 10));
  }

  TempDir dir_{"water_serve"};
  app::LocalBroker broker_;
  Receiver receiver_;
  int http_port_ = 0;
  std::string config_, token_;
};

TEST_F(WaterServeTest, DriftDetectedParametersSentTerminalCorrectedNextWindowClean) {
  ServeProcess serve(config_, dir_ / "serve.log");
  serve.Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  httplib::Client c("127.0.0.1", http_port_);
  auto paired = Pair();
  ASSERT_TRUE(paired && paired->status == 201) << (paired ? paired->body : "no answer");
  EXPECT_EQ(json::parse(paired->body)["feature_code"], water::FeatureCodeOf(kTerminal));

  DeviceLink link(broker_.port(), kTerminal);
  ASSERT_TRUE(WaitFor([&] { return link.subscribed.load(); }, 10));
  meter::water::TerminalSelfMaintenance terminal(water::FeatureCodeOf(kTerminal));
  // The injected drift: the terminal's sensor reads 4 % high plus 0.008 m³/h.
  auto raw = [](int64_t i) { return 1.04 * TrueFlow(i) + 0.008; };
  auto reported = [&](int64_t i) { return terminal.Report(raw(i)); };
  auto reference = [](int64_t i) { return TrueFlow(i) + FlowmeterNoise(i); };

  // A corrupt frame first: rejected, recorded with the decoder's error, and the loop unharmed.
  std::string corrupt = Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay - 3600, 60, reported, false);
  corrupt[corrupt.size() / 2] ^= 0x41;
  link.Publish("water/frame", corrupt);

  // Window 0 (00:00–06:00): hourly frames, the flowmeter's relayed through the terminal.
  for (int h = 0; h < 6; ++h) {
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay + h * 3600, 60, reference, true));
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay + h * 3600, 60, reported, false));
  }
  const auto published_at = std::chrono::steady_clock::now();
  std::optional<std::string> command;
  ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 30)) << testing::ReadFile(dir_ / "serve.log");
  std::cout << "window 0 published → command received: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - published_at).count()
            << " ms (12 frames over MQTT, stored, window checked, fitted, command published)\n";
  json cmd = json::parse(*command);
  EXPECT_EQ(cmd["type"], "water_maintenance");
  EXPECT_EQ(cmd["feature_code"], water::FeatureCodeOf(kTerminal));
  EXPECT_EQ(cmd["issued_at"], kDay + 6 * 3600);
  EXPECT_EQ(cmd["expires_at"], kDay + 12 * 3600);
  EXPECT_EQ(cmd["parameters"]["model"], "linear");
  EXPECT_NEAR(cmd["parameters"]["a1"].get<double>(), 1.04, 0.004) << cmd.dump();
  EXPECT_NEAR(cmd["parameters"]["a2"].get<double>(), 0.008, 0.002) << cmd.dump();
  json windows = Get(std::string("/api/v1/water/meters/") + kTerminal + "/windows");
  ASSERT_EQ(windows["windows"].size(), 1u) << windows.dump();
  EXPECT_EQ(windows["windows"][0]["verdict"], "steady");
  EXPECT_EQ(windows["windows"][0]["pairs"], 360);

  // The terminal's self-maintenance applies the correction and acknowledges.
  Result<meter::water::MaintenanceCommand> mc = sim::ParseWaterCommand(cmd.dump());
  ASSERT_TRUE(mc.ok()) << mc.status().ToString();
  auto ack = terminal.Apply(*mc, kDay + 6 * 3600);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  link.Publish("water/ack", sim::WaterAckJson(*ack));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("acknowledged"); }, 20)) << json(Events()).dump();

  // Window 1 (06:00–12:00) under the correction: clean, the case closes.
  for (int h = 6; h < 12; ++h) {
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay + h * 3600, 60, reference, true));
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay + h * 3600, 60, reported, false));
  }
  ASSERT_TRUE(WaitFor([&] { return HasEvent("closed"); }, 30)) << json(Events()).dump() << testing::ReadFile(dir_ / "serve.log");
  auto events = Events();
  for (const char* e : {"paired", "window_checked", "detected", "command_issued", "command_sent", "notice_queued", "acknowledged",
                        "verified_clean", "closed"}) {
    EXPECT_NE(std::find(events.begin(), events.end(), e), events.end()) << e << " missing in " << json(events).dump();
  }
  windows = Get(std::string("/api/v1/water/meters/") + kTerminal + "/windows");
  ASSERT_EQ(windows["windows"].size(), 2u);
  EXPECT_EQ(windows["windows"][1]["verdict"], "none") << windows.dump();
  json params = Get(std::string("/api/v1/water/meters/") + kTerminal + "/parameters");
  EXPECT_EQ(params["commands"][0]["status"], "acknowledged") << params.dump();
  EXPECT_EQ(params["current"]["model"], "linear");
  EXPECT_FALSE(link.NextCommand().has_value());  // no refit, no re-issue
  EXPECT_TRUE(Get("/api/v1/water/work-orders")["work_orders"].empty());

  // The phone got the self-check notice through the SMS gateway.
  ASSERT_TRUE(WaitFor([&] { return !receiver_.received().empty(); }, 20));
  auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "sms");
  json sms = json::parse(got[0].second);
  EXPECT_EQ(sms["to"], kPhone);
  EXPECT_NE(sms["text"].get<std::string>().find("pause water use"), std::string::npos) << sms.dump();
  ASSERT_TRUE(WaitFor([&] { return HasEvent("notice_delivered"); }, 10));

  // The corrupt frame: refused with the decoder's error, visible over the API and in /metrics.
  json rejected = Get(std::string("/api/v1/water/meters/") + kTerminal + "/rejected");
  ASSERT_EQ(rejected["rejected"].size(), 1u) << rejected.dump();
  EXPECT_NE(rejected["rejected"][0]["reason"].get<std::string>().find("water frame"), std::string::npos) << rejected.dump();
  std::string metrics = c.Get("/metrics")->body;
  EXPECT_NE(metrics.find("meterhub_mqtt_bad_messages_total 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("meterhub_water_frames_total 24"), std::string::npos) << metrics;
  auto done = c.Post("/api/v1/water/work-orders/999/done", {{"Authorization", "Bearer " + token_}}, "", "application/json");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 404) << done->body;
  // OpenCV is not in the daemon until an upload needs it (the vision module, water/vision/module.h).
  auto maps = [&] { return testing::ReadFile("/proc/" + std::to_string(serve.pid()) + "/maps"); };
  EXPECT_EQ(maps().find("libopencv"), std::string::npos) << "OpenCV loaded before any upload";
  // A photo that is not readable gets a clear 422 asking for a better one.
  auto photo = c.Post((std::string("/api/v1/water/meters/") + kTerminal + "/photos?taken_at=" + std::to_string(kDay + 43200) +
                       "&digits=6").c_str(),
                      {{"Authorization", "Bearer " + token_}}, std::string("not a photo"), "image/jpeg");
  ASSERT_TRUE(photo);
  EXPECT_EQ(photo->status, 422) << photo->body;
  EXPECT_NE(photo->body.find("better photo"), std::string::npos) << photo->body;
  EXPECT_NE(maps().find("meterhub-vision.so"), std::string::npos) << "the upload was read without the vision module?";
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Issue 17 item 1 over the daemon: the customer's phone gets the self-check procedure with the
// parameters and the upload link; after the terminal acks, the simulated phone POSTs a start photo
// (PNG rendered from digits/train crops) and, after a 100-litre test draw the flowmeter measured, an
// MP4 clip written with OpenCV's VideoWriter showing 3 % more: the case's parameters are corrected
// over MQTT. After that ack a new start photo and an agreeing end photo close the case.
TEST_F(WaterServeTest, PhotoAndVideoLoopDuringTheSelfCheckCorrectsThenVerifies) {
  auto glyphs = water::vision::LoadGlyphs(testing::SharedData("digits/train"));
  if (!glyphs.ok()) GTEST_SKIP() << "shared digit crops absent: " << glyphs.status().ToString();
  ServeProcess serve(config_, dir_ / "serve.log");
  DeviceLink link(broker_.port(), kTerminal);
  ASSERT_NO_FATAL_FAILURE(StartAndPair(serve, link));
  httplib::Client c("127.0.0.1", http_port_);
  meter::water::TerminalSelfMaintenance terminal(water::FeatureCodeOf(kTerminal));
  auto reported = [&](int64_t i) { return terminal.Report(1.04 * TrueFlow(i) + 0.008); };
  link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay, 360, TrueFlow, true));
  link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay, 360, reported, false));
  std::optional<std::string> command;
  ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 30)) << json(Events()).dump();
  auto apply = [&](const std::string& cmd, int64_t at) {
    Result<meter::water::MaintenanceCommand> mc = sim::ParseWaterCommand(cmd);
    ASSERT_TRUE(mc.ok()) << mc.status().ToString();
    auto ack = terminal.Apply(*mc, at);
    ASSERT_TRUE(ack.ok()) << ack.status().ToString();
    link.Publish("water/ack", sim::WaterAckJson(*ack));
  };
  // The phone's notice: the procedure, the parameters' summary, the upload link.
  ASSERT_TRUE(WaitFor([&] { return !receiver_.received().empty(); }, 20));
  json sms = json::parse(receiver_.received()[0].second);
  const std::string text = sms["text"];
  for (const char* part : {"Please pause water use for 15 min", "New parameters: read 4.", "With all taps closed, photograph the counter",
                           "Open one tap until the counter has advanced 100 L", "Photograph the counter again (or a short video)",
                           "https://meters.example.com/water/WT-0001/photos. We compare"}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << " not in: " << text;
  }
  const int64_t t0 = kDay + 6 * 3600;
  apply(*command, t0 + 60);
  ASSERT_TRUE(WaitFor([&] { return HasEvent("acknowledged"); }, 20)) << json(Events()).dump();
  // The reference flowmeter from 06:00: water paused but for two 100-litre draws (minutes 10–19, 40–49).
  auto draws = [](int64_t i) {
    const int64_t m = i - 6 * 60;
    return (m >= 10 && m < 20) || (m >= 40 && m < 50) ? 0.6 : 0.0;
  };
  link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, t0, 60, draws, true));
  ASSERT_TRUE(WaitFor([&] {
    auto m = c.Get("/metrics");
    return m && m->body.find("meterhub_water_frames_total 3") != std::string::npos;
  }, 20));

  auto image = [&](const std::string& value, unsigned seed) {
    std::mt19937 rng(seed);
    return water::vision::RenderRegister(value, *glyphs, water::vision::RenderOptions{}, rng).image;
  };
  auto png = [&](const std::string& value, unsigned seed) {
    std::vector<uchar> bytes;
    EXPECT_TRUE(cv::imencode(".png", image(value, seed), bytes));
    return std::string(bytes.begin(), bytes.end());
  };
  auto upload = [&](const std::string& body, int64_t at, const char* type) {
    return c.Post((std::string("/api/v1/water/meters/") + kTerminal + "/photos?digits=6&taken_at=" + std::to_string(at)).c_str(),
                  {{"Authorization", "Bearer " + token_}}, body, type);
  };
  auto start = upload(png("001000", 1), t0 + 5 * 60, "image/png");
  ASSERT_TRUE(start);
  ASSERT_EQ(start->status, 200) << start->body;
  EXPECT_EQ(json::parse(start->body)["comparison"]["decision"], "baseline") << start->body;
  std::vector<cv::Mat> frames;
  for (int i = 0; i < 20; ++i) frames.push_back(image("001103", 10 + i / 5));
  Result<std::string> clip = water::vision::EncodeClip(frames, 10, "mp4");
  ASSERT_TRUE(clip.ok()) << clip.status().ToString();
  auto end = upload(*clip, t0 + 25 * 60, "video/mp4");
  ASSERT_TRUE(end);
  ASSERT_EQ(end->status, 200) << end->body;
  json cmp = json::parse(end->body)["comparison"];
  EXPECT_EQ(cmp["decision"], "corrected") << end->body;
  EXPECT_EQ(cmp["media"], "video");
  EXPECT_NEAR(cmp["ratio"].get<double>(), 1.03, 1e-9) << end->body;
  ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 20)) << json(Events()).dump();
  EXPECT_EQ(json::parse(*command)["command_id"], cmp["command_id"]);
  apply(*command, t0 + 30 * 60);
  ASSERT_TRUE(WaitFor([&] {
    auto ev = Events();
    return std::count(ev.begin(), ev.end(), "acknowledged") == 2;
  }, 20)) << json(Events()).dump();

  auto restart = upload(png("001110", 2), t0 + 35 * 60, "image/png");
  ASSERT_TRUE(restart);
  EXPECT_EQ(json::parse(restart->body)["comparison"]["decision"], "correction_changed") << restart->body;
  auto verified = upload(png("001210", 3), t0 + 55 * 60, "image/png");
  ASSERT_TRUE(verified);
  ASSERT_EQ(verified->status, 200) << verified->body;
  EXPECT_EQ(json::parse(verified->body)["comparison"]["decision"], "verified") << verified->body;
  for (const char* e : {"video_read", "photo_refit", "verified_by_photo", "closed"}) EXPECT_TRUE(HasEvent(e)) << e;

  // Uploads have their own body limit (water.max_upload_bytes, above http.max_body_bytes): a
  // 17 MiB body reaches the reader (and is no image), a larger one is refused unread.
  auto over_http_limit = upload(std::string(17 << 20, 'x'), t0 + 3600, "video/mp4");
  ASSERT_TRUE(over_http_limit);
  EXPECT_EQ(over_http_limit->status, 422) << over_http_limit->body.substr(0, 300);
  auto too_big = upload(std::string(kMaxUpload + 1, 'x'), t0 + 3600, "video/mp4");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413) << too_big->body.substr(0, 300);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Issue 17 item 4 over the daemon: a reference flowmeter paired (so taken as calibrated) now, whose
// frames arrive 31 days later, is past water.calibration_period: the drifting terminal's window is
// recorded but sends no command, and a calibration work order opens. The calibration POSTed over
// REST closes the order, and the next window commands the terminal.
TEST_F(WaterServeTest, ExpiredFlowmeterCommandsNothingUntilCalibrated) {
  ServeProcess serve(config_, dir_ / "serve.log");
  DeviceLink link(broker_.port(), kTerminal);
  ASSERT_NO_FATAL_FAILURE(StartAndPair(serve, link));
  httplib::Client c("127.0.0.1", http_port_);
  const int64_t t0 = water::WindowStart(time(nullptr) + 31 * 86400, 21600);
  auto raw = [](int64_t i) { return 1.04 * TrueFlow(i) + 0.008; };
  auto reference = [](int64_t i) { return TrueFlow(i) + FlowmeterNoise(i); };
  auto window = [&](int64_t start) {
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, start, 360, reference, true));
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, start, 360, raw, false));
  };
  window(t0);
  ASSERT_TRUE(WaitFor([&] { return HasEvent("work_order_opened"); }, 30)) << json(Events()).dump();
  EXPECT_TRUE(HasEvent("window_untrusted"));
  EXPECT_FALSE(HasEvent("detected"));
  json orders = Get("/api/v1/water/work-orders?status=open")["work_orders"];
  ASSERT_EQ(orders.size(), 1u) << orders.dump();
  EXPECT_EQ(orders[0]["reason"].get<std::string>().rfind(std::string("calibrate reference flowmeter ") + kFlowmeter, 0), 0u);
  json cal = Get(std::string("/api/v1/water/flowmeters/") + kFlowmeter + "/calibration");
  EXPECT_EQ(cal["terminal_id"], kTerminal) << cal.dump();

  auto post = c.Post((std::string("/api/v1/water/flowmeters/") + kFlowmeter + "/calibrated").c_str(),
                     {{"Authorization", "Bearer " + token_}},
                     json{{"calibrated_at", t0 + 21600}, {"note", "monthly round"}}.dump(), "application/json");
  ASSERT_TRUE(post);
  ASSERT_EQ(post->status, 200) << post->body;
  json body = json::parse(post->body);
  EXPECT_EQ(body["closed_work_orders"], json::array({orders[0]["id"]})) << body.dump();
  EXPECT_EQ(body["due_at"], Get(std::string("/api/v1/water/flowmeters/") + kFlowmeter + "/calibration")["due_at"]);
  EXPECT_TRUE(Get("/api/v1/water/work-orders?status=open")["work_orders"].empty());
  auto unknown = c.Post("/api/v1/water/flowmeters/FM-9999/calibrated", {{"Authorization", "Bearer " + token_}}, "", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << unknown->body;

  window(t0 + 21600);
  std::optional<std::string> command;
  ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 30)) << json(Events()).dump();
  EXPECT_NEAR(json::parse(*command)["parameters"]["a1"].get<double>(), 1.04, 0.004);
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// Issue 17 item 2 over the daemon and MQTT: an erratic terminal gets a work order; the engineer
// schedules the visit over REST (the customer's phone gets the notice through the SMS gateway) and
// pushes operating parameters; the terminal receives them on its command topic, applies them and
// acks with the values before and after, which land in the meter's history.
TEST_F(WaterServeTest, EngineerSchedulesAVisitAndPushesOperatingParametersOverMqtt) {
  ServeProcess serve(config_, dir_ / "serve.log");
  DeviceLink link(broker_.port(), kTerminal);
  ASSERT_NO_FATAL_FAILURE(StartAndPair(serve, link));
  httplib::Client c("127.0.0.1", http_port_);
  auto erratic = [](int64_t i) { return TrueFlow(i) * ((i * 2654435761u) % 5 < 2 ? 0.8 : 1.2) + 0.03 * ((i * 40503u) % 3); };
  link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay, 360, TrueFlow, true));
  link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay, 360, erratic, false));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("work_order_opened"); }, 30)) << json(Events()).dump();
  json orders = Get("/api/v1/water/work-orders?status=open")["work_orders"];
  ASSERT_EQ(orders.size(), 1u);
  const std::string base = "/api/v1/water/work-orders/" + std::to_string(orders[0]["id"].get<int64_t>());
  const httplib::Headers auth = {{"Authorization", "Bearer " + token_}};

  auto scheduled = c.Post((base + "/schedule").c_str(), auth, json{{"visit_at", "2026-11-04T09:00:00Z"}}.dump(), "application/json");
  ASSERT_TRUE(scheduled);
  ASSERT_EQ(scheduled->status, 200) << scheduled->body;
  EXPECT_EQ(json::parse(scheduled->body)["notified"], true);
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& [kind, body] : receiver_.received()) {
      if (kind == "sms" && body.find("2026-11-04T09:00:00Z") != std::string::npos) return true;
    }
    return false;
  }, 20));

  auto bad = c.Post((base + "/parameters").c_str(), auth, json{{"gain", 7}}.dump(), "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  auto pushed = c.Post((base + "/parameters").c_str(), auth, json{{"low_flow_cutoff", 0.005}, {"gain", 1.01}}.dump(),
                       "application/json");
  ASSERT_TRUE(pushed);
  ASSERT_EQ(pushed->status, 202) << pushed->body;
  std::optional<std::string> command;
  ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 30));
  Result<meter::water::MaintenanceCommand> mc = sim::ParseWaterCommand(*command);
  ASSERT_TRUE(mc.ok()) << mc.status().ToString() << " " << *command;
  EXPECT_TRUE(mc->keep_correction);
  meter::water::TerminalSelfMaintenance terminal(water::FeatureCodeOf(kTerminal));
  auto ack = terminal.Apply(*mc, mc->issued_at + 1);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  EXPECT_DOUBLE_EQ(terminal.operating().gain, 1.01);
  link.Publish("water/ack", sim::WaterAckJson(*ack));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("parameters_applied"); }, 20)) << json(Events()).dump();
  json history = Get(std::string("/api/v1/water/meters/") + kTerminal + "/history")["history"];
  std::string applied;
  for (const auto& h : history) {
    if (h["event"] == "parameters_applied") applied = h["detail"];
  }
  EXPECT_NE(applied.find(R"("gain":1.01)"), std::string::npos) << applied;
  EXPECT_NE(applied.find("before"), std::string::npos) << applied;
  EXPECT_TRUE(HasEvent("parameters_pushed"));
  EXPECT_TRUE(HasEvent("visit_scheduled"));
  EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
}

// The pairing table from [water] pairs_file, and configuration errors that name the key or line.
TEST_F(WaterServeTest, PairsFileAndConfigErrors) {
  testing::WriteFile(dir_ / "pairs.csv", std::string("terminal_id,flowmeter_id,phone\n") + kTerminal + "," + kFlowmeter + "," +
                                             kPhone + "\nWT-0002,FM-0002\n");
  std::string base = testing::ReadFile(config_);
  auto with_pairs = [&](const std::string& file) {
    std::string text = base;
    text.replace(text.find("[water]\n"), 8, "[water]\npairs_file = \"" + file + "\"\n");
    return text;
  };
  testing::WriteFile(config_, with_pairs(dir_ / "pairs.csv"));
  {
    ServeProcess serve(config_, dir_ / "serve.log");
    serve.Start();
    ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
    json pairs = Get("/api/v1/water/pairs");
    ASSERT_EQ(pairs["pairs"].size(), 2u) << pairs.dump();
    EXPECT_EQ(pairs["pairs"][0]["terminal_id"], kTerminal);
    EXPECT_EQ(pairs["pairs"][0]["phone"], kPhone);
    EXPECT_EQ(pairs["pairs"][1]["flowmeter_id"], "FM-0002");
    EXPECT_EQ(WEXITSTATUS(serve.Kill(SIGTERM)), 0);
  }
  // A flowmeter paired twice: the daemon refuses to start, naming file and line.
  testing::WriteFile(dir_ / "pairs.csv", "WT-0003,FM-0002\n");
  auto bad_pairs = RunCommand(testing::MeterhubBinary() + " serve --config " + config_ + " 2>&1");
  EXPECT_NE(bad_pairs.exit_code, 0);
  EXPECT_NE(bad_pairs.output.find("pairs.csv:1"), std::string::npos) << bad_pairs.output;
  // A window that is not 6h or 12h.
  std::string text = with_pairs("");
  text.replace(text.find("window = \"6h\""), 13, "window = \"5h\"");
  testing::WriteFile(config_, text);
  auto bad_window = RunCommand(testing::MeterhubBinary() + " serve --config " + config_ + " 2>&1");
  EXPECT_NE(bad_window.exit_code, 0);
  EXPECT_NE(bad_window.output.find("water.window must be 6h or 12h"), std::string::npos) << bad_window.output;
}

// Issue 4 round 3: a maintenance case under way survives a restart of `meterhub serve` (killed
// with SIGKILL between the command and the terminal's ack): the ack sent to the restarted daemon is
// accepted, the next window verifies, the case closes, and no command is re-issued.
TEST_F(WaterServeTest, CaseUnderWaySurvivesARestartOfServe) {
  auto serve = std::make_unique<ServeProcess>(config_, dir_ / "serve.log");
  serve->Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");
  auto paired = Pair();
  ASSERT_TRUE(paired && paired->status == 201) << (paired ? paired->body : "no answer");
  meter::water::TerminalSelfMaintenance terminal(water::FeatureCodeOf(kTerminal));
  auto reported = [&](int64_t i) { return terminal.Report(1.04 * TrueFlow(i) + 0.008); };
  auto reference = [](int64_t i) { return TrueFlow(i) + FlowmeterNoise(i); };
  json cmd;
  {
    DeviceLink link(broker_.port(), kTerminal);
    ASSERT_TRUE(WaitFor([&] { return link.subscribed.load(); }, 10));
    for (int h = 0; h < 6; ++h) {
      link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay + h * 3600, 60, reference, true));
      link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay + h * 3600, 60, reported, false));
    }
    std::optional<std::string> command;
    ASSERT_TRUE(WaitFor([&] { return (command = link.NextCommand()).has_value(); }, 30)) << testing::ReadFile(dir_ / "serve.log");
    cmd = json::parse(*command);
  }
  // The daemon dies mid-case (no clean shutdown), and comes back on the same database.
  serve->Kill(SIGKILL);
  serve = std::make_unique<ServeProcess>(config_, dir_ / "serve.log");
  serve->Start();
  ASSERT_TRUE(WaitFor([&] { return Up(); }, 20)) << testing::ReadFile(dir_ / "serve.log");

  DeviceLink link(broker_.port(), kTerminal);
  ASSERT_TRUE(WaitFor([&] { return link.subscribed.load(); }, 10));
  Result<meter::water::MaintenanceCommand> mc = sim::ParseWaterCommand(cmd.dump());
  ASSERT_TRUE(mc.ok()) << mc.status().ToString();
  auto ack = terminal.Apply(*mc, kDay + 6 * 3600 + 60);
  ASSERT_TRUE(ack.ok()) << ack.status().ToString();
  link.Publish("water/ack", sim::WaterAckJson(*ack));
  ASSERT_TRUE(WaitFor([&] { return HasEvent("acknowledged") || HasEvent("ack_refused"); }, 20)) << json(Events()).dump();
  EXPECT_FALSE(HasEvent("ack_refused")) << json(Events()).dump();
  json params = Get(std::string("/api/v1/water/meters/") + kTerminal + "/parameters");
  EXPECT_EQ(params["commands"][0]["status"], "acknowledged") << params.dump();

  for (int h = 6; h < 12; ++h) {
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kFlowmeter, kFlowmeter, kDay + h * 3600, 60, reference, true));
    link.Publish("water/frame", Frame(codec::WaterDeviceKind::kTerminal, kTerminal, kDay + h * 3600, 60, reported, false));
  }
  ASSERT_TRUE(WaitFor([&] { return HasEvent("closed"); }, 30)) << json(Events()).dump() << testing::ReadFile(dir_ / "serve.log");
  auto events = Events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "command_issued"), 1) << json(events).dump();
  EXPECT_EQ(std::count(events.begin(), events.end(), "verified_clean"), 1) << json(events).dump();
  EXPECT_FALSE(link.NextCommand().has_value());  // no re-issue, no refit
  EXPECT_TRUE(Get("/api/v1/water/work-orders")["work_orders"].empty());
  EXPECT_EQ(WEXITSTATUS(serve->Kill(SIGTERM)), 0);
}

}  // namespace
}  // namespace mh
