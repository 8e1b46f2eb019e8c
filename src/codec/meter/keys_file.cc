#include "codec/meter/keys_file.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "base/number_text.h"
#include "codec/meter/frame_json.h"

namespace mh::codec {
namespace {

constexpr size_t kAesKeyBytes = 16;

std::string Trim(std::string_view s) { return std::string(TrimBlanks(s)); }

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

}  // namespace

Result<std::vector<uint8_t>> ParseAesKey(const std::string& hex) {
  auto bytes = ParseHexFrame(hex);
  if (!bytes.ok()) return InvalidArgument(bytes.status().message());
  if (bytes->size() != kAesKeyBytes) {
    return InvalidArgument("an AES-128 key is 16 bytes (32 hex digits), got " + std::to_string(bytes->size()));
  }
  return *bytes;
}

Result<std::map<std::string, KeyPair>> ReadKeysFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read " + path);
  std::map<std::string, KeyPair> keys;
  std::string line;
  bool first = true;
  for (int n = 1; std::getline(in, line); ++n) {
    const std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(n) + ": ";
    std::vector<std::string> cells;
    size_t start = 0;
    for (size_t comma; (comma = t.find(',', start)) != std::string::npos; start = comma + 1) {
      cells.push_back(Trim(t.substr(start, comma - start)));
    }
    cells.push_back(Trim(t.substr(start)));
    if (first && Upper(cells[0]) == "ADDRESS") {  // the optional header
      first = false;
      continue;
    }
    first = false;
    if (cells.size() < 2 || cells.size() > 3) {
      return InvalidArgument(where + "expected address,key[,auth_key], got " + std::to_string(cells.size()) + " fields");
    }
    if (cells[0].empty()) return InvalidArgument(where + "empty address");
    KeyPair pair;
    auto key = ParseAesKey(cells[1]);
    if (!key.ok()) return InvalidArgument(where + "key: " + key.status().message());
    pair.key = *key;
    if (cells.size() == 3 && !cells[2].empty()) {
      auto auth = ParseAesKey(cells[2]);
      if (!auth.ok()) return InvalidArgument(where + "auth_key: " + auth.status().message());
      pair.auth_key = *auth;
    }
    if (!keys.emplace(Upper(cells[0]), std::move(pair)).second) {
      return InvalidArgument(where + "address " + cells[0] + " listed twice");
    }
  }
  return keys;
}

}  // namespace mh::codec
