#include "codec/compressed_lines.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

namespace mh::codec {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("mh-lines-" + std::to_string(::getpid()) + "-" + name)).string();
}

void WriteGzip(const std::string& path, const std::string& text) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
}

void WriteZip(const std::string& path, const std::vector<std::pair<std::string, std::string>>& members) {
  struct archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  for (const auto& [name, text] : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(text.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_write_header(a, e);
    archive_write_data(a, text.data(), text.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::vector<std::string> Lines(const std::string& path, const std::string& member = "", Status* status = nullptr) {
  std::vector<std::string> out;
  Status s = ForEachCompressedLine(
      path,
      [&](int64_t lineno, std::string_view text) {
        EXPECT_EQ(lineno, static_cast<int64_t>(out.size()) + 1);
        out.emplace_back(text);
        return Status::Ok();
      },
      member);
  if (status) *status = s;
  else EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

TEST(CompressedLines, GzipFileLinesWithCrLfAndNoFinalNewline) {
  const std::string path = TempPath("a.csv.gz");
  std::string text = "meter_id,timestamp,kwh\r\n";
  for (int i = 0; i < 20000; ++i) text += "M" + std::to_string(i) + ",2013-01-01 00:00:00,0.25\n";  // spans many blocks
  text += "last,line,without newline";
  WriteGzip(path, text);
  auto lines = Lines(path);
  ASSERT_EQ(lines.size(), 20002u);
  EXPECT_EQ(lines[0], "meter_id,timestamp,kwh");
  EXPECT_EQ(lines[12345], "M12344,2013-01-01 00:00:00,0.25");
  EXPECT_EQ(lines.back(), "last,line,without newline");
  std::filesystem::remove(path);
}

TEST(CompressedLines, ZipMembersInOrderOrOneByName) {
  const std::string path = TempPath("b.zip");
  WriteZip(path, {{"one.csv", "a;1\nb;2\n"}, {"two.csv", "c;3\n"}});
  EXPECT_EQ(Lines(path), (std::vector<std::string>{"a;1", "b;2", "c;3"}));
  EXPECT_EQ(Lines(path, "two.csv"), (std::vector<std::string>{"c;3"}));
  Status s;
  Lines(path, "three.csv", &s);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("three.csv"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(CompressedLines, PlainFileEarlyStopAndErrors) {
  const std::string path = TempPath("c.txt");
  std::ofstream(path) << "x\ny\nz\n";
  EXPECT_EQ(Lines(path), (std::vector<std::string>{"x", "y", "z"}));
  int seen = 0;
  Status s = ForEachCompressedLine(path, [&](int64_t lineno, std::string_view) {
    ++seen;
    return lineno == 2 ? InvalidArgument("line 2: bad") : Status::Ok();
  });
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(s.message(), "line 2: bad");
  std::filesystem::remove(path);

  s = ForEachCompressedLine(TempPath("missing.gz"), [](int64_t, std::string_view) { return Status::Ok(); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing.gz"), std::string::npos);

  const std::string corrupt = TempPath("d.gz");
  std::string gz;
  {
    WriteGzip(corrupt, std::string(100000, 'q') + "\n");
    std::ifstream in(corrupt, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz.resize(gz.size() / 2);  // truncated
  std::ofstream(corrupt, std::ios::binary | std::ios::trunc) << gz;
  s = ForEachCompressedLine(corrupt, [](int64_t, std::string_view) { return Status::Ok(); });
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(corrupt), std::string::npos);
  std::filesystem::remove(corrupt);
}

}  // namespace
}  // namespace mh::codec
