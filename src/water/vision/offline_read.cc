#include "water/vision/offline_read.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>

#include <CLI/CLI.hpp>

#include <opencv2/imgcodecs.hpp>

#include "base/tool_args.h"
#include "water/vision/digit_classifier.h"
#include "water/vision/image_header.h"
#include "water/vision/register_reader.h"

namespace mh::water::vision {
namespace {

constexpr int kRead = 0, kUnreadable = 3, kUsage = 2;

constexpr char kUsageText[] =
    "usage: meterhub water read IMAGE... [--digits N] [--model FILE.onnx]\n"
    "  reads the register in each photo of a meter's counter (with --digits 1, a crop of one drum)\n"
    "  and prints IMAGE,VALUE or IMAGE,unreadable: REASON; exit 0 all read, 3 some unreadable, 2 bad usage\n"
    "  --digits N   drums in the counter's window (default: estimated from the window's shape)\n"
    "  --model F    a digit model written by train_digits.py instead of the built-in one\n";

// Reads the file's bytes first, so that a missing or unreadable file is told apart from one
// that is not an image.
std::string ReadOne(const std::string& path, const DigitClassifier& classifier, const ReadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!in || std::filesystem::is_directory(path, ec)) return "unreadable: cannot open " + path;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<cv::Mat> image = DecodePhoto(bytes, kDefaultMaxPhotoPixels);
  if (!image.ok()) return "unreadable: " + path + ": " + image.status().message();
  const RegisterReading r = ReadRegister(*image, classifier, options);
  return r.ok() ? r.value : "unreadable: " + r.unreadable;
}

}  // namespace

const char* WaterReadUsage() { return kUsageText; }

int RunWaterReadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<std::string> images;
  ReadOptions options;
  std::string model_path;
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      out << kUsageText;
      return 0;
    }
  }
  std::optional<std::string> digits;
  CLI::App app;
  app.add_option("IMAGE", images);
  app.add_option("--digits", digits);
  app.add_option("--model", model_path);
  if (Status s = ParseToolArgs(app, args); !s.ok()) {
    err << "meterhub water read: " << s.message() << "\n" << kUsageText;
    return kUsage;
  }
  if (digits) {
    const std::string& value = *digits;
    int n = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size() || n < 1 || n > 20) {
      err << "meterhub water read: --digits must be a whole number from 1 to 20, not '" << value << "'\n";
      return kUsage;
    }
    options.digits = n;
  }
  if (images.empty()) {
    err << "meterhub water read: no IMAGE given\n" << kUsageText;
    return kUsage;
  }
  auto classifier = model_path.empty() ? DigitClassifier::Builtin() : DigitClassifier::Load(model_path);
  if (!classifier.ok()) {
    err << "meterhub water read: " << classifier.status().message() << "\n";
    return model_path.empty() ? 1 : kUsage;
  }
  int code = kRead;
  for (const auto& path : images) {
    const std::string v = ReadOne(path, *classifier, options);
    if (v.rfind("unreadable: ", 0) == 0) code = kUnreadable;
    out << path << "," << v << "\n";
  }
  return code;
}

}  // namespace mh::water::vision
