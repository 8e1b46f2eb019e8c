#include "audit/jsonl_ledger.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "meter/audit/fixed_segment.h"

namespace mh::audit {

Result<JsonlLedger> JsonlLedger::Open(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  JsonlLedger l;
  if (fs::is_directory(path, ec)) {
    l.file_ = (fs::path(path) / kRecordsFileName).string();
  } else if (path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") {
    l.file_ = path;
  } else {
    return InvalidArgument("--ledger '" + path + "': want a directory holding " + kRecordsFileName +
                           " or a .jsonl file (the verified ledger database is not wired in here yet)");
  }
  std::ifstream f(l.file_, std::ios::binary);
  if (!f) return InvalidArgument("cannot open '" + l.file_ + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  const auto lines = meter::audit::SplitLines(text);
  std::map<EntryKey, size_t> seen;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = l.file_ + ":" + std::to_string(i + 1);
    std::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return InvalidArgument(where + ": not a JSON object");
    LedgerEntry e;
    auto str = [&](const char* k, std::string* out) -> Status {
      auto it = j.find(k);
      if (it == j.end() || !it->is_string()) return InvalidArgument(where + ": field '" + k + "' missing or not a string");
      *out = it->get<std::string>();
      return Status::Ok();
    };
    auto num = [&](const char* k, int64_t* out) -> Status {
      auto it = j.find(k);
      if (it == j.end() || !it->is_number_integer()) return InvalidArgument(where + ": field '" + k + "' missing or not an integer");
      *out = it->get<int64_t>();
      return Status::Ok();
    };
    MH_RETURN_IF_ERROR(str("meter", &e.key.meter_id));
    MH_RETURN_IF_ERROR(num("window", &e.key.window));
    MH_RETURN_IF_ERROR(num("seq", &e.key.seq));
    MH_RETURN_IF_ERROR(str("kind", &e.kind));
    MH_RETURN_IF_ERROR(str("payload", &e.payload));
    auto decoded = DecodeEntry(e);
    if (!decoded.ok()) return InvalidArgument(where + ": " + decoded.status().message());
    if (auto it = seen.find(e.key); it != seen.end()) {
      if (!(l.entries_[it->second] == e)) {
        return InvalidArgument(where + ": key (" + e.key.meter_id + ", " + std::to_string(e.key.window) + ", " +
                               std::to_string(e.key.seq) + ") already used by line " + std::to_string(l.line_of_[it->second]));
      }
      continue;  // idempotent repeat
    }
    seen[e.key] = l.entries_.size();
    l.entries_.push_back(std::move(e));
    l.line_of_.push_back(static_cast<int>(i + 1));
  }
  return l;
}

Result<std::vector<LedgerRecord>> JsonlLedger::RecordsOf(const std::string& meter_id) {
  std::vector<std::pair<EntryKey, LedgerRecord>> found;
  for (const auto& e : entries_) {
    if (e.key.meter_id != meter_id) continue;
    MH_ASSIGN_OR_RETURN(LedgerRecord r, DecodeEntry(e));
    found.emplace_back(e.key, std::move(r));
  }
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<LedgerRecord> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

std::string FormatJsonl(const std::vector<LedgerEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    nlohmann::ordered_json j;
    j["meter"] = e.key.meter_id;
    j["window"] = e.key.window;
    j["seq"] = e.key.seq;
    j["kind"] = e.kind;
    j["payload"] = e.payload;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

}  // namespace mh::audit
