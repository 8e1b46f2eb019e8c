#include "water/vision/upload_reader.h"

#include <cmath>

#include "water/vision/digit_classifier.h"
#include "water/vision/image_header.h"
#include "water/vision/register_reader.h"
#include "water/vision/video.h"

namespace mh::water::vision {
namespace {

UploadReading FromRegister(const RegisterReading& r) {
  UploadReading u;
  u.value = r.value;
  u.unreadable = r.unreadable;
  return u;
}

class UploadReader final : public PhotoReader {
 public:
  Result<UploadReading> Read(const std::string& bytes, const UploadLimits& limits) const override {
    if (static_cast<int64_t>(bytes.size()) > limits.caps.max_bytes) {
      return ResourceExhausted("the upload is " + std::to_string(bytes.size()) + " bytes, more than the " +
                               std::to_string(limits.caps.max_bytes) + " accepted (water.max_upload_bytes)");
    }
    static const Result<DigitClassifier> classifier = DigitClassifier::Builtin();
    if (!classifier.ok()) return Internal("digit model: " + classifier.status().ToString());
    ReadOptions ro;
    ro.digits = limits.digits;
    if (const std::string format = SniffVideo(bytes); !format.empty()) return ReadVideo(bytes, format, *classifier, ro, limits);
    // The header first: a photo declaring more pixels than allowed is refused undecoded.
    Result<cv::Mat> image = DecodePhoto(bytes, limits.caps.max_pixels);
    if (!image.ok() && image.status().code() == StatusCode::kResourceExhausted) return image.status();
    UploadReading u;
    if (!image.ok()) {
      u.unreadable = "not an image: " + image.status().message();
    } else {
      u = FromRegister(ReadRegister(*image, *classifier, ro));
    }
    u.media = {{"media", "photo"}};
    return u;
  }

 private:
  static Result<UploadReading> ReadVideo(const std::string& bytes, const std::string& format,
                                         const DigitClassifier& classifier, const ReadOptions& ro,
                                         const UploadLimits& limits) {
    Result<ClipReading> clip = ReadClip(bytes, classifier, ro, limits.caps);
    if (!clip.ok() && clip.status().code() != StatusCode::kInvalidArgument) return clip.status();
    UploadReading u;
    if (!clip.ok()) {
      u.unreadable = "not a readable video: " + clip.status().message();
      u.media = {{"media", "video"}, {"format", format}};
      return u;
    }
    u = FromRegister(clip->reading);
    u.media = {{"media", "video"}, {"format", format}, {"seconds", clip->seconds}, {"frames", clip->frames},
               {"sampled", clip->sampled}, {"readable_frames", clip->readable}, {"agreeing_frames", clip->agreeing},
               {"frame_values", clip->frame_values}, {"at_s", clip->at_s}};
    // The reading is of the frames it came from: the clip's start plus their offset.
    if (u.ok()) u.offset_s = static_cast<int64_t>(std::llround(clip->at_s));
    return u;
  }
};

}  // namespace

std::unique_ptr<PhotoReader> NewUploadReader() { return std::make_unique<UploadReader>(); }

}  // namespace mh::water::vision
