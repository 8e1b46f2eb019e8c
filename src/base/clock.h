// Time is handed in: production code takes a Clock&, tests move a SimulatedClock by hand.
#pragma once

#include <atomic>
#include <cstdint>

namespace mh {

class Clock {
 public:
  virtual ~Clock() = default;
  // UTC epoch seconds.
  virtual int64_t NowSeconds() const = 0;
  // UTC epoch milliseconds (for latency and retry scheduling).
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override;
  int64_t NowMillis() const override;
  static SystemClock& Instance();
};

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(int64_t start_millis = 0) : millis_(start_millis) {}
  int64_t NowSeconds() const override { return millis_.load() / 1000; }
  int64_t NowMillis() const override { return millis_.load(); }
  void AdvanceMillis(int64_t ms) { millis_ += ms; }
  void SetMillis(int64_t ms) { millis_ = ms; }

 private:
  std::atomic<int64_t> millis_;
};

}  // namespace mh
