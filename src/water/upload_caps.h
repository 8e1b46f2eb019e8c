// The caps a customer's upload is held to before anything decodes it (SPEC 3.6; the keys
// water.max_upload_bytes, max_photo_pixels, max_video_frames and max_video_seconds): one struct
// and one set of defaults, from the configuration through the water service to the readers of
// the vision module (which calls it ClipLimits).
#pragma once

#include <cstdint>

namespace mh::water {

struct UploadCaps {
  int64_t max_bytes = 64LL << 20;  // water.max_upload_bytes: the upload itself
  int64_t max_pixels = 40000000;   // water.max_photo_pixels: a photo, or one frame of a clip
  int64_t max_frames = 1800;       // water.max_video_frames (a minute at 30 fps)
  double max_seconds = 60;         // water.max_video_seconds
};

}  // namespace mh::water
