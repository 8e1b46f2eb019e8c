// Every complete frame of the shared Kaifa and Kamstrup HAN captures decodes
// (../shared/data/protocol/dlms-captures, roarfred/AmsToMqttBridge samples, read at test time and
// never copied): the capture files are scanned like a HAN reader would (0x7E, frame length,
// closing flag) and each frame must yield its list's registers. Skips when the data is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "codec/dlms/dlms.h"

namespace mh::codec {
namespace {

// The hex bytes of a capture: "[timestamp - Received N bytes]" headers and text lines dropped.
std::vector<std::vector<uint8_t>> HexLines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = std::regex_replace(all.str(), std::regex(R"(\[[^\]]*\])"), "\n");
  std::vector<std::vector<uint8_t>> lines;
  std::istringstream lines_in(text);
  std::string line;
  static const std::regex kHexLine(R"(^\s*([0-9A-Fa-f]{2}\s*)+$)");
  while (std::getline(lines_in, line)) {
    if (!std::regex_match(line, kHexLine)) continue;
    std::vector<uint8_t> bytes;
    std::istringstream words(line);
    std::string w;
    while (words >> w) bytes.push_back(static_cast<uint8_t>(std::stoi(w, nullptr, 16)));
    lines.push_back(std::move(bytes));
  }
  return lines;
}

// HDLC frames found in the byte stream the way a HAN reader finds them.
std::vector<std::vector<uint8_t>> Frames(const std::vector<std::vector<uint8_t>>& lines) {
  std::vector<uint8_t> s;
  for (const auto& l : lines) s.insert(s.end(), l.begin(), l.end());
  std::vector<std::vector<uint8_t>> frames;
  for (size_t i = 0; i + 3 < s.size();) {
    if (s[i] == 0x7E && (s[i + 1] >> 4) == 0xA) {
      const size_t end = i + 1 + (static_cast<size_t>(s[i + 1] & 0x07) << 8 | s[i + 2]);
      if (end < s.size() && s[end] == 0x7E) {
        frames.emplace_back(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(end + 1));
        i = end;
        continue;
      }
    }
    ++i;
  }
  return frames;
}

struct Tally {
  int frames = 0;
  std::map<size_t, int> by_register_count;
  std::vector<std::string> errors;
};

Tally DecodeAll(const std::vector<std::vector<uint8_t>>& frames) {
  Tally t;
  for (const auto& f : frames) {
    ++t.frames;
    auto d = DecodeDlms(f, {});
    if (d.ok()) {
      ++t.by_register_count[d->registers.size()];
    } else if (t.errors.size() < 5) {
      t.errors.push_back(d.status().message());
    }
  }
  return t;
}

const std::string kDir = std::string(MH_SHARED_DATA_DIR) + "/protocol/dlms-captures/";

TEST(DlmsCaptures, EveryKamstrupFrameDecodes) {
  const std::string path = kDir + "Kamstrup/HAN 20171019 xibriz4.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent (shared test data)";
  const Tally t = DecodeAll(Frames(HexLines(path)));
  EXPECT_TRUE(t.errors.empty()) << t.errors.front();
  EXPECT_EQ(t.frames, 689);
  EXPECT_EQ(t.by_register_count, (std::map<size_t, int>{{10, 687}, {14, 2}}));  // list 1, list 2
}

TEST(DlmsCaptures, EveryKaifaFrameDecodes) {
  if (!std::filesystem::exists(kDir + "Kaifa")) GTEST_SKIP() << kDir << "Kaifa is absent (shared test data)";
  // File, frames, and how many were list 1 (1 register), list 2 (10) and list 3 (14).
  struct Expect {
    const char* file;
    int frames, list1, list2, list3;
  };
  const Expect expected[] = {
      {"HAN 20170914.txt", 1533, 1227, 305, 1},  {"HAN 20170912-2.txt", 611, 489, 122, 0},
      {"HAN 20170912-3.txt", 8, 6, 1, 1},        {"raw-20170915.txt", 22973, 18379, 4581, 13},
      {"Samples from ESP.txt", 559, 447, 112, 0},
  };
  for (const Expect& e : expected) {
    SCOPED_TRACE(e.file);
    const Tally t = DecodeAll(Frames(HexLines(kDir + "Kaifa/" + e.file)));
    EXPECT_TRUE(t.errors.empty()) << t.errors.front();
    EXPECT_EQ(t.frames, e.frames);
    std::map<size_t, int> want = {{1, e.list1}, {10, e.list2}};
    if (e.list3) want[14] = e.list3;
    EXPECT_EQ(t.by_register_count, want);
  }
  // The ESP's log holds LLC and APDU only, one per line.
  const Tally esp = DecodeAll(HexLines(kDir + "Kaifa/ESP 20170918 Raw.txt"));
  EXPECT_TRUE(esp.errors.empty()) << esp.errors.front();
  EXPECT_EQ(esp.by_register_count, (std::map<size_t, int>{{1, 7661}, {10, 1911}, {14, 5}}));
}

}  // namespace
}  // namespace mh::codec
