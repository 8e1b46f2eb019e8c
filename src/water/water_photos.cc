// The customer's photos and clips of the register (SPEC 3.6; WaterService, water_service.h): read
// outside the service's lock, then compared with the reference flowmeter's volume over the span
// since the previous photo, verifying or correcting the parameters (procedure.h: the test draw).
#include <cmath>
#include <cstdio>

#include "codec/water_frame.h"
#include "core/time.h"
#include "water/water_service.h"

namespace mh::water {

using json = nlohmann::json;

double WaterService::DeviceVolume(const std::string& feature_code, const std::string& device_id, int64_t from, int64_t to,
                                  double* coverage) {
  *coverage = 0;
  auto frames = store_->ListFrames(feature_code, device_id, from, to);
  if (!frames.ok()) return 0;
  std::map<int64_t, double> samples;  // t → m³ over its interval (a resent frame replaces)
  for (const auto& rec : *frames) {
    auto f = codec::DecodeWaterFrame(rec.payload);
    if (!f.ok()) continue;
    for (size_t i = 0; i < f->samples.size(); ++i) {
      const int64_t t = f->start + static_cast<int64_t>(i) * f->interval_s;
      auto q = f->FlowAt(i);
      if (q && t >= from && t < to) samples[t] = *q * f->interval_s / 3600.0;
    }
  }
  double v = 0;
  for (const auto& [t, m3] : samples) v += m3;
  if (!frames->empty() && to > from) {
    auto f = codec::DecodeWaterFrame(frames->front().payload);
    const double interval = f.ok() ? f->interval_s : 60;
    *coverage = samples.size() * interval / static_cast<double>(to - from);
  }
  return v;
}

ProcedureOptions WaterService::Procedure() const {
  ProcedureOptions p;
  p.unit_m3 = options_.photo_unit_m3;
  p.min_units = options_.photo_min_units;
  p.upload_url = options_.upload_url;
  p.reply_to = options_.reply_to;
  return p;
}

Result<UploadReading> WaterService::ReadUpload(const std::string& bytes, int digits) {
  if (options_.photo_reader == nullptr) return Unavailable("photos cannot be read here: no photo reader");
  UploadLimits limits;
  limits.digits = digits > 0 ? digits : options_.photo_digits;
  limits.caps = options_.upload;
  return options_.photo_reader->Read(bytes, limits);
}

Result<PhotoOutcome> WaterService::OnPhoto(const std::string& terminal_id, const std::string& image_bytes, int64_t taken_at,
                                           int digits) {
  PairingEntry entry;
  {
    std::lock_guard lock(mu_);
    const PairingEntry* e = table_.ByTerminal(terminal_id);
    if (e == nullptr) return NotFound("no water terminal '" + terminal_id + "' in the pairing table");
    entry = *e;
  }
  // Reading outside the lock: milliseconds of CPU for a photo, a fraction of a second for a clip.
  MH_ASSIGN_OR_RETURN(UploadReading reading, ReadUpload(image_bytes, digits));
  taken_at += reading.offset_s;
  const int64_t now = clock_->NowSeconds();
  PhotoOutcome o;
  std::lock_guard lock(mu_);
  Meter& m = MeterFor(entry);
  MH_RETURN_IF_ERROR(Commit([&]() -> Status {
    MH_RETURN_IF_ERROR(PhotoOutcomeLocked(m, entry, reading, taken_at, now, &o));
    return SaveState(m);
  }));
  return o;
}

Status WaterService::PhotoOutcomeLocked(Meter& m, const PairingEntry& entry, const UploadReading& reading,
                                        int64_t taken_at, int64_t now, PhotoOutcome* out) {
  const json& media = reading.media;
  PhotoOutcome& o = *out;
  const std::string& terminal_id = entry.terminal_id;
  const bool video = media.value("media", "") == "video";
  o.readable = reading.ok();
  o.value = reading.value;
  if (!reading.ok()) {
    o.message = "unreadable: " + reading.unreadable + " — please take a better " +
                (video ? "clip (or a photo)" : "photo") + " of the meter's counter";
    o.detail = {{"decision", "unreadable"}};
    o.detail.update(media);
    MH_RETURN_IF_ERROR(store_->AddPhoto({0, terminal_id, taken_at, "", reading.unreadable, o.detail.dump(), now}).status());
    return History(entry.feature_code, taken_at, video ? "video_unreadable" : "photo_unreadable", reading.unreadable);
  }
  // The span: from the latest readable photo before this one.
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterPhotoRecord> photos, store_->ListPhotos(terminal_id));
  const store::WaterPhotoRecord* base = nullptr;
  for (const auto& p : photos) {
    if (!p.value.empty() && p.taken_at < taken_at) base = &p;
  }
  json d;
  if (base == nullptr) {
    d = {{"decision", "baseline"}};
    o.message = "read " + reading.value + ": recorded as the start photo; now open a tap for the test draw and send a "
                "second photo once it is closed again";
  } else {
    MH_RETURN_IF_ERROR(ComparePhotos(m, entry, *base, reading.value, taken_at, &d, &o.message));
  }
  d.update(media);
  o.detail = d;
  const store::WaterPhotoRecord record{0, terminal_id, taken_at, reading.value, "", d.dump(), now};
  MH_RETURN_IF_ERROR(store_->AddPhoto(record).status());
  if (d.value("decision", "") == "no_reference") m.pending_photo = record;
  else m.pending_photo.reset();
  return History(entry.feature_code, taken_at, video ? "video_read" : "photo_read", reading.value + ": " + d.value("decision", ""));
}

Status WaterService::RetryPendingPhoto(Meter& m) {
  const store::WaterPhotoRecord photo = *m.pending_photo;
  MH_ASSIGN_OR_RETURN(std::vector<store::WaterPhotoRecord> photos, store_->ListPhotos(photo.terminal_id));
  const store::WaterPhotoRecord* base = nullptr;
  for (const auto& p : photos) {
    if (!p.value.empty() && p.taken_at < photo.taken_at) base = &p;
  }
  if (base == nullptr) {
    m.pending_photo.reset();
    return Status::Ok();
  }
  json d;
  std::string message;
  MH_RETURN_IF_ERROR(ComparePhotos(m, m.entry, *base, photo.value, photo.taken_at, &d, &message));
  const std::string decision = d.value("decision", "");
  if (decision == "no_reference") return Status::Ok();  // still not covered
  m.pending_photo.reset();
  // The customer's upload was answered "waiting for the reference"; the outcome goes to the phone.
  MH_RETURN_IF_ERROR(History(m.entry.feature_code, photo.taken_at, "photo_compared", photo.value + ": " + decision));
  const PairingEntry* e = table_.ByFeatureCode(m.entry.feature_code);
  const std::string phone = e != nullptr ? e->phone : "";
  if (phone.empty()) return Status::Ok();
  json j = {{"type", "water_photo_compared"}, {"terminal_id", m.entry.terminal_id}, {"feature_code", m.entry.feature_code},
            {"text", message}, {"comparison", d}};
  pending_notices_.push_back({m.entry.feature_code, "phone", phone, "Water meter self-check", message, j.dump()});
  return History(m.entry.feature_code, photo.taken_at, "notice_queued", "to " + phone + ": " + message);
}

Status WaterService::ComparePhotos(Meter& m, const PairingEntry& entry, const store::WaterPhotoRecord& base,
                                   const std::string& value, int64_t taken_at, json* out, std::string* message) {
  json& d = *out;
  std::string& msg = *message;
  // Registers longer than 18 digits do not exist; the reader caps at 20, so parse defensively.
  auto number = [](const std::string& v) -> int64_t {
    int64_t n = 0;
    for (char ch : v.substr(v.size() > 18 ? v.size() - 18 : 0)) n = n * 10 + (ch - '0');
    return n;
  };
  const int64_t units = number(value) - number(base.value);
  double coverage = 0, term_cov = 0;
  const double v_flow = DeviceVolume(entry.feature_code, entry.flowmeter_id, base.taken_at, taken_at, &coverage);
  const double v_term = DeviceVolume(entry.feature_code, entry.terminal_id, base.taken_at, taken_at, &term_cov);
  const double v_meter = units * options_.photo_unit_m3;
  d = {{"from", base.taken_at}, {"to", taken_at}, {"from_value", base.value}, {"to_value", value},
       {"register_units", units}, {"displayed_m3", v_meter}, {"flowmeter_m3", v_flow}, {"flowmeter_coverage", coverage},
       {"terminal_reported_m3", v_term}};
  const std::string read = "read " + value + ": ";
  // The rule (digits NOTES): act on a reading only when both photos were read with every digit
  // confident (the reader refuses otherwise), the register moved by ≥ photo_min_units steps (one
  // step of a rolling last drum is then ≤ 1 %), the flowmeter covers the span, and one correction
  // was in force all along (a span across the terminal's self-maintenance compares two meters).
  if (base.taken_at < m.mm->applied_since() && taken_at >= m.mm->applied_since()) {
    d["decision"] = "correction_changed";
    msg = read + "the meter applied its new parameters at " + FormatIsoUtc(m.mm->applied_since()) +
          ", after the previous photo: this photo is the new start photo; open a tap for the test draw and send a second one";
    return Status::Ok();
  }
  if (units < options_.photo_min_units) {
    d["decision"] = "span_too_small";
    char litres[32];
    std::snprintf(litres, sizeof litres, "%.0f", TestDrawLitres(Procedure()));
    msg = read + "the register moved " + std::to_string(units) + " steps since the last photo; " +
          std::to_string(options_.photo_min_units) + " are needed to compare — let the tap run to " + litres +
          " litres and send another photo";
    return Status::Ok();
  }
  if (coverage < options_.photo_min_coverage || v_flow <= 0) {
    d["decision"] = "no_reference";
    msg = read + "the reference flowmeter's data for the span have not all arrived yet; you will get the result "
          "by message once they have";
    return Status::Ok();
  }
  const double ratio = v_meter / v_flow;
  d["ratio"] = ratio;
  const bool within = std::abs(ratio - 1) <= options_.photo_tolerance;
  // The register shows f⁻¹(raw) ≈ ratio × true, so raw = f(ratio × true): scale the input of f.
  Correction c = m.mm->applied();
  if (c.model == Correction::kPower) c.a *= std::pow(ratio, c.b);
  else c.a1 *= ratio;
  const std::string ratio_text = std::to_string(ratio);
  if (!within) {
    if (Status valid = c.Validate(); !valid.ok()) {
      d["decision"] = "unsafe";
      msg = read + "the deviation is too large to correct remotely (" + valid.message() + ")";
      return History(entry.feature_code, taken_at, "photo_deviation", "displayed/reference = " + ratio_text + ": unsafe");
    }
  }
  // A case under way: the comparison verifies or corrects its parameters.
  CaseOutputs outputs;
  const std::string what = "photos " + base.value + " → " + value + ", displayed/reference = " + ratio_text;
  const std::string decided = m.mm->OnPhoto(within, c, what, taken_at, &outputs);
  if (!decided.empty()) {
    d["decision"] = decided;
    d["case"] = m.mm->cases_opened();
    if (decided == "verified") {
      msg = read + "the meter agrees with the reference flowmeter (ratio " + ratio_text + "): the self-check is complete";
    } else if (decided == "corrected") {
      d["command_id"] = m.mm->current_case()->current_command().command_id;
      d["parameters"] = CorrectionJson(c);
      msg = read + "the meter shows " + ratio_text + " × the reference volume; corrected parameters sent to the meter — "
            "please repeat the test draw once you get the next message";
    } else if (decided == "work_order") {
      msg = read + "the meter still shows " + ratio_text + " × the reference volume; an engineer will contact you";
    } else if (decided == "awaiting_ack") {
      msg = read + "the meter has not applied its new parameters yet; take the start photo after the pause";
    } else {
      msg = read + "noted (ratio " + ratio_text + "); the new parameters are still being computed";
    }
    return Emit(m, outputs);
  }
  if (within) {
    d["decision"] = "confirmed";
    msg = read + "the meter agrees with the reference flowmeter (ratio " + ratio_text + ")";
    return Status::Ok();
  }
  MaintenanceCommand cmd;
  cmd.command_id = entry.feature_code + "-photo-" + std::to_string(++m.photo_commands) + "-" + std::to_string(taken_at);
  cmd.feature_code = entry.feature_code;
  cmd.issued_at = std::max(taken_at, m.device_now);
  cmd.expires_at = cmd.issued_at + options_.cases.command_ttl_s;
  cmd.correction = c;
  d["decision"] = "corrected";
  d["command_id"] = cmd.command_id;
  d["parameters"] = CorrectionJson(c);
  MH_RETURN_IF_ERROR(History(entry.feature_code, taken_at, "photo_deviation", "displayed/reference = " + ratio_text));
  MH_RETURN_IF_ERROR(SendCommand(m, cmd, "photo"));
  msg = read + "the meter shows " + ratio_text + " × the reference volume; corrected parameters sent to the meter";
  return Status::Ok();
}

}  // namespace mh::water
