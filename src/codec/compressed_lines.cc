#include "codec/compressed_lines.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace mh::codec {
namespace {

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

}  // namespace

Status ForEachCompressedLine(const std::string& path, const LineFn& line, const std::string& member) {
  std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
  if (!a) return Internal("archive_read_new failed");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_raw(a.get());  // a bare (gzip-compressed) file: one member
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return InvalidArgument(path + ": " + archive_error_string(a.get()));
  int64_t lineno = 0;
  bool found = member.empty();
  std::string pending;  // a line split across blocks
  auto emit = [&](std::string_view text) -> Status {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    return line(++lineno, text);
  };
  struct archive_entry* entry;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK) {
    const char* name = archive_entry_pathname(entry);
    if (!member.empty() && (name == nullptr || member != name)) continue;
    found = true;
    const void* block;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(a.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      std::string_view data(static_cast<const char*>(block), size);
      for (size_t nl; (nl = data.find('\n')) != std::string_view::npos; data.remove_prefix(nl + 1)) {
        Status s;
        if (pending.empty()) {
          s = emit(data.substr(0, nl));
        } else {
          pending.append(data.substr(0, nl));
          s = emit(pending);
          pending.clear();
        }
        if (!s.ok()) return s;
      }
      pending.append(data);
    }
    if (r != ARCHIVE_EOF) return InvalidArgument(path + ": " + archive_error_string(a.get()));
    if (!pending.empty()) {  // the member's last line had no newline
      MH_RETURN_IF_ERROR(emit(pending));
      pending.clear();
    }
  }
  if (rc != ARCHIVE_EOF) return InvalidArgument(path + ": " + archive_error_string(a.get()));
  if (!found) return NotFound(path + ": no member " + member);
  if (lineno == 0) return InvalidArgument(path + ": no data");
  return Status::Ok();
}

}  // namespace mh::codec
