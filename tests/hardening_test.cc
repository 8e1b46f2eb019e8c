// What a hostile client found (issue 10, items 8, 9, 12, 13, 14, 15), each tried again the way a
// client meets it: the daemon over HTTP, real webhook receivers on loopback ports.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "app/webhook_receiver.h"
#include "support/api_daemon.h"
#include "support/test_env.h"

namespace mh {
namespace {

using json = nlohmann::json;
using testing::ApiDaemon;
using testing::WaitFor;

// Readings that take meter `id` 15 over its day against T1 = 10: exactly one alert.
void TriggerAlert(ApiDaemon& api, const std::string& id) {
  auto thr = api.Put("/api/v1/meters/" + id + "/threshold", json{{"threshold", 10.0}}.dump());
  ASSERT_EQ(thr->status, 200) << thr->body;
  json batch = json::array({{{"meter", id}, {"ts", "2020-10-29T00:00:00+08:00"}, {"value", 200.0}},
                            {{"meter", id}, {"ts", "2020-10-29T00:15:00+08:00"}, {"value", 203.0}},
                            {{"meter", id}, {"ts", "2020-10-29T00:30:00+08:00"}, {"value", 208.0}},
                            {{"meter", id}, {"ts", "2020-10-29T01:15:00+08:00"}, {"value", 215.0}}});
  auto r = api.Post("/api/v1/readings", batch.dump());
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(json::parse(r->body)["alerts"], 1) << r->body;
}

// The meter's deliveries as `token` sees them.
json Deliveries(ApiDaemon& api, const std::string& meter, const std::string& token = "") {
  auto r = api.Get("/api/v1/deliveries?meter=" + meter, token);
  if (!r || r->status != 200) return json::array();
  return json::parse(r->body)["deliveries"];
}

std::string StatusOf(ApiDaemon& api, const std::string& meter) {
  json d = Deliveries(api, meter);
  return d.empty() ? "" : d[0]["status"].get<std::string>();
}

json Bind(ApiDaemon& api, const std::string& meter, const std::string& channel, const std::string& address,
          const std::string& token = "", const std::string& terminal = "T1") {
  auto r = api.Post("/api/v1/meters/" + meter + "/terminals",
                    json{{"terminal_id", terminal}, {"channel", channel}, {"address", address}}.dump(), "application/json",
                    token);
  return {{"status", r ? r->status : -1}, {"body", r ? r->body : ""}};
}

// --- item 8: every text field bounded, control characters refused, with a 400 naming the field ---

TEST(Hardening, TextFieldsAreBoundedAndControlCharactersRefused) {
  ApiDaemon api("harden-text");
  ASSERT_TRUE(api.started());
  api.Register("M1", "C1");
  const std::string huge(100000, 'A');
  struct Case {
    std::string path;
    json body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/api/v1/meters", {{"meter_id", huge}}, "meter_id"},
      {"/api/v1/meters", {{"meter_id", "M\n1"}}, "meter_id"},
      {"/api/v1/meters", {{"meter_id", "M2"}, {"customer_id", huge}}, "customer_id"},
      {"/api/v1/meters", {{"meter_id", "M2"}, {"customer_id", "C\x01"}}, "customer_id"},
      {"/api/v1/meters", {{"meter_id", "M2"}, {"customer_id", "C\xE2\x80\xAE" "1"}}, "customer_id"},  // RTL override
      {"/api/v1/meters", {{"meter_id", "M2"}, {"customer_id", "C 1"}}, "customer_id"},
      {"/api/v1/meters", {{"meter_id", "M2"}, {"timezone", huge}}, "timezone"},
      {"/api/v1/meters", {{"meter_id", "M2"}, {"kind", huge}}, "kind"},
      {"/api/v1/meters/M1/terminals", {{"terminal_id", huge}, {"channel", "sms"}, {"address", "+8613800138000"}}, "terminal_id"},
      {"/api/v1/meters/M1/terminals", {{"terminal_id", "T\t1"}, {"channel", "sms"}, {"address", "+8613800138000"}}, "terminal_id"},
      {"/api/v1/meters/M1/terminals", {{"terminal_id", "T1"}, {"channel", "webhook"}, {"address", "https://example.com/" + huge}}, "address"},
      {"/api/v1/meters/M1/terminals", {{"terminal_id", "T1"}, {"channel", "sms"}, {"address", "+86138\r\n00138000"}}, "address"},
      {"/api/v1/meters/M1/terminals", {{"terminal_id", "T1"}, {"channel", "email"}, {"address", huge + "@example.com"}}, "address"},
      {"/api/v1/tokens", {{"role", "customer"}, {"name", huge}}, "name"},
      {"/api/v1/tokens", {{"role", "customer"}, {"name", "ops\x1b[31m"}}, "name"},
      {"/api/v1/tokens", {{"role", "customer"}, {"customer_id", huge}}, "customer_id"},
      {"/api/v1/tokens", {{"role", "customer"}, {"customer_id", "C1"}, {"expires", huge}}, "expires"},
      {"/api/v1/users", {{"role", "operator"}, {"username", huge}, {"password", "a long password"}}, "username"},
      {"/api/v1/users", {{"role", "operator"}, {"username", "ann\x1b[31m"}, {"password", "a long password"}}, "username"},
      {"/api/v1/water/pairs", {{"terminal_id", huge}, {"flowmeter_id", "FM1"}}, "terminal_id"},
      {"/api/v1/water/pairs", {{"terminal_id", "WT1"}, {"flowmeter_id", "FM1"}, {"phone", "+86\n138"}}, "phone"},
      // The crash: a 50,000-character install address overflowed the region pattern's stack.
      {"/api/v1/relay/meters",
       {{"meter_id", "R1"}, {"region_code", "440305001"}, {"position_code", "000001"}, {"install_address", huge}},
       "install_address"},
  };
  for (const Case& c : cases) {
    auto r = api.Post(c.path, c.body.dump());
    ASSERT_TRUE(r) << c.path;
    EXPECT_EQ(r->status, 400) << c.path << " " << c.field << ": " << r->body.substr(0, 300);
    EXPECT_NE(r->body.find("'" + c.field + "'"), std::string::npos) << r->body.substr(0, 300);
    EXPECT_LT(r->body.size(), 1000u) << "the value is echoed back";
  }
  // Query parameters are read by the same rules.
  for (const std::string& path :
       {"/api/v1/quarantine?meter=" + std::string(5000, 'M'), std::string("/api/v1/alerts?meter=M%0A1"),
        std::string("/api/v1/meters?offset=12abc"), std::string("/api/v1/meters?customer_id=a%01b"),
        std::string("/api/v1/deliveries?meter=M1&alert=1x"), std::string("/api/v1/meters/M1/readings?from=") + std::string(5000, '9'),
        std::string("/api/v1/meters/M1/consumption?period=%E2%80%AEday"), std::string("/api/v1/meters?limit=5e3"),
        "/api/v1/meters?q=" + std::string(65, 'M'), std::string("/api/v1/meters?q=M%1B1"), std::string("/api/v1/meters?kind=w%0Aater"),
        std::string("/api/v1/events?meter=M1&kind=%E2%80%AE"), "/api/v1/relay/work-orders?meter=" + std::string(5000, 'M')}) {
    auto r = api.Get(path);
    ASSERT_TRUE(r) << path.substr(0, 80);
    EXPECT_EQ(r->status, 400) << path.substr(0, 80) << ": " << r->body.substr(0, 300);
    EXPECT_LT(r->body.size(), 1000u);
  }
  // A 100,000-character query string is refused too, and the daemon carries on.
  auto long_query = api.Get("/api/v1/quarantine?meter=" + huge);
  ASSERT_TRUE(long_query);
  EXPECT_GE(long_query->status, 400);
  EXPECT_LT(long_query->status, 500);
  EXPECT_EQ(api.Get("/api/v1/meters/M1")->status, 200);
  // A correction's reason is a text field like any other (PUT).
  auto reason = api.Put("/api/v1/meters/M1/readings/1603900800", json{{"value", 1.0}, {"reason", huge}}.dump());
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->status, 400) << reason->body.substr(0, 300);
  EXPECT_NE(reason->body.find("'reason'"), std::string::npos) << reason->body.substr(0, 300);
  // The meter search takes any printable text, non-ASCII too.
  EXPECT_EQ(api.Get("/api/v1/meters?q=%E5%AE%A2%E6%88%B7%20M")->status, 200);
  auto ok = api.Post("/api/v1/meters", json{{"meter_id", "M2"}, {"customer_id", "客户-7"}, {"kind", "water"}}.dump());
  EXPECT_EQ(ok->status, 201) << ok->body;  // non-ASCII ids are fine
}

// --- item 9: a CSV body has the per-request reading limit JSON has ---

TEST(Hardening, CsvAndJsonBodiesShareTheReadingLimit) {
  ApiDaemon api("harden-limit");
  ASSERT_TRUE(api.started());
  std::string csv = "meter_id,timestamp,value\n";
  json array = json::array();
  for (int i = 0; i <= 100000; ++i) {
    csv += "NOPE," + std::to_string(1600000000 + 900 * i) + ",1\n";
    array.push_back({{"meter", "NOPE"}, {"ts", 1600000000 + 900 * i}, {"value", 1}});
  }
  auto too_many_csv = api.Post("/api/v1/readings", csv, "text/csv");
  ASSERT_TRUE(too_many_csv);
  EXPECT_EQ(too_many_csv->status, 413) << too_many_csv->body.substr(0, 300);
  EXPECT_NE(too_many_csv->body.find("more than 100000 readings"), std::string::npos) << too_many_csv->body;
  auto too_many_json = api.Post("/api/v1/readings", array.dump());
  EXPECT_EQ(too_many_json->status, 413) << too_many_json->body.substr(0, 300);
  EXPECT_NE(too_many_json->body.find("more than 100000 readings"), std::string::npos) << too_many_json->body;
  // At the limit the body is read (these rows name an unknown meter: nothing stored, 422).
  csv.resize(csv.rfind("NOPE,"));
  auto at_limit = api.Post("/api/v1/readings", csv, "text/csv");
  EXPECT_EQ(at_limit->status, 422) << at_limit->body.substr(0, 300);
}

// --- item 12: a decompression bomb is refused from its header ---

// A valid PNG of width × height 8-bit grey pixels, all black: ~1 KB of deflate per 1 MB of pixels.
std::string BlackPng(uint32_t width, uint32_t height) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string typed = type + data;
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(typed.data()), static_cast<uInt>(typed.size()));
    return be32(static_cast<uint32_t>(data.size())) + typed + be32(crc);
  };
  std::string ihdr = be32(width) + be32(height) + std::string{8, 0, 0, 0, 0};  // depth 8, grey
  z_stream z{};
  deflateInit(&z, 9);
  std::vector<unsigned char> row(width + 1, 0), out(1 << 16);  // filter byte 0, then the pixels
  std::string idat;
  for (uint32_t y = 0; y < height; ++y) {
    z.next_in = row.data();
    z.avail_in = static_cast<uInt>(row.size());
    const int flush = y + 1 == height ? Z_FINISH : Z_NO_FLUSH;
    int rc;
    do {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = deflate(&z, flush);
      idat.append(reinterpret_cast<char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }
  deflateEnd(&z);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", "");
}

// Peak resident memory of this process so far (kB).
int64_t PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return -1;
}

TEST(Hardening, APhotoDeclaringTooManyPixelsIsRefusedBeforeDecoding) {
  ApiDaemon api("harden-photo");
  ASSERT_TRUE(api.started());
  api.Register("WT-1", "C1", "water");
  auto pair = api.Post("/api/v1/water/pairs", json{{"terminal_id", "WT-1"}, {"flowmeter_id", "FM-1"}}.dump());
  ASSERT_EQ(pair->status, 201) << pair->body;
  const std::string customer = api.Token(api::Role::kCustomer, "C1");
  const std::string bomb = BlackPng(16000, 16000);
  EXPECT_LT(bomb.size(), 400u * 1024) << "the bomb is small";
  const std::string path = "/api/v1/water/meters/WT-1/photos?taken_at=2020-10-29T00:00:00Z";

  const int64_t before_kb = PeakRssKb();
  auto r = api.Post(path, bomb, "image/png", customer);
  const int64_t after_kb = PeakRssKb();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(r->body.find("16000 x 16000"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("water.max_photo_pixels"), std::string::npos) << r->body;
  // Decoding it would take ~768 MB (BGR); the refusal costs nothing worth measuring.
  EXPECT_LT(after_kb - before_kb, 64 * 1024) << "peak RSS went from " << before_kb << " kB to " << after_kb << " kB";
  std::cout << "a " << bomb.size() << "-byte PNG of 16000 x 16000: peak RSS " << before_kb << " kB before, " << after_kb
            << " kB after the upload\n";

  // Formats whose size is not checked are never decoded.
  auto bmp = api.Post(path, "BM" + std::string(60, '\0'), "image/bmp", customer);
  EXPECT_EQ(bmp->status, 422) << bmp->body;
  EXPECT_NE(bmp->body.find("not a JPEG or PNG"), std::string::npos) << bmp->body;
  // A photo within the limit is read as before (too dark to read, but decoded).
  auto small = api.Post(path, BlackPng(640, 480), "image/png", customer);
  EXPECT_EQ(small->status, 422) << small->body;
  EXPECT_EQ(small->body.find("not a JPEG or PNG"), std::string::npos) << small->body;
}

// The upload route takes bodies of up to water.max_upload_bytes (64 MiB): its token is checked on
// the headers, so an anonymous client is refused before it has sent (or the server buffered) any
// of the body.
TEST(Hardening, AnAnonymousUploadIsRefusedBeforeItsBodyIsRead) {
  std::signal(SIGPIPE, SIG_IGN);  // the server answers and closes before the body: never die writing it
  ApiDaemon api("harden-upload-auth");
  ASSERT_TRUE(api.started());
  api.Register("WT-1", "C1", "water");
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(api.daemon().http_port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string head =
      "POST /api/v1/water/meters/WT-1/photos?taken_at=2020-10-29T00:00:00Z HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: video/mp4\r\nContent-Length: 60000000\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[1024];
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ::close(fd);
  ASSERT_GT(n, 0) << "no answer to the headers alone";
  buf[n] = 0;
  EXPECT_NE(std::string(buf).find(" 401 "), std::string::npos) << buf;
  EXPECT_NE(std::string(buf).find("WWW-Authenticate"), std::string::npos) << buf;

  // An auditor's token is read-only: refused on the headers as well. (A small body: a client still
  // writing a large one when the early answer closes the connection would get EPIPE.)
  const std::string auditor = api.Token(api::Role::kAuditor);
  auto r = api.Post("/api/v1/water/meters/WT-1/photos?taken_at=2020-10-29T00:00:00Z", std::string(16, 'x'),
                    "video/mp4", auditor);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
}

// --- item 13: SSRF through a customer's terminal ---

TEST(Hardening, CustomersCannotPointTheirWebhooksIntoThePrivateNetwork) {
  ApiDaemon api("harden-ssrf");  // production default: alerts.webhook.allow_private = false
  ASSERT_TRUE(api.started());
  app::WebhookReceiver internal;  // an internal service on loopback
  ASSERT_TRUE(internal.Start().ok());
  internal.Answer(200, "internal-admin: SECRET-TOKEN-42");
  api.Register("M1", "C1");
  const std::string customer = api.Token(api::Role::kCustomer, "C1");
  const std::string port = internal.url("").substr(internal.url("").rfind(':') + 1);

  const std::vector<std::string> refused = {
      internal.url("/internal-admin"), "http://localhost:" + port + "/internal-admin", "http://[::1]:" + port + "/",
      "http://127.1:" + port + "/", "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/hook",
      "https://192.168.0.10/hook", "http://[fd00:ec2::254]/", "http://0.0.0.0:" + port + "/", "ftp://example.com/hook",
      "file:///etc/passwd", "https://example.com/" + std::string(2100, 'a')};
  for (const std::string& url : refused) {
    json r = Bind(api, "M1", "webhook", url, customer);
    EXPECT_EQ(r["status"], 400) << url.substr(0, 80) << ": " << r["body"];
    EXPECT_NE(r["body"].get<std::string>().find("'address'"), std::string::npos) << r["body"];
  }
  EXPECT_EQ(Bind(api, "M1", "sms", "13800138000", customer)["status"], 400);  // no country code
  EXPECT_EQ(Bind(api, "M1", "email", "a@example.com>, <b@example.com", customer)["status"], 400);
  EXPECT_EQ(Bind(api, "M1", "webhook", "https://hooks.example.com/alerts", customer)["status"], 201);
  EXPECT_EQ(Bind(api, "M1", "sms", "+86 138 0013 8000", customer, "T2")["status"], 201);
  EXPECT_EQ(Bind(api, "M1", "email", "alice@example.com", customer, "T3")["status"], 201);
  for (const char* t : {"T1", "T2", "T3"}) EXPECT_EQ(api.Delete(std::string("/api/v1/meters/M1/terminals/") + t, customer)->status, 204);
  EXPECT_EQ(internal.received("/internal-admin"), 0);

  // At send time the address actually connected is checked again: a name that resolves to the
  // loopback interface now (bound when it did not, or through the store) reaches nothing.
  ASSERT_TRUE(api.store().BindTerminal({"T9", "M1", "webhook", "http://localhost:" + port + "/internal-admin"}).ok());
  TriggerAlert(api, "M1");
  ASSERT_TRUE(WaitFor([&] { return StatusOf(api, "M1") == "failed"; }, 15)) << Deliveries(api, "M1").dump();
  EXPECT_EQ(internal.received("/internal-admin"), 0);
  json staff = Deliveries(api, "M1")[0];
  EXPECT_NE(staff["last_error"].get<std::string>().find("loopback"), std::string::npos) << staff.dump();
  json mine = Deliveries(api, "M1", customer)[0];
  EXPECT_EQ(mine["last_error"], "the address is not allowed (not a public internet address)") << mine.dump();
}

TEST(Hardening, CustomersNeverReadWhatAReceiverAnswered) {
  ApiDaemon api("harden-bodies", [](app::Config& c) { c.alerts.webhook.allow_private = true; });
  ASSERT_TRUE(api.started());
  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start().ok());
  receiver.Answer(500, "Traceback: db password SECRET-42 at /srv/internal");
  api.Register("M1", "C1");
  const std::string customer = api.Token(api::Role::kCustomer, "C1");
  ASSERT_EQ(Bind(api, "M1", "webhook", receiver.url("/phone"), customer)["status"], 201);
  TriggerAlert(api, "M1");
  ASSERT_TRUE(WaitFor([&] { return receiver.received("/phone") >= 1 && !Deliveries(api, "M1")[0]["attempts_log"].empty(); }, 15));
  const std::string seen_by_customer = Deliveries(api, "M1", customer).dump();
  EXPECT_EQ(seen_by_customer.find("SECRET-42"), std::string::npos) << seen_by_customer;
  EXPECT_EQ(Deliveries(api, "M1", customer)[0]["last_error"], "HTTP 500 from the receiver");
  EXPECT_EQ(Deliveries(api, "M1", customer)[0]["attempts_log"][0]["error"], "HTTP 500 from the receiver");
  EXPECT_NE(Deliveries(api, "M1").dump().find("SECRET-42"), std::string::npos) << "staff see the details";
}

// --- item 14: an outage of the receiver is ridden out, and failed deliveries can be re-sent ---

int FreePort() {
  app::WebhookReceiver probe;
  if (!probe.Start().ok()) return 0;
  const std::string url = probe.url("");
  probe.Stop();
  return std::atoi(url.c_str() + url.rfind(':') + 1);
}

TEST(Hardening, AReceiverThatIsDownForAWhileGetsTheAlertWhenItComesBack) {
  ApiDaemon api("harden-outage", [](app::Config& c) {
    c.alerts.webhook.allow_private = true;
    c.alerts.dispatcher.initial_backoff_ms = 200;  // the production shape, compressed: doubling to a cap
    c.alerts.dispatcher.max_backoff_ms = 800;
    c.alerts.give_up_after = "1h";
  });
  ASSERT_TRUE(api.started());
  const int port = FreePort();
  ASSERT_GT(port, 0);
  app::WebhookReceiver receiver;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/phone";
  api.Register("M1", "C1");
  ASSERT_EQ(Bind(api, "M1", "webhook", url)["status"], 201);
  TriggerAlert(api, "M1");
  ASSERT_TRUE(WaitFor([&] { return Deliveries(api, "M1")[0]["attempts"].get<int>() >= 3; }, 15));
  EXPECT_EQ(StatusOf(api, "M1"), "pending");
  ASSERT_TRUE(receiver.Start(port).ok());  // back
  ASSERT_TRUE(WaitFor([&] { return StatusOf(api, "M1") == "sent"; }, 15)) << Deliveries(api, "M1").dump();
  EXPECT_EQ(receiver.received("/phone"), 1);
  json log = Deliveries(api, "M1")[0]["attempts_log"];
  EXPECT_EQ(log.back()["result"], "sent");
  EXPECT_EQ(log[0]["result"], "pending");
  // The production defaults ride out a day (README "Alert deliveries").
  app::Config defaults;
  EXPECT_EQ(app::DispatcherOptionsOf(defaults)->give_up_after_ms, 24 * 3600 * 1000);
  EXPECT_EQ(defaults.alerts.dispatcher.max_backoff_ms, 30 * 60 * 1000);
}

TEST(Hardening, FailedDeliveriesAreResentOnRequest) {
  ApiDaemon api("harden-resend", [](app::Config& c) {
    c.alerts.webhook.allow_private = true;
    c.alerts.dispatcher.initial_backoff_ms = 200;
    c.alerts.dispatcher.max_backoff_ms = 400;
    c.alerts.give_up_after = "1s";
  });
  ASSERT_TRUE(api.started());
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/phone";
  api.Register("M1", "C1");
  api.Register("M2", "C2");
  const std::string alice = api.Token(api::Role::kCustomer, "C1", "alice");
  const std::string bob = api.Token(api::Role::kCustomer, "C2", "bob");
  const std::string ops = api.Token(api::Role::kOperator, "", "ops");
  for (const char* m : {"M1", "M2"}) {
    ASSERT_EQ(Bind(api, m, "webhook", url)["status"], 201);
    TriggerAlert(api, m);
  }
  ASSERT_TRUE(WaitFor([&] { return StatusOf(api, "M1") == "failed" && StatusOf(api, "M2") == "failed"; }, 15));
  const int64_t id1 = Deliveries(api, "M1")[0]["id"], id2 = Deliveries(api, "M2")[0]["id"];
  const std::string retry1 = "/api/v1/deliveries/" + std::to_string(id1) + "/retry";

  app::WebhookReceiver receiver;
  ASSERT_TRUE(receiver.Start(port).ok());
  EXPECT_EQ(api.Post(retry1, "", "application/json", bob)->status, 404);  // not bob's meter
  auto mine = api.Post(retry1, "", "application/json", alice);
  ASSERT_EQ(mine->status, 200) << mine->body;
  EXPECT_EQ(json::parse(mine->body)["status"], "pending");
  ASSERT_TRUE(WaitFor([&] { return StatusOf(api, "M1") == "sent"; }, 15)) << Deliveries(api, "M1").dump();
  EXPECT_EQ(api.Post(retry1, "", "application/json", alice)->status, 422);  // sent: nothing to re-send

  EXPECT_EQ(api.Post("/api/v1/deliveries/retry", "", "application/json", alice)->status, 403);
  auto bulk = api.Post("/api/v1/deliveries/retry?meter=M2&since=2020-01-01T00:00:00Z", "", "application/json", ops);
  ASSERT_EQ(bulk->status, 200) << bulk->body;
  EXPECT_EQ(json::parse(bulk->body)["ids"], json::array({id2}));
  ASSERT_TRUE(WaitFor([&] { return StatusOf(api, "M2") == "sent"; }, 15)) << Deliveries(api, "M2").dump();
  EXPECT_EQ(receiver.received("/phone"), 2);

  // The delivery log keeps the re-send between the failed round and the new one.
  json log = Deliveries(api, "M1")[0]["attempts_log"];
  ASSERT_GE(log.size(), 3u) << log.dump();
  EXPECT_EQ(log[log.size() - 3]["result"], "failed") << log.dump();
  EXPECT_EQ(log[log.size() - 2]["result"], "requeued") << log.dump();
  EXPECT_EQ(log[log.size() - 2]["by"], "customer alice") << log.dump();
  EXPECT_EQ(log.back()["result"], "sent");
  EXPECT_FALSE(Deliveries(api, "M1", alice)[0]["attempts_log"][log.size() - 2].contains("by"));
}

// --- item 15: a full store answers 507 (retry), never 413 (drop) ---

TEST(Hardening, AFullStoreAnswers507SoClientsRetry) {
  // A database capped at 4 MB (store.max_size_mb, SQLite's max_page_count) fails its writes with
  // SQLITE_FULL, exactly as a full disk does — without needing a tiny file system in CI.
  ApiDaemon api("harden-full", [](app::Config& c) { c.store.max_size_mb = 4; });
  ASSERT_TRUE(api.started());
  api.Register("M1", "C1");
  int status = 200;
  std::string body, csv;
  for (int batch = 0; batch < 200 && status == 200; ++batch) {
    csv = "meter_id,timestamp,value\n";
    for (int i = 0; i < 2000; ++i) {
      const int n = batch * 2000 + i;
      csv += "M1," + std::to_string(1600000000 + 900 * n) + "," + std::to_string(n) + "\n";
    }
    auto r = api.Post("/api/v1/readings", csv, "text/csv");
    ASSERT_TRUE(r);
    status = r->status;
    body = r->body;
  }
  EXPECT_EQ(status, 507) << body;
  EXPECT_EQ(json::parse(body)["error"]["code"], "storage_full") << body;
  auto again = api.Post("/api/v1/readings", csv, "text/csv");  // the client's retry, still no room
  EXPECT_EQ(again->status, 507) << again->body;
  EXPECT_EQ(api.Get("/api/v1/meters/M1/readings?limit=1")->status, 200);  // reads go on
}

}  // namespace
}  // namespace mh
