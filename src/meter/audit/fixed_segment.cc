#include "meter/audit/fixed_segment.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "meter/audit/text.h"

namespace mh::meter::audit {
namespace {

constexpr std::string_view kHeader = "mh-fixed 1";
constexpr std::string_view kCompareHeader = "mh-compare 1";

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(*out);
}

bool ParseInt(std::string_view s, long* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Register index of a name, or -1.
int RegisterOf(std::string_view name) {
  if (name == "E") return static_cast<int>(Reg::kE);
  if (name == "C") return static_cast<int>(Reg::kC);
  if (name == "P") return static_cast<int>(Reg::kP);
  if (name == "DT") return static_cast<int>(Reg::kDt);
  if (name == "HOUR") return static_cast<int>(Reg::kHour);
  if (name.size() == 2 && name[0] == 'R' && name[1] >= '0' && name[1] < '0' + kScratchRegisters) {
    return static_cast<int>(Reg::kR0) + (name[1] - '0');
  }
  return -1;
}

bool Writable(int reg) {
  return reg == static_cast<int>(Reg::kE) || reg == static_cast<int>(Reg::kC) || reg >= static_cast<int>(Reg::kR0);
}

struct OpInfo {
  std::string_view name;
  Op op;
  int operands;  // including the destination
};
constexpr OpInfo kOps[] = {
    {"NOP", Op::kNop, 0},   {"SET", Op::kSet, 2}, {"ADD", Op::kAdd, 3},     {"SUB", Op::kSub, 3},
    {"MUL", Op::kMul, 3},   {"DIV", Op::kDiv, 3}, {"MIN", Op::kMin, 3},     {"MAX", Op::kMax, 3},
    {"RATE", Op::kRate, 3}, {"TARIFF", Op::kTariff, 2}, {"END", Op::kEnd, 0},
};

}  // namespace

std::vector<std::string_view> SplitLines(std::string_view image) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < image.size()) {
    size_t nl = image.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(image.substr(start));
      break;
    }
    lines.push_back(image.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

Result<FixedProgram> FixedProgram::Compile(std::string_view image, const std::string& name) {
  FixedProgram prog;
  const auto lines = SplitLines(image);
  if (lines.empty() || Trim(lines[0]) != kHeader) {
    return InvalidArgument(name + ":1: first line must be '" + std::string(kHeader) + "'");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const int line_no = static_cast<int>(i) + 1;
    const std::string where = name + ":" + std::to_string(line_no);
    std::string_view l = lines[i];
    if (size_t semi = l.find(';'); semi != std::string_view::npos) l = l.substr(0, semi);
    const auto w = Words(Trim(l));
    if (w.empty()) continue;
    const OpInfo* info = nullptr;
    for (const auto& o : kOps) {
      if (o.name == w[0]) info = &o;
    }
    if (!info) return InvalidArgument(where + ": unknown instruction '" + std::string(w[0]) + "'");
    if (static_cast<int>(w.size()) - 1 != info->operands) {
      return InvalidArgument(where + ": " + std::string(info->name) + " takes " + std::to_string(info->operands) +
                             " operands, got " + std::to_string(w.size() - 1));
    }
    Instruction ins;
    ins.op = info->op;
    ins.line = line_no;
    if (info->op == Op::kRate) {
      long from = 0, to = 0;
      double price = 0;
      if (!ParseInt(w[1], &from) || !ParseInt(w[2], &to) || from < 0 || to > 24 || from >= to) {
        return InvalidArgument(where + ": RATE needs hours 0 <= FROM < TO <= 24");
      }
      if (!ParseNumber(w[3], &price)) return InvalidArgument(where + ": RATE price '" + std::string(w[3]) + "' is not a number");
      ins.args[0].value = static_cast<double>(from);
      ins.args[1].value = static_cast<double>(to);
      ins.args[2].value = price;
    } else if (info->operands > 0) {
      const int dst = RegisterOf(w[1]);
      if (dst < 0) return InvalidArgument(where + ": destination '" + std::string(w[1]) + "' is not a register");
      if (!Writable(dst)) return InvalidArgument(where + ": register '" + std::string(w[1]) + "' is read-only");
      ins.dst = dst;
      for (int a = 2; a <= info->operands; ++a) {
        Operand& op = ins.args[a - 2];
        const int reg = RegisterOf(w[a]);
        if (reg >= 0) {
          op.is_reg = true;
          op.reg = reg;
        } else if (!ParseNumber(w[a], &op.value)) {
          return InvalidArgument(where + ": operand '" + std::string(w[a]) + "' is neither a register nor a number");
        }
      }
    }
    prog.code_.push_back(ins);
  }
  return prog;
}

void FixedProgram::Reset() {
  regs_.fill(0);
  tariff_.fill(0);
}

void FixedProgram::Tick(const TickInputs& in) {
  for (int r = static_cast<int>(Reg::kR0); r < kRegisterCount; ++r) regs_[r] = 0;
  regs_[static_cast<int>(Reg::kP)] = in.power_w;
  regs_[static_cast<int>(Reg::kDt)] = in.dt_s;
  regs_[static_cast<int>(Reg::kHour)] = in.hour;
  auto val = [&](const Operand& o) { return o.is_reg ? regs_[o.reg] : o.value; };
  for (const Instruction& ins : code_) {
    double& d = regs_[ins.dst];
    switch (ins.op) {
      case Op::kNop: break;
      case Op::kSet: d = val(ins.args[0]); break;
      case Op::kAdd: d = val(ins.args[0]) + val(ins.args[1]); break;
      case Op::kSub: d = val(ins.args[0]) - val(ins.args[1]); break;
      case Op::kMul: d = val(ins.args[0]) * val(ins.args[1]); break;
      case Op::kDiv: {
        const double b = val(ins.args[1]);
        d = b == 0 ? 0 : val(ins.args[0]) / b;
        break;
      }
      case Op::kMin: d = std::min(val(ins.args[0]), val(ins.args[1])); break;
      case Op::kMax: d = std::max(val(ins.args[0]), val(ins.args[1])); break;
      case Op::kRate:
        for (int h = static_cast<int>(ins.args[0].value); h < static_cast<int>(ins.args[1].value); ++h) {
          tariff_[h] = ins.args[2].value;
        }
        break;
      case Op::kTariff: {
        const double h = val(ins.args[0]);
        d = (h >= 0 && h < 24) ? tariff_[static_cast<int>(h)] : 0;
        break;
      }
      case Op::kEnd: return;
    }
  }
}

std::string DefaultFixedImage() {
  return "mh-fixed 1\n"
         "; MeterHub fixed segment: energy and tariff, run once per metering tick\n"
         "RATE 0 8 0.35        ; off-peak\n"
         "RATE 8 22 0.62       ; peak\n"
         "RATE 22 24 0.35      ; off-peak\n"
         "MUL R0 P DT          ; W*s this tick\n"
         "DIV R0 R0 3600000    ; kWh this tick\n"
         "ADD E E R0           ; energy register\n"
         "TARIFF R1 HOUR       ; price of this hour\n"
         "MUL R2 R0 R1         ; charge this tick\n"
         "ADD C C R2           ; charge register\n"
         "END\n";
}

std::vector<int> DefaultComparisonLines() { return {3, 4, 5, 6, 7, 8, 9, 10, 11}; }

Result<std::vector<int>> ParseComparisonTable(std::string_view text, const std::string& name) {
  const auto lines = SplitLines(text);
  if (lines.empty() || Trim(lines[0]) != kCompareHeader) {
    return InvalidArgument(name + ":1: first line must be '" + std::string(kCompareHeader) + "'");
  }
  std::set<int> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string where = name + ":" + std::to_string(i + 1);
    std::string_view l = lines[i];
    if (size_t hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    l = Trim(l);
    if (l.empty()) continue;
    long a = 0, b = 0;
    const size_t dash = l.find('-');
    const bool ok = dash == std::string_view::npos
                        ? (ParseInt(l, &a) && (b = a, true))
                        : (ParseInt(Trim(l.substr(0, dash)), &a) && ParseInt(Trim(l.substr(dash + 1)), &b));
    if (!ok || a < 1 || b < a || b > 1000000) {
      return InvalidArgument(where + ": '" + std::string(l) + "' is not a line number or range A-B (1 <= A <= B)");
    }
    if (b - a > 100000) return InvalidArgument(where + ": range too long");
    for (long n = a; n <= b; ++n) out.insert(static_cast<int>(n));
  }
  if (out.empty()) return InvalidArgument(name + ": lists no line");
  return std::vector<int>(out.begin(), out.end());
}

std::string FormatComparisonTable(const std::vector<int>& lines) {
  // Runs of consecutive lines as ranges: the reference table is "3-11".
  return std::string(kCompareHeader) + "\n" + FormatLineRanges(lines, "\n") + (lines.empty() ? "" : "\n");
}

std::string FormatLineRanges(const std::vector<int>& lines, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < lines.size();) {
    size_t j = i;
    while (j + 1 < lines.size() && lines[j + 1] == lines[j] + 1) ++j;
    if (!out.empty()) out += separator;
    out += std::to_string(lines[i]) + (j > i ? "-" + std::to_string(lines[j]) : "");
    i = j + 1;
  }
  return out;
}

}  // namespace mh::meter::audit
