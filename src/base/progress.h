// Progress of long work (imports, simulations): a redrawn bar on a terminal, plain lines otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace mh {

class Progress {
 public:
  // total = 0 when unknown (then only the count and rate are shown).
  Progress(std::string label, uint64_t total, std::FILE* out = stderr);
  ~Progress();
  // Cheap to call often: redraws at most ~10 times a second (plain mode: every 5 s).
  void Update(uint64_t done);
  void Finish();
  // Forces plain or bar mode (tests); by default a bar only when `out` is a terminal.
  void SetTerminal(bool is_terminal) { terminal_ = is_terminal; }

 private:
  void Draw(bool final_line);

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  std::FILE* out_;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace mh
