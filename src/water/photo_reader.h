// What the water service needs from reading a customer's upload (SPEC 3.6): the bytes of a photo
// or clip in, the register's digits (or why they cannot be read) out. The service is handed this
// interface so that it does not depend on the image libraries: the daemon gives it the reader of
// the vision module (water/vision/upload_reader.h), loaded only when an upload arrives.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "water/upload_caps.h"

namespace mh::water {

struct UploadLimits {
  int digits = 0;   // drums on the register; 0 = estimate from the photo
  UploadCaps caps;  // checked before decoding
};

struct UploadReading {
  std::string value;       // the digits read, most significant first; empty when unreadable
  std::string unreadable;  // why it could not be read; empty when read
  // {"media": "photo"} or, for a clip, its format, duration, frames and the values they read.
  nlohmann::json media;
  int64_t offset_s = 0;    // a clip read: seconds from its start to the frames the value came from
  bool ok() const { return unreadable.empty(); }
};

class PhotoReader {
 public:
  virtual ~PhotoReader() = default;
  // ResourceExhausted, undecoded, past `limits`; Unavailable when the reader cannot run (its
  // module is missing). A body that does not decode, or a clip whose frames disagree, is an
  // unreadable reading, not an error.
  virtual Result<UploadReading> Read(const std::string& bytes, const UploadLimits& limits) const = 0;
};

}  // namespace mh::water
