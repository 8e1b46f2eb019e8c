#include "core/reading.h"

namespace mh {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk: return "ok";
    case Verdict::kNull: return "null";
    case Verdict::kError: return "error";
    case Verdict::kSudden: return "sudden";
  }
  return "?";
}

std::optional<Verdict> ParseVerdict(std::string_view s) {
  if (s == "ok") return Verdict::kOk;
  if (s == "null") return Verdict::kNull;
  if (s == "error") return Verdict::kError;
  if (s == "sudden") return Verdict::kSudden;
  return std::nullopt;
}

}  // namespace mh
