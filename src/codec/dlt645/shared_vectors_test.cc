// The shared DL/T 645 file itself (../shared/data/protocol/dlt645/dlt645_vectors.tsv): every frame
// decodes, its link layer matches the file's own check column (checksum, address, control, data
// without 0x33), and the driver carries it as a test vector. Skipped when the shared data is absent.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "codec/dlt645/dlt645.h"
#include "codec/meter/frame_json.h"

namespace mh::codec::dlt645 {
namespace {

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, sep)) out.push_back(cell);
  return out;
}

std::string HexOf(const std::vector<uint8_t>& b) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s;
  for (uint8_t x : b) {
    if (!s.empty()) s += ' ';
    s += kHex[x >> 4];
    s += kHex[x & 15];
  }
  return s;
}

TEST(Dlt645SharedVectors, EveryFrameOfTheSharedFileDecodesAndIsADriverVector) {
  const std::string path = std::string(MH_SHARED_DATA_DIR) + "/protocol/dlt645/dlt645_vectors.tsv";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "no " << path << " (shared data absent)";
  std::vector<std::vector<uint8_t>> driver_frames;
  for (const TestVector& v : Dlt645Driver().vectors) driver_frames.push_back(*ParseHexFrame(v.hex));
  std::string line;
  std::getline(in, line);  // header
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto cells = Split(line, '\t');
    ASSERT_GE(cells.size(), 7u) << line;
    SCOPED_TRACE(cells[0] + " " + cells[4]);
    auto bytes = ParseHexFrame(cells[4]);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    auto frame = ParseFrame(*bytes);
    ASSERT_TRUE(frame.ok()) << frame.status().message();
    // checked_here: (True, 'ADDRESS', '0xC', 'DATA BYTES')
    const auto check = Split(cells[6], '\'');
    ASSERT_GE(check.size(), 6u) << cells[6];
    EXPECT_EQ(frame->address, check[1]);
    EXPECT_EQ(frame->control, std::stoi(check[3], nullptr, 16));
    EXPECT_EQ(HexOf(frame->data), check[5]);
    auto decoded = Decode(*bytes, {});
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    bool carried = false;
    for (const auto& f : driver_frames) carried = carried || f == *bytes;
    EXPECT_TRUE(carried) << "not among Dlt645Driver's vectors";
    ++rows;
  }
  EXPECT_EQ(rows, 7);
}

}  // namespace
}  // namespace mh::codec::dlt645
