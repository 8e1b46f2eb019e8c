#include "relay/region_name.h"

#include <memory>

#include <re2/re2.h>

namespace mh::relay {
namespace {

// A compiled pattern, or why it did not compile.
Result<std::unique_ptr<re2::RE2>> Compile(std::string_view pattern) {
  if (pattern.size() > kMaxRegionPatternBytes)
    return InvalidArgument("region pattern is " + std::to_string(pattern.size()) + " bytes; at most " +
                           std::to_string(kMaxRegionPatternBytes));
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // bounds the compiled program and the DFA cache
  auto re = std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) return InvalidArgument("region pattern '" + std::string(pattern) + "': " + re->error());
  return re;
}

}  // namespace

const char kDefaultRegionPattern[] = "^.*?(?:区|县).*?(?:街道|镇|乡|路|小区)";

Status CheckRegionPattern(std::string_view pattern) { return Compile(pattern).status(); }

Result<std::string> ExtractRegionName(std::string_view address, std::string_view pattern) {
  MH_ASSIGN_OR_RETURN(std::unique_ptr<re2::RE2> re, Compile(pattern));
  const re2::StringPiece text(address.data(), address.size());
  re2::StringPiece groups[2];
  const int n = re->NumberOfCapturingGroups() >= 1 ? 2 : 1;
  if (!re->Match(text, 0, text.size(), re2::RE2::UNANCHORED, groups, n) || groups[0].empty())
    return std::string(address);
  if (n == 2 && groups[1].data() != nullptr && !groups[1].empty()) return std::string(groups[1]);
  return std::string(groups[0]);
}

}  // namespace mh::relay
