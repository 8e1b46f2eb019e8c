// The platform side of water remote maintenance (SPEC 3) as the daemon runs it: frames from MQTT
// are decoded and stored, windows close and are pre-checked, the per-meter maintenance case
// (MeterMaintenance) runs, and its outputs go out — commands to the terminal, the self-check
// notice to the bound phone, work orders — with every step in the meter's history (WaterStore).
// Customer photos of the register (SPEC 3.6) are read here too.
//
// Time: the loop runs on the DEVICES' sample time. A window is checked at its end instant, a
// command issued then expires command_ttl later, and expiry is judged against the latest sample
// instant the meter's devices have sent. In service the two clocks agree to within a frame's
// delay; frames replayed late (or a simulator running days in seconds) are judged as they happened.
//
// A window [s, s + W) closes when both devices have sent a sample at or after s + W − interval, or
// when either device has sent samples at or beyond s + W + close_after (the partner is lost).
// Windows close in time order; samples of a window already checked are ignored (and counted).
//
// Durability: everything one event causes (a frame: the frame, the window, its history records,
// the command, the meter's maintenance state) is written in ONE store transaction
// (WaterStore::Batch), committed before OnFrame/OnAck returns — so the MQTT acknowledgement still
// follows the durable write, at one fsync per event instead of one per record. Commands and
// notices go out only after that commit (a command is never on the wire before it is stored), and
// their outcome is recorded in a second small transaction. The maintenance state of each meter
// (case under way, pooled samples, correction in force) is part of the batch, so a restart
// resumes a case where it was: an ack after the restart is accepted.
// If a batch fails (a store error), its writes are rolled back and the error returned; the
// in-memory state may then be ahead of the store until the next restart.
//
// Thread-safe: one mutex around the state and the store writes. Notifications (phone, work-order
// webhook) go out from an own thread, so a slow gateway never holds up MQTT acknowledgements.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "codec/water_frame.h"
#include "store/water_store.h"
#include "water/meter_maintenance.h"
#include "water/procedure.h"
#include "water/photo_reader.h"

namespace mh::water {

struct WaterServiceOptions {
  int64_t window_s = 6 * 3600;        // 6h or 12h (SPEC 3.3)
  int64_t close_after_s = 3600;       // a window missing its partner's data is checked this long after its end
  // Samples of the two devices pair when at most this far apart (MatchSamples); kHalfInterval =
  // half the sample interval. Unpaired samples within it of a window's end are carried into the
  // next window, so a skewed clock loses no pair at window boundaries.
  int64_t pair_tolerance_s = kHalfInterval;
  // The reference flowmeter is calibrated monthly (seed 001). One whose last calibration (or, never
  // calibrated, its pairing) is older than this at a window's end is not trusted: the window is
  // recorded but commands nothing, and one calibration work order is opened. 0 = not tracked.
  int64_t calibration_period_s = 30 * 86400;
  PreCheckOptions precheck;
  CaseOptions cases;
  // Photos (SPEC 3.6).
  double photo_unit_m3 = 0.001;       // volume of one step of the last drum
  int photo_digits = 0;               // drums on the register; 0 = estimate from the window's shape
  int64_t photo_min_units = 100;      // a span must advance the register by this many steps
  double photo_min_coverage = 0.95;   // share of the span the flowmeter's samples must cover
  double photo_tolerance = 0.02;      // |displayed / reference − 1| above this corrects the parameters
  // Uploads (photos and clips) larger than its bytes are refused unread; photos (and clip frames)
  // with more pixels, and clips with more frames or a longer duration, from their headers
  // (ResourceExhausted).
  UploadCaps upload;
  // Where the self-check notice tells the customer to send the photos ("{terminal}" = its id).
  std::string upload_url;
  std::string reply_to;
  // Reads the uploads; must outlive the service. nullptr: every upload is refused (Unavailable).
  const PhotoReader* photo_reader = nullptr;
};

// Sends a command payload on the terminal's command topic.
using PublishFn = std::function<Status(const std::string& terminal_id, const std::string& payload)>;
// Delivers one notice (blocking; called from the service's notifier thread). kind: "phone" (address
// = phone number) or "work_order" (address empty: the configured work-order endpoint).
using NotifyFn = std::function<Status(const std::string& kind, const std::string& address, const std::string& subject,
                                      const std::string& text, const std::string& json)>;

// What a photo came to.
struct PhotoOutcome {
  bool readable = false;
  std::string value;
  std::string message;     // for the customer: the unreadable reason, or what was done
  nlohmann::json detail;   // span, volumes, ratio, decision
};

class WaterService {
 public:
  // Loads the pairing table from the store. "*store" and "*clock" must outlive the service.
  static Result<std::unique_ptr<WaterService>> Create(store::WaterStore* store, const Clock* clock, WaterServiceOptions options,
                                                      PublishFn publish, NotifyFn notify);
  ~WaterService();

  // The pairing table (claims 5, 6, 8). Validated (ids, phone); persisted before it is used.
  Status PutPair(const std::string& terminal_id, const std::string& flowmeter_id, const std::string& phone);
  Result<std::vector<store::WaterPairRecord>> Pairs();

  // MQTT meters/<shard>/<device>/water/frame: `device` is the frame's device, or the terminal
  // relaying its flowmeter's frame. InvalidArgument for anything that must not be retried (corrupt,
  // unknown feature code, wrong device); the frame is stored before OK.
  Status OnFrame(const std::string& device, std::string_view payload);
  // MQTT meters/<shard>/<terminal>/water/ack: {"command_id","feature_code","applied_at"}.
  Status OnAck(const std::string& terminal_id, std::string_view payload);
  // A photo (PNG/JPEG) or a short clip (MP4/WebM) of the terminal's register taken at `taken_at`
  // (a clip: started then; its reading is dated by the frames it came from). NotFound for an unknown
  // terminal; ResourceExhausted, undecoded, past max_upload_bytes, max_photo_pixels or a clip's
  // frame and duration caps; a body that does not decode, or a clip whose frames do not agree, is an
  // unreadable outcome. While a maintenance case is open, a comparison verifies or corrects the
  // case's parameters (MaintenanceCase::OnPhoto).
  Result<PhotoOutcome> OnPhoto(const std::string& terminal_id, const std::string& image_bytes, int64_t taken_at, int digits);

  // The engineer's visit for work order `id` is done: the order is closed, the terminal's correction
  // after the visit (identity when it was reset or replaced) is in force from the meter's current
  // device time, and detection is re-armed. NotFound for an unknown order; FailedPrecondition
  // when it is already done.
  Status WorkOrderDone(int64_t id, const Correction& terminal_correction);

  // A calibration of reference flowmeter `flowmeter_id` at `at`: recorded in the meter's history
  // (flowmeter_calibrated), the flowmeter trusted again until at + calibration_period, and open
  // calibration work orders closed (their ids returned). NotFound for a flowmeter not paired.
  // `at` nullopt = now (the service's clock).
  Result<std::vector<int64_t>> FlowmeterCalibrated(const std::string& flowmeter_id, std::optional<int64_t> at,
                                                   const std::string& note);
  // When the flowmeter was last calibrated (its pairing if never) and until when it is trusted.
  struct CalibrationState {
    std::string terminal_id, feature_code;
    int64_t calibrated_at = 0, due_at = 0;
  };
  Result<CalibrationState> Calibration(const std::string& flowmeter_id);

  // An engineer pushes operating parameters to the terminal of open work order `id` (SPEC 3.5 "adjust
  // operating parameters"): a "water_parameters" command (source "engineer", the correction kept),
  // recorded in the history (parameters_pushed; its ack's before/after as parameters_applied).
  // Returns the command id. NotFound for an unknown order, FailedPrecondition for a done one.
  Result<std::string> PushParameters(int64_t id, const meter::water::OperatingChange& change);
  // The on-site visit of open work order `id` is scheduled at `visit_at`: recorded (visit_scheduled)
  // and the customer's phone told. Returns whether a notice was queued (false: no phone bound).
  Result<bool> ScheduleVisit(int64_t id, int64_t visit_at, const std::string& note);

  // Closes the windows a lost partner keeps open, as of the meters' device time, and runs expiry.
  void Tick();

  const WaterServiceOptions& options() const { return options_; }
  store::WaterStore* store() { return store_; }
  int64_t frames() const;
  int64_t late_samples() const;
  int64_t notices_sent() const;

 private:
  struct WindowBuf {
    std::map<int64_t, double> terminal, flowmeter;  // t → m³/h
  };
  struct Meter {
    PairingEntry entry;
    std::unique_ptr<MeterMaintenance> mm;
    std::map<int64_t, WindowBuf> open;  // by window start
    int64_t checked_until = INT64_MIN;  // windows starting before this are done
    int64_t device_now = 0;             // latest sample instant (+ interval) seen from either device
    int64_t interval_s = 60;
    size_t history_stored = 0;
    int photo_commands = 0;
    int engineer_commands = 0;          // ids of parameters commands stay unique across restarts
    std::string saved_state;            // MeterMaintenance::SaveState() as last written to the store
    uint64_t saved_revision = UINT64_MAX;  // mm->revision() when saved_state was written
    int64_t calibrated_at = 0;          // the flowmeter's last calibration (its pairing if none)
    bool calibration_order_open = false;
    // The last readable photo when its span still lacked the flowmeter's samples (decision
    // no_reference): compared again as the flowmeter's frames arrive, the phone told the outcome.
    std::optional<store::WaterPhotoRecord> pending_photo;
  };
  struct Notice {
    std::string feature_code, kind, address, subject, text, json;
  };
  // Held back until the batch that stored them commits.
  struct PendingCommand {
    std::string feature_code, terminal_id, payload, what;
    int64_t at = 0;
  };

  WaterService(store::WaterStore* store, const Clock* clock, WaterServiceOptions options, PublishFn publish, NotifyFn notify);
  Meter& MeterFor(const PairingEntry& entry);          // mu_ held
  // After a restart: each meter's maintenance state (a case under way with its pools, the
  // correction in force) and the samples of the windows not yet checked (from the stored frames).
  // A database without a stored state (written before schema 2) restores the correction in force
  // from the last acknowledged command, as round 2 did.
  Status Restore();
  // Runs `body` as one store transaction, then sends what it held back (commands, notices).
  Status Commit(const std::function<Status()>& body);  // mu_ held
  Status SaveState(Meter& m);                          // mu_ held; writes only when changed
  void AddSamples(Meter& m, const codec::WaterFrame& f);  // mu_ held
  Status CloseWindows(Meter& m, bool force_lost);      // mu_ held
  Status CheckWindowNow(Meter& m, int64_t ws, const WindowBuf& buf);
  Result<store::WaterWorkOrderRecord> FindWorkOrder(int64_t id, bool open);  // mu_ held
  Status LoadCalibration(Meter& m);  // mu_ held: calibrated_at and an open calibration order, from the store
  Status CloseCalibrationOrders(Meter& m, int64_t at, std::vector<int64_t>* closed);  // mu_ held, in a batch
  void CarryUnpaired(Meter& m, int64_t window_end, int64_t tolerance, const WindowBuf& buf,
                     const std::vector<FlowPair>& pairs, const std::vector<int64_t>& flowmeter_used);  // mu_ held
  Status Emit(Meter& m, const CaseOutputs& out);       // mu_ held
  Status SyncHistory(Meter& m);                        // mu_ held
  Status History(const std::string& feature_code, int64_t at, const std::string& event, const std::string& detail);
  Status SendCommand(Meter& m, const MaintenanceCommand& c, const std::string& source);
  Status PhotoOutcomeLocked(Meter& m, const PairingEntry& entry, const UploadReading& reading, int64_t taken_at,
                            int64_t now, PhotoOutcome* out);  // mu_ held, inside a batch
  Status RetryPendingPhoto(Meter& m);  // mu_ held, inside a batch
  // The comparison of a readable photo with the one before it: fills `d` and the customer's message.
  Status ComparePhotos(Meter& m, const PairingEntry& entry, const store::WaterPhotoRecord& base, const std::string& value,
                       int64_t taken_at, nlohmann::json* d, std::string* message);  // mu_ held, inside a batch
  ProcedureOptions Procedure() const;
  // Reads a photo or clip (outside the lock); `taken_at` is moved to the clip's frames read.
  Result<UploadReading> ReadUpload(const std::string& bytes, int digits);
  double DeviceVolume(const std::string& feature_code, const std::string& device_id, int64_t from, int64_t to,
                      double* coverage);
  void NotifyLoop();

  // Constant after construction.
  store::WaterStore* const store_;
  const Clock* const clock_;
  const WaterServiceOptions options_;
  const PublishFn publish_;
  const NotifyFn notify_;

  // Lock order: mu_ before notice_mu_ (never the other way round).
  mutable std::mutex mu_;
  PairingTable table_;                   // guarded by mu_
  std::map<std::string, Meter> meters_;  // guarded by mu_; by feature code
  int64_t frames_ = 0;                   // guarded by mu_
  int64_t late_samples_ = 0;             // guarded by mu_
  std::vector<PendingCommand> pending_commands_;  // guarded by mu_
  std::vector<Notice> pending_notices_;           // guarded by mu_

  mutable std::mutex notice_mu_;
  std::condition_variable notice_cv_;
  std::deque<Notice> notices_;  // guarded by notice_mu_
  bool stopping_ = false;       // guarded by notice_mu_
  int64_t notices_sent_ = 0;    // guarded by notice_mu_
  std::thread notifier_;
};

// JSON of commands and acks on the wire (docs in NOTES-water2 / README).
std::string CommandJson(const MaintenanceCommand& c);
nlohmann::json CorrectionJson(const Correction& c);
Result<MaintenanceAck> ParseAckJson(std::string_view payload);
// {"model":"linear","a1","a2"} | {"model":"power","a","b","c"}, validated (safety bounds).
Result<Correction> ParseCorrectionJson(const nlohmann::json& j);

}  // namespace mh::water
