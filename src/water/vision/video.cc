#include "water/vision/video.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

namespace mh::water::vision {
namespace {

// The clip as a temporary file (FFmpeg's demuxers want a seekable file), removed when done.
class TempClip {
 public:
  ~TempClip() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Status Write(std::string_view bytes, const std::string& format) {
    std::string pattern = (std::filesystem::temp_directory_path() / "meterhub-clip-XXXXXX").string() + "." + format;
    const int fd = ::mkstemps(pattern.data(), static_cast<int>(format.size()) + 1);
    if (fd < 0) return Internal(std::string("cannot create a temporary file for the clip: ") + std::strerror(errno));
    path_ = pattern;
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = errno;
        ::close(fd);
        return Internal("cannot write the clip to " + path_ + ": " + std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) return Internal("cannot write the clip to " + path_ + ": " + std::strerror(errno));
    return Status::Ok();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s);
  return buf;
}

}  // namespace

std::string SniffVideo(std::string_view b) {
  // ISO-BMFF (MP4, MOV, 3GP): a box size, then "ftyp" as the first box.
  if (b.size() >= 12 && b.substr(4, 4) == "ftyp") return "mp4";
  // Matroska/WebM: the EBML header element 1A 45 DF A3.
  if (b.size() >= 4 && static_cast<uint8_t>(b[0]) == 0x1A && static_cast<uint8_t>(b[1]) == 0x45 &&
      static_cast<uint8_t>(b[2]) == 0xDF && static_cast<uint8_t>(b[3]) == 0xA3) {
    return "webm";
  }
  return "";
}

Result<ClipReading> ReadClip(std::string_view bytes, const DigitClassifier& classifier, const ReadOptions& read,
                             const ClipLimits& limits, const ClipOptions& options) {
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes) {
    return ResourceExhausted("the clip is " + std::to_string(bytes.size()) + " bytes, more than the " +
                             std::to_string(limits.max_bytes) + " accepted (water.max_upload_bytes); send a shorter clip");
  }
  const std::string format = SniffVideo(bytes);
  if (format.empty()) return InvalidArgument("not an MP4 or WebM video (other formats are not accepted)");
  TempClip file;
  MH_RETURN_IF_ERROR(file.Write(bytes, format));
  cv::VideoCapture cap;
  try {
    // Opening reads the container's headers (and FFmpeg's probe of the first packets), no frame yet.
    if (!cap.open(file.path(), cv::CAP_FFMPEG)) {
      return InvalidArgument("cannot open the " + format + " clip (damaged, truncated or an unknown codec)");
    }
  } catch (const cv::Exception& e) {
    return InvalidArgument("cannot open the " + format + " clip: " + e.what());
  }
  const int64_t width = static_cast<int64_t>(cap.get(cv::CAP_PROP_FRAME_WIDTH));
  const int64_t height = static_cast<int64_t>(cap.get(cv::CAP_PROP_FRAME_HEIGHT));
  const double fps = cap.get(cv::CAP_PROP_FPS);
  const int64_t declared = static_cast<int64_t>(cap.get(cv::CAP_PROP_FRAME_COUNT));
  if (width <= 0 || height <= 0) return InvalidArgument("the " + format + " clip declares no video frame size");
  if (width * height > limits.max_pixels) {
    return ResourceExhausted("the clip's frames are " + std::to_string(width) + " x " + std::to_string(height) + " = " +
                             std::to_string(width * height) + " pixels, more than the " + std::to_string(limits.max_pixels) +
                             " accepted (water.max_photo_pixels); film at a lower resolution");
  }
  if (declared > limits.max_frames) {
    return ResourceExhausted("the clip has " + std::to_string(declared) + " frames, more than the " +
                             std::to_string(limits.max_frames) + " accepted (water.max_video_frames); send a shorter clip");
  }
  ClipReading out;
  out.seconds = fps > 0 && declared > 0 ? static_cast<double>(declared) / fps : 0;
  if (out.seconds > limits.max_seconds) {
    return ResourceExhausted("the clip lasts " + Seconds(out.seconds) + " s, more than the " + Seconds(limits.max_seconds) +
                             " s accepted (water.max_video_seconds); a few seconds of the counter are enough");
  }
  // The frames to read: spread over the declared count, else two a second (every frame at worst).
  const int samples = std::max(1, options.samples);
  std::vector<int64_t> wanted;
  if (declared > 0) {
    for (int i = 0; i < samples; ++i) {
      const int64_t f = std::min<int64_t>(declared - 1, (2 * i + 1) * declared / (2 * samples));
      if (wanted.empty() || f != wanted.back()) wanted.push_back(f);
    }
  }
  const int64_t stride = fps > 0 ? std::max<int64_t>(1, static_cast<int64_t>(fps / 2)) : 1;
  std::map<std::string, std::pair<int, int64_t>> agree;  // value → frames reading it, last such frame
  std::map<std::string, int> reasons;
  std::map<std::string, RegisterReading> read_of;  // value → the reading of its last frame
  size_t next = 0;
  cv::Mat frame;
  try {
    for (int64_t f = 0;; ++f) {
      if (!cap.grab()) break;
      out.frames = f + 1;
      // The declared count may lie: the caps hold for what is actually decoded.
      if (out.frames > limits.max_frames) {
        return ResourceExhausted("the clip has more than the " + std::to_string(limits.max_frames) +
                                 " frames accepted (water.max_video_frames); send a shorter clip");
      }
      const bool take = declared > 0 ? next < wanted.size() && wanted[next] == f : f % stride == 0 && out.sampled < 4 * samples;
      if (!take) continue;
      ++next;
      if (!cap.retrieve(frame) || frame.empty()) continue;
      if (static_cast<int64_t>(frame.cols) * frame.rows > limits.max_pixels) {
        return ResourceExhausted("a frame of the clip is " + std::to_string(frame.cols) + " x " + std::to_string(frame.rows) +
                                 " pixels, more than water.max_photo_pixels");
      }
      ++out.sampled;
      RegisterReading r = ReadRegister(frame, classifier, read);
      out.frame_values.push_back(r.value);
      if (!r.ok()) {
        ++reasons[r.unreadable];
        continue;
      }
      ++out.readable;
      auto& [count, at] = agree[r.value];
      ++count;
      at = f;
      read_of[r.value] = std::move(r);
    }
  } catch (const cv::Exception& e) {
    return InvalidArgument("the " + format + " clip does not decode: " + e.what());
  }
  if (out.frames == 0) return InvalidArgument("the " + format + " clip has no decodable frame (damaged or truncated)");
  if (fps > 0 && out.seconds == 0) out.seconds = static_cast<double>(out.frames) / fps;
  if (out.seconds > limits.max_seconds) {
    return ResourceExhausted("the clip lasts " + Seconds(out.seconds) + " s, more than the " + Seconds(limits.max_seconds) +
                             " s accepted (water.max_video_seconds)");
  }
  // The value most frames agree on; on a tie the later one (the register only moves forward).
  std::string best;
  for (const auto& [value, c] : agree) {
    if (best.empty() || c.first > agree[best].first || (c.first == agree[best].first && c.second > agree[best].second)) best = value;
  }
  const int agreeing = best.empty() ? 0 : agree[best].first;
  out.agreeing = agreeing;
  if (out.readable == 0) {
    std::string why = "no frame could be read";
    int most = 0;
    for (const auto& [reason, n] : reasons) {
      if (n > most) most = n, why = reason;
    }
    out.reading.unreadable = "none of the " + std::to_string(out.sampled) + " frames read (" + why +
                             "): film the counter steadily, straight on and in good light";
    return out;
  }
  if (agreeing < options.min_agree || 2 * agreeing < out.readable) {
    out.reading.unreadable = "the frames do not agree (" + std::to_string(out.readable) + " read, at most " +
                             std::to_string(agreeing) + " alike): hold the phone still over the counter";
    return out;
  }
  out.reading = std::move(read_of[best]);
  out.at_s = fps > 0 ? static_cast<double>(agree[best].second) / fps : 0;
  return out;
}

Result<std::string> EncodeClip(const std::vector<cv::Mat>& frames, double fps, const std::string& format) {
  if (frames.empty()) return InvalidArgument("no frames to encode");
  if (format != "mp4" && format != "webm") return InvalidArgument("clip format must be mp4 or webm, not " + format);
  TempClip file;
  MH_RETURN_IF_ERROR(file.Write("", format));
  {
    const int fourcc = format == "mp4" ? cv::VideoWriter::fourcc('m', 'p', '4', 'v') : cv::VideoWriter::fourcc('V', 'P', '8', '0');
    // 4:2:0 chroma wants even sizes: frames are padded to the first one's size rounded up to even.
    const cv::Size size((frames.front().cols + 1) / 2 * 2, (frames.front().rows + 1) / 2 * 2);
    cv::VideoWriter w(file.path(), cv::CAP_FFMPEG, fourcc, fps, size);
    if (!w.isOpened()) return Internal("cannot open a " + format + " VideoWriter (FFmpeg backend)");
    cv::Mat padded;
    for (const cv::Mat& f : frames) {
      if (f.size() == size) {
        w.write(f);
        continue;
      }
      cv::Mat fitted = f;
      if (f.size() != frames.front().size()) cv::resize(f, fitted, frames.front().size());
      cv::copyMakeBorder(fitted, padded, 0, size.height - fitted.rows, 0, size.width - fitted.cols, cv::BORDER_REPLICATE);
      w.write(padded);
    }
  }
  std::FILE* in = std::fopen(file.path().c_str(), "rb");
  if (in == nullptr) return Internal("cannot read back " + file.path());
  std::string out;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) out.append(buf, n);
  std::fclose(in);
  if (out.empty()) return Internal("the " + format + " VideoWriter wrote nothing");
  return out;
}

}  // namespace mh::water::vision
