#include "gateway/poller.h"

#include <algorithm>
#include <climits>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "codec/cjt188/cjt188.h"
#include "codec/dlt645/dlt645.h"
#include "codec/meter/channels.h"
#include "gateway/stream_frames.h"

namespace mh::gateway {
namespace {

constexpr uint8_t kReply = 0x80, kAbnormal = 0x40, kMore = 0x20, kFunction = 0x1f;

int64_t IntervalMs(const GatewayOptions& o, const GatewayMeter& m) {
  const int64_t s = o.poll_interval_s > 0 ? o.poll_interval_s : (m.interval_s > 0 ? m.interval_s : 900);
  return s * 1000;
}

}  // namespace

DtuPoller::DtuPoller(std::string dtu_id, const GatewayOptions& options, ReadingSink* sink, GatewayCounters* counters)
    : dtu_id_(std::move(dtu_id)), options_(options), sink_(sink), counters_(counters) {}

void DtuPoller::SetMeters(std::vector<GatewayMeter> meters, int64_t now_ms) {
  std::unordered_map<std::string, int64_t> schedule;  // meter → its next read, kept across refreshes
  for (const Scheduled& old : meters_) schedule.emplace(old.meter.meter_id, old.next_ms);
  std::vector<Scheduled> next;
  next.reserve(meters.size());
  const std::string in_flight = flight_.active ? meters_[flight_.meter].meter.meter_id : std::string();
  size_t flight_index = 0;
  for (GatewayMeter& m : meters) {
    if (m.protocol != "dlt645" && m.protocol != "cjt188") continue;  // DLMS meters push, wM-Bus radios publish
    Scheduled s;
    auto known = schedule.find(m.meter_id);
    s.next_ms = known == schedule.end() ? now_ms : known->second;
    if (m.meter_id == in_flight) flight_index = next.size();
    s.meter = std::move(m);
    next.push_back(std::move(s));
  }
  if (flight_.active) {
    // A meter unregistered mid-read: the read ends (its answer, if any, is dropped).
    bool kept = false;
    for (const Scheduled& s : next) kept |= s.meter.meter_id == in_flight;
    if (!kept) flight_ = Flight{};
    else flight_.meter = flight_index;
  }
  meters_ = std::move(next);
}

const std::vector<std::string>& DtuPoller::DataIds(const GatewayMeter& m) const {
  static const std::vector<std::string> kTotalActiveEnergy = {"00010000"};
  return m.data_ids.empty() ? kTotalActiveEnergy : m.data_ids;
}

std::vector<uint8_t> DtuPoller::Step(int64_t now_ms, int64_t now_s) {
  if (!pending_.empty()) return std::exchange(pending_, {});
  if (flight_.active) {
    if (now_ms < flight_.deadline_ms) return {};
    const GatewayMeter& m = meters_[flight_.meter].meter;
    if (flight_.attempt < options_.poll_retries) {
      ++flight_.attempt;
      flight_.deadline_ms = now_ms + options_.poll_timeout_ms;
      in_.clear();
      ++counters_->requests;
      return flight_.request;
    }
    ++counters_->silent;
    spdlog::warn("gateway: meter {} ({} address {}) behind DTU {} did not answer ({} attempts)", m.meter_id,
                 m.protocol, m.address, dtu_id_, flight_.attempt + 1);
    Finish();
  }
  // The meter most overdue goes first.
  size_t best = meters_.size();
  for (size_t i = 0; i < meters_.size(); ++i) {
    if (meters_[i].next_ms <= now_ms && (best == meters_.size() || meters_[i].next_ms < meters_[best].next_ms)) best = i;
  }
  if (best == meters_.size()) return {};
  Scheduled& s = meters_[best];
  const int64_t interval = IntervalMs(options_, s.meter);
  if (now_ms - s.next_ms > interval) ++counters_->late;
  s.next_ms += interval;
  if (s.next_ms <= now_ms) s.next_ms += (now_ms - s.next_ms) / interval * interval + interval;
  flight_ = Flight{};
  flight_.active = true;
  flight_.meter = best;
  flight_.stamp = codec::ReadingStamp(now_s, s.meter.interval_s);
  in_.clear();
  return StartRequest(now_ms);
}

// The first request for the current identifier (or the CJ/T 188 read); an encoding error (a bad
// address in the registration) ends the meter's read.
std::vector<uint8_t> DtuPoller::StartRequest(int64_t now_ms) {
  const GatewayMeter& m = meters_[flight_.meter].meter;
  Result<std::vector<uint8_t>> request = InvalidArgument("unknown protocol");
  if (m.protocol == "dlt645") {
    request = codec::dlt645::EncodeReadRequest(m.address, DataIds(m)[flight_.di]);
  } else {
    codec::cjt188::ReadRequest r;
    r.address = m.address;
    request = codec::cjt188::EncodeReadRequest(r);
  }
  if (!request.ok()) {
    spdlog::error("gateway: cannot read meter {} behind DTU {}: {}", m.meter_id, dtu_id_, request.status().ToString());
    Finish();
    return {};
  }
  flight_.request = std::move(*request);
  flight_.attempt = 0;
  flight_.seq = 0;
  flight_.values.clear();
  flight_.deadline_ms = now_ms + options_.poll_timeout_ms;
  ++counters_->requests;
  return flight_.request;
}

void DtuPoller::Received(std::span<const uint8_t> bytes, int64_t now_ms, int64_t /*now_s*/) {
  if (!flight_.active) return;  // heartbeats, late answers
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  while (flight_.active && !in_.empty()) {
    const FrameCut cut = CutMeterFrame(meters_[flight_.meter].meter.protocol, in_);
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(cut.skip));
    if (cut.length == 0) return;
    std::vector<uint8_t> frame(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(cut.length));
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(cut.length));
    Answer(frame, now_ms);
  }
}

void DtuPoller::Answer(std::span<const uint8_t> frame, int64_t now_ms) {
  if (meters_[flight_.meter].meter.protocol == "dlt645") AnswerDlt645(frame, now_ms);
  else AnswerCjt188(frame);
}

void DtuPoller::AnswerDlt645(std::span<const uint8_t> frame, int64_t now_ms) {
  const GatewayMeter& m = meters_[flight_.meter].meter;
  Result<codec::dlt645::Frame> f = codec::dlt645::ParseFrame(frame);
  if (!f.ok()) return Corrupt(frame, f.status().message());
  if (!(f->control & kReply)) return;  // the DTU echoed our request
  // A well-formed frame of another meter, or for another identifier, is a late answer to an
  // earlier request (one that had timed out): not this meter's answer, and nothing wrong with it.
  if (f->address != m.address) return Stray("from address " + f->address);
  if (f->control & kAbnormal) {
    ++counters_->abnormal;
    spdlog::warn("gateway: meter {} refused data identifier {} (abnormal answer, control 0x{:02x})", m.meter_id,
                 DataIds(m)[flight_.di], f->control);
    return NextDataId(now_ms);
  }
  const uint8_t fn = f->control & kFunction;
  const size_t tail = fn == 0x12 ? 1 : 0;  // follow-up answers end with their frame number
  if ((fn != 0x11 && fn != 0x12) || f->data.size() < 4 + tail) return Corrupt(frame, "not a read answer");
  const std::string& di = DataIds(m)[flight_.di];
  for (size_t i = 0; i < 4; ++i) {
    const uint8_t expected = static_cast<uint8_t>(std::stoul(di.substr((3 - i) * 2, 2), nullptr, 16));
    if (f->data[i] != expected) return Stray("for another data identifier");
  }
  flight_.values.insert(flight_.values.end(), f->data.begin() + 4, f->data.end() - static_cast<std::ptrdiff_t>(tail));
  if (f->control & kMore) {
    Result<std::vector<uint8_t>> follow =
        codec::dlt645::EncodeFollowUpReadRequest(m.address, DataIds(m)[flight_.di], ++flight_.seq);
    if (!follow.ok()) return Corrupt(frame, follow.status().message());
    flight_.request = std::move(*follow);
    flight_.attempt = 0;
    flight_.deadline_ms = now_ms + options_.poll_timeout_ms;
    ++counters_->requests;
    pending_ = flight_.request;
    return;
  }
  Result<std::vector<codec::DecodedRegister>> regs = codec::dlt645::DecodeReadValues(DataIds(m)[flight_.di], flight_.values);
  if (!regs.ok()) return Corrupt(frame, regs.status().message());
  std::vector<Reading> readings = codec::RegisterReadings("dlt645", m.meter_id, *regs, flight_.stamp);
  flight_.readings.insert(flight_.readings.end(), std::make_move_iterator(readings.begin()),
                          std::make_move_iterator(readings.end()));
  NextDataId(now_ms);
}

void DtuPoller::AnswerCjt188(std::span<const uint8_t> frame) {
  const GatewayMeter& m = meters_[flight_.meter].meter;
  Result<codec::DecodedFrame> decoded = codec::cjt188::Decode(frame, codec::DecodeKeys{});
  if (!decoded.ok()) return Corrupt(frame, decoded.status().message());
  if (decoded->address != m.address) return Stray("from address " + decoded->address.value_or("?"));
  flight_.readings = codec::RegisterReadings("cjt188", m.meter_id, decoded->registers, flight_.stamp);
  Finish();
}

// The frame goes to the sink under the polled meter's id: its shard's owner decodes it again and
// keeps it as a rejected message with the decoder's own error. The read of this meter ends.
void DtuPoller::Corrupt(std::span<const uint8_t> frame, const std::string& why) {
  const GatewayMeter& m = meters_[flight_.meter].meter;
  ++counters_->corrupt;
  spdlog::warn("gateway: corrupt answer of meter {} behind DTU {}: {}", m.meter_id, dtu_id_, why);
  if (Status s = sink_->Reject(m.meter_id, m.protocol, frame); !s.ok())
    spdlog::error("gateway: could not hand on the corrupt frame of meter {}: {}", m.meter_id, s.ToString());
  Finish();
}

void DtuPoller::Stray(const std::string& what) {
  ++counters_->stray;
  spdlog::info("gateway: DTU {}: dropped a late answer {} while reading meter {}", dtu_id_, what,
               meters_[flight_.meter].meter.meter_id);
}

void DtuPoller::NextDataId(int64_t now_ms) {
  if (++flight_.di >= DataIds(meters_[flight_.meter].meter).size()) return Finish();
  pending_ = StartRequest(now_ms);
}

void DtuPoller::Finish() {
  ++counters_->polls;
  if (!flight_.readings.empty()) {
    const int64_t n = static_cast<int64_t>(flight_.readings.size());
    if (Status s = sink_->Deliver(flight_.readings); s.ok()) {
      counters_->readings += n;
    } else {
      counters_->deliver_failed += n;
      spdlog::error("gateway: readings of meter {} not delivered: {}", flight_.readings.front().meter_id, s.ToString());
    }
  }
  flight_ = Flight{};
  pending_.clear();
  in_.clear();
}

int64_t DtuPoller::NextWakeMs() const {
  if (!pending_.empty()) return 0;
  if (flight_.active) return flight_.deadline_ms;
  int64_t next = INT64_MAX;
  for (const Scheduled& s : meters_) next = std::min(next, s.next_ms);
  return next;
}

void DtuPoller::Abandon() {
  if (!flight_.active) return;
  ++counters_->cut_mid_poll;
  spdlog::warn("gateway: DTU {} disconnected while meter {} was being read", dtu_id_,
               meters_[flight_.meter].meter.meter_id);
  Finish();
}

}  // namespace mh::gateway
