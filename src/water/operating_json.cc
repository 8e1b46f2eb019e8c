#include "water/operating_json.h"

namespace mh::water {

using json = nlohmann::json;

namespace {

constexpr const char* kFields[] = {"zero_offset", "low_flow_cutoff", "gain"};

std::optional<double>* FieldOf(OperatingChange& c, std::string_view name) {
  if (name == "zero_offset") return &c.zero_offset;
  if (name == "low_flow_cutoff") return &c.low_flow_cutoff;
  if (name == "gain") return &c.gain;
  return nullptr;
}

}  // namespace

json OperatingJson(const OperatingParameters& p) {
  return {{"zero_offset", p.zero_offset}, {"low_flow_cutoff", p.low_flow_cutoff}, {"gain", p.gain}};
}

json OperatingChangeJson(const OperatingChange& c) {
  json j = json::object();
  if (c.zero_offset) j["zero_offset"] = *c.zero_offset;
  if (c.low_flow_cutoff) j["low_flow_cutoff"] = *c.low_flow_cutoff;
  if (c.gain) j["gain"] = *c.gain;
  return j;
}

Result<OperatingChange> ParseOperatingChangeJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("operating parameters: not a JSON object");
  OperatingChange c;
  for (const auto& [key, value] : j.items()) {
    std::optional<double>* field = FieldOf(c, key);
    if (field == nullptr) {
      return InvalidArgument("operating parameters: unknown field '" + key + "' (zero_offset, low_flow_cutoff, gain)");
    }
    if (!value.is_number()) return InvalidArgument("operating parameters: field '" + key + "' must be a number");
    *field = value.get<double>();
  }
  if (c.empty()) return InvalidArgument("operating parameters: give at least one of zero_offset, low_flow_cutoff, gain");
  // Each value in its safe range (the others at their defaults cannot fail).
  MH_RETURN_IF_ERROR(c.AppliedTo({}).Validate());
  return c;
}

Result<OperatingParameters> ParseOperatingJson(const json& j) {
  MH_ASSIGN_OR_RETURN(OperatingChange c, ParseOperatingChangeJson(j));
  for (const char* f : kFields) {
    if (!j.contains(f)) return InvalidArgument(std::string("operating parameters: field '") + f + "' is required");
  }
  return c.AppliedTo({});
}

}  // namespace mh::water
