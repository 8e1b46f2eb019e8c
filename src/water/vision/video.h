// Reading the register from a short video clip of the meter (SPEC 3.6 "photos (or a short video)"):
// the clip is written to a temporary file and decoded with OpenCV's VideoCapture (FFmpeg backend),
// a few frames spread over it are read with the photo reader, and the value most of the readable
// frames agree on is the clip's reading. Only MP4 and WebM, recognised by their magic bytes, reach
// the decoder, and the clip's declared size, frame count and duration are checked before any frame
// is decoded, as a photo's header is (image_header.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "water/upload_caps.h"
#include "water/vision/digit_classifier.h"
#include "water/vision/image_header.h"
#include "water/vision/register_reader.h"

namespace mh::water::vision {

// A clip's caps are an upload's: its bytes, one frame's pixels, its frames and seconds.
using ClipLimits = UploadCaps;

struct ClipOptions {
  int samples = 12;    // frames read, spread evenly over the clip
  int min_agree = 2;   // frames that must read the same value
};

// "mp4" (an ISO-BMFF `ftyp` box first) or "webm" (an EBML header); empty for anything else.
std::string SniffVideo(std::string_view bytes);

struct ClipReading {
  RegisterReading reading;    // the agreed value, or why the clip cannot be read
  double at_s = 0;            // offset in the clip of the last frame showing the agreed value
  double seconds = 0;         // the clip's duration (declared)
  int64_t frames = 0;         // frames decoded
  int sampled = 0, readable = 0, agreeing = 0;
  std::vector<std::string> frame_values;  // per sampled frame: the value read, "" when unreadable
};

// Reads the clip. ResourceExhausted, undecoded, when the upload, a frame's pixels, the frame count
// or the duration exceed `limits`; InvalidArgument when it is not an MP4/WebM clip or FFmpeg cannot
// open it (damaged). A clip that decodes but whose frames do not agree on a value is an unreadable
// reading (`reading.unreadable` says why and asks for a steadier clip), not an error.
Result<ClipReading> ReadClip(std::string_view bytes, const DigitClassifier& classifier, const ReadOptions& read,
                             const ClipLimits& limits, const ClipOptions& options = {});

// Encodes `frames` (BGR, all one size) as an MP4 (MPEG-4 part 2) or WebM (VP8) clip with OpenCV's
// VideoWriter: how tests, the benchmark and the demo make the clips a phone would send.
Result<std::string> EncodeClip(const std::vector<cv::Mat>& frames, double fps, const std::string& format);

}  // namespace mh::water::vision
