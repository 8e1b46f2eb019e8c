// Fencing for the scale-out (SPEC 7, docs/scale.md): which shards a worker holds, and under which
// lease epoch. A store given a fence checks, inside every commit transaction made under a
// FenceScope, that the worker still holds the leases of the scope's shards — the shards whose MQTT
// sessions delivered what is committed. A worker whose lease lapsed (paused, cut off) cannot
// commit, so nothing it read is acknowledged and the broker redelivers it to the new owner.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mh::store {

class CommitFence {
 public:
  virtual ~CommitFence() = default;
  virtual const std::string& worker_id() const = 0;
  // The epoch of this worker's lease on `shard`, or nullopt when it does not hold it.
  virtual std::optional<int64_t> EpochOf(int shard) const = 0;
  // The epoch of this worker's lease on singleton job `job` (kDeliveryJob...), or nullopt.
  virtual std::optional<int64_t> JobEpochOf(const std::string& job) const = 0;
};

// The singleton job whose lease fences claiming an alert delivery (Store::ClaimDelivery): only its
// holder, under its current epoch, may claim one before sending it.
inline constexpr char kDeliveryJob[] = "alerts";

// On the committing thread, while alive: the commits it makes store what these shards'
// sessions delivered (the MQTT ingest's group commit sets it around its commit). Not nestable.
class FenceScope {
 public:
  explicit FenceScope(const std::vector<int>& shards) { current_ = &shards; }
  ~FenceScope() { current_ = nullptr; }
  FenceScope(const FenceScope&) = delete;
  FenceScope& operator=(const FenceScope&) = delete;
  // The shards of the scope around this thread's commit; null outside one (nothing to check).
  static const std::vector<int>* Current() { return current_; }

 private:
  static inline thread_local const std::vector<int>* current_ = nullptr;
};

}  // namespace mh::store
