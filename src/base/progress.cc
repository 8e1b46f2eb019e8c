#include "base/progress.h"

#include <unistd.h>

namespace mh {

Progress::Progress(std::string label, uint64_t total, std::FILE* out)
    : label_(std::move(label)), total_(total), out_(out),
      terminal_(out != nullptr && isatty(fileno(out))),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done) {
  done_ = done;
  if (out_ == nullptr) return;
  auto now = std::chrono::steady_clock::now();
  auto interval = terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(5000);
  if (now - last_draw_ < interval) return;
  last_draw_ = now;
  Draw(false);
}

void Progress::Finish() {
  if (finished_ || out_ == nullptr) return;
  finished_ = true;
  Draw(true);
}

void Progress::Draw(bool final_line) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
  if (terminal_) {
    constexpr int kWidth = 30;
    std::string bar;
    if (total_ > 0) {
      int filled = static_cast<int>(kWidth * std::min<double>(1.0, static_cast<double>(done_) / total_));
      bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
      std::fprintf(out_, "\r%s %s%3.0f%% %llu/%llu  %.0f/s   ", label_.c_str(), bar.c_str(),
                   100.0 * std::min<double>(1.0, static_cast<double>(done_) / total_),
                   static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_), rate);
    } else {
      std::fprintf(out_, "\r%s %llu  %.0f/s   ", label_.c_str(), static_cast<unsigned long long>(done_), rate);
    }
    if (final_line) std::fputc('\n', out_);
  } else {
    if (total_ > 0) {
      std::fprintf(out_, "%s: %llu/%llu (%.0f/s)%s\n", label_.c_str(), static_cast<unsigned long long>(done_),
                   static_cast<unsigned long long>(total_), rate, final_line ? " done" : "");
    } else {
      std::fprintf(out_, "%s: %llu (%.0f/s)%s\n", label_.c_str(), static_cast<unsigned long long>(done_), rate,
                   final_line ? " done" : "");
    }
  }
  std::fflush(out_);
}

}  // namespace mh
