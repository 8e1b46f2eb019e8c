// SPEC 4.3: the fixed code segment — the energy and tariff computation as numbered lines of a
// byte image, in a tiny line-oriented instruction set that the firmware model really executes on
// every metering tick, so that altering a line changes the computed energy or charge. Also the
// comparison table: the line numbers the audit compares (docs/formats/audit.md).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mh::meter::audit {

// The lines of an image: line N (1-based) = the bytes between the (N−1)th and Nth '\n', without
// the '\n' (a '\r' before it is kept: the audit compares bytes). A final line without '\n' counts.
std::vector<std::string_view> SplitLines(std::string_view image);

// Registers: persistent accumulators E (kWh) and C (charge); read-only inputs P (W), DT (s),
// HOUR (local hour 0–23); scratch R0–R7, zeroed at the start of each tick.
enum class Reg : uint8_t { kE, kC, kP, kDt, kHour, kR0 };
inline constexpr int kScratchRegisters = 8;
inline constexpr int kRegisterCount = 5 + kScratchRegisters;

enum class Op : uint8_t { kNop, kSet, kAdd, kSub, kMul, kDiv, kMin, kMax, kRate, kTariff, kEnd };

struct Operand {
  bool is_reg = false;
  int reg = 0;         // index into the register file when is_reg
  double value = 0;    // the literal otherwise
};

struct Instruction {
  Op op = Op::kNop;
  int line = 0;                  // 1-based line of the image
  int dst = 0;                   // register index (SET..MAX, TARIFF)
  std::array<Operand, 3> args{}; // sources; RATE: from hour, to hour, price
};

struct TickInputs {
  double power_w = 0;   // P
  double dt_s = 0;      // DT
  int hour = 0;         // HOUR
};

// A compiled fixed segment. Executes instruction by instruction; RATE lines fill the tariff table
// as they are executed (so a RATE line altered or removed changes the charge).
class FixedProgram {
 public:
  // Parses the image; `name` prefixes errors ("FIXED.bin:7: unknown instruction 'MULT'").
  static Result<FixedProgram> Compile(std::string_view image, const std::string& name = "fixed segment");

  // One tick: E and C accumulate. Division by zero leaves 0 in the destination.
  void Tick(const TickInputs& in);

  double energy_kwh() const { return regs_[static_cast<int>(Reg::kE)]; }
  double charge() const { return regs_[static_cast<int>(Reg::kC)]; }
  void Reset();
  const std::vector<Instruction>& instructions() const { return code_; }

 private:
  std::vector<Instruction> code_;
  std::array<double, kRegisterCount> regs_{};
  std::array<double, 24> tariff_{};
};

// The reference fixed segment shipped with MeterHub's firmware model (docs/formats/audit.md):
// energy = P·DT/3.6e6 kWh, charge = energy × the hour's tariff (0.35 off-peak 0–8 h and 22–24 h,
// 0.62 peak 8–22 h).
std::string DefaultFixedImage();
// Its comparison table: the lines that compute energy and charges.
std::vector<int> DefaultComparisonLines();

// The comparison table file ("mh-compare 1", then one line number or range "A-B" per line;
// '#' starts a comment). Returns the sorted distinct line numbers; errors name `name:line`.
Result<std::vector<int>> ParseComparisonTable(std::string_view text, const std::string& name = "comparison table");
// Consecutive lines are written as a range ("mh-compare 1\n3-11\n").
std::string FormatComparisonTable(const std::vector<int>& lines);
// Sorted lines as numbers and ranges A-B, joined by `separator`: "3-6, 8-11" with ", ".
std::string FormatLineRanges(const std::vector<int>& lines, std::string_view separator);

}  // namespace mh::meter::audit
