#include "sim/water_devices.h"

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/meter_id.h"
#include "water/operating_json.h"
#include "water/pairing.h"

namespace mh::sim {

using json = nlohmann::json;
using meter::water::Correction;
using meter::water::MaintenanceAck;
using meter::water::MaintenanceCommand;

Result<std::string> EncodeFlowFrame(codec::WaterDeviceKind kind, const std::string& feature_code,
                                    const std::string& device_id, int64_t start, int interval_s,
                                    const std::vector<double>& flows, bool relayed) {
  codec::WaterFrame f;
  f.kind = kind;
  f.relayed = relayed;
  f.feature_code = feature_code;
  f.device_id = device_id;
  f.start = start;
  f.interval_s = static_cast<uint32_t>(interval_s);
  f.samples.reserve(flows.size());
  // A meter never reports a negative flow (noise around zero reads as zero).
  for (double q : flows) MH_RETURN_IF_ERROR(f.AppendFlow(std::isnan(q) ? q : std::max(0.0, q)));
  return codec::EncodeWaterFrame(f);
}

Result<MaintenanceCommand> ParseWaterCommand(std::string_view payload) {
  json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("water command: not a JSON object");
  const std::string type = j.value("type", "");
  if (type != "water_maintenance" && type != "water_parameters") {
    return InvalidArgument("water command: type is not water_maintenance or water_parameters");
  }
  MaintenanceCommand c;
  try {
    c.command_id = j.at("command_id").get<std::string>();
    c.feature_code = j.at("feature_code").get<std::string>();
    c.issued_at = j.at("issued_at").get<int64_t>();
    c.expires_at = j.at("expires_at").get<int64_t>();
    if (j.contains("operating")) {
      MH_ASSIGN_OR_RETURN(c.operating, water::ParseOperatingChangeJson(j["operating"]));
    }
    if (type == "water_parameters") {  // an engineer's operating parameters only
      c.keep_correction = true;
      return c;
    }
    const json& p = j.at("parameters");
    const std::string model = p.at("model").get<std::string>();
    if (model == "linear") {
      c.correction = Correction::Linear(p.at("a1").get<double>(), p.at("a2").get<double>());
    } else if (model == "power") {
      c.correction = Correction::Power(p.at("a").get<double>(), p.at("b").get<double>(), p.at("c").get<double>());
    } else {
      return InvalidArgument("water command: parameters.model '" + model + "' is not linear or power");
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("water command: ") + e.what());
  }
  return c;
}

std::string WaterAckJson(const MaintenanceAck& ack) {
  json j = {{"command_id", ack.command_id}, {"feature_code", ack.feature_code}, {"applied_at", ack.applied_at}};
  if (ack.before) j["before"] = water::OperatingJson(*ack.before);
  if (ack.after) j["after"] = water::OperatingJson(*ack.after);
  return j.dump();
}

WaterDeviceLink::WaterDeviceLink(std::string terminal_id)
    : terminal_id_(std::move(terminal_id)), base_("meters/" + std::to_string(ShardOf(terminal_id_)) + "/" + terminal_id_) {}

WaterDeviceLink::~WaterDeviceLink() {
  if (!mosq_) return;
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  mosquitto_destroy(mosq_);
}

Status WaterDeviceLink::Connect(int port, const ingest::MqttTls& tls) {
  if (mosq_) return FailedPrecondition("water device " + terminal_id_ + ": already connected");
  mosquitto_lib_init();
  mosq_ = mosquitto_new(("sim-" + terminal_id_).c_str(), true, this);
  if (!mosq_) return Internal("water device " + terminal_id_ + ": mosquitto_new failed");
  MH_RETURN_IF_ERROR(ingest::ApplyMqttTls(mosq_, tls).WithContext("water device " + terminal_id_));
  // (Re)subscribe on every connect: a clean session forgets subscriptions.
  mosquitto_connect_callback_set(mosq_, [](struct mosquitto* m, void* self, int rc) {
    auto* d = static_cast<WaterDeviceLink*>(self);
    if (rc == 0) mosquitto_subscribe(m, nullptr, (d->base_ + "/commands").c_str(), 1);
  });
  mosquitto_subscribe_callback_set(mosq_, [](struct mosquitto*, void* self, int, int, const int*) {
    static_cast<WaterDeviceLink*>(self)->subscribed = true;
  });
  mosquitto_message_callback_set(mosq_, [](struct mosquitto*, void* self, const struct mosquitto_message* msg) {
    auto* d = static_cast<WaterDeviceLink*>(self);
    std::lock_guard lock(d->mu_);
    d->commands_.emplace_back(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen));
    ++d->received;
  });
  mosquitto_publish_callback_set(mosq_, [](struct mosquitto*, void* self, int) { ++static_cast<WaterDeviceLink*>(self)->acked; });
  const int rc = mosquitto_connect(mosq_, "127.0.0.1", port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("water device " + terminal_id_ + ": cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                       mosquitto_strerror(rc));
  }
  mosquitto_loop_start(mosq_);
  return Status::Ok();
}

Status WaterDeviceLink::Publish(const std::string& suffix, const std::string& payload) {
  if (!mosq_) return FailedPrecondition("water device " + terminal_id_ + ": not connected");
  const std::string topic = base_ + "/" + suffix;
  const int rc = mosquitto_publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    return Unavailable("water device " + terminal_id_ + ": publish " + topic + ": " + mosquitto_strerror(rc));
  }
  ++sent;
  return Status::Ok();
}

std::optional<std::string> WaterDeviceLink::NextCommand() {
  std::lock_guard lock(mu_);
  if (commands_.empty()) return std::nullopt;
  std::string c = std::move(commands_.front());
  commands_.pop_front();
  return c;
}

bool WaterDeviceLink::WaitAcked(double timeout_s) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (acked.load() < sent.load()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

SimWaterTerminal::SimWaterTerminal(std::string terminal_id, std::string flowmeter_id)
    : link_(terminal_id), flowmeter_id_(std::move(flowmeter_id)), terminal_(water::FeatureCodeOf(terminal_id)) {}

Status SimWaterTerminal::PublishSpan(int64_t start, int interval_s, const std::vector<double>& reference,
                                     const std::vector<double>& raw, int frame_samples) {
  std::vector<double> reported(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) reported[i] = std::isnan(raw[i]) ? raw[i] : terminal_.Report(raw[i]);
  auto send = [&](codec::WaterDeviceKind kind, const std::string& device, const std::vector<double>& flows,
                  bool relayed) -> Status {
    const size_t step = frame_samples > 0 ? static_cast<size_t>(frame_samples) : std::max<size_t>(1, flows.size());
    for (size_t i = 0; i < flows.size(); i += step) {
      const std::vector<double> part(flows.begin() + static_cast<std::ptrdiff_t>(i),
                                     flows.begin() + static_cast<std::ptrdiff_t>(std::min(flows.size(), i + step)));
      const int64_t from = start + static_cast<int64_t>(i) * interval_s;
      MH_ASSIGN_OR_RETURN(std::string frame, EncodeFlowFrame(kind, feature_code(), device, from, interval_s, part, relayed));
      MH_RETURN_IF_ERROR(link_.Publish("water/frame", frame));
    }
    return Status::Ok();
  };
  MH_RETURN_IF_ERROR(send(codec::WaterDeviceKind::kFlowmeter, flowmeter_id_, reference, true));
  return send(codec::WaterDeviceKind::kTerminal, terminal_id(), reported, false);
}

std::vector<SimWaterTerminal::CommandOutcome> SimWaterTerminal::HandleCommands(int64_t now) {
  std::vector<CommandOutcome> out;
  while (auto payload = link_.NextCommand()) {
    CommandOutcome o;
    auto command = ParseWaterCommand(*payload);
    if (!command.ok()) {
      o.error = command.status().ToString();
      out.push_back(std::move(o));
      continue;
    }
    o.command_id = command->command_id;
    o.correction = command->correction;
    auto ack = terminal_.Apply(*command, now);
    if (!ack.ok()) {
      o.error = ack.status().ToString();
    } else if (Status s = link_.Publish("water/ack", WaterAckJson(*ack)); !s.ok()) {
      o.error = s.ToString();
    } else {
      o.applied = true;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace mh::sim
