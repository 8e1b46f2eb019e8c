#include "alerts/channels/smtp_channel.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>

#include <openssl/evp.h>

#include "alerts/channels/curl_transfer.h"
#include "core/time.h"

namespace mh::alerts {
namespace {

constexpr size_t kMaxLineBytes = 998;  // RFC 5322 2.1.1, without the CRLF

struct UploadSource {
  const std::string* data;
  size_t pos = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t n, void* user) {
  auto* src = static_cast<UploadSource*>(user);
  size_t len = std::min(size * n, src->data->size() - src->pos);
  std::memcpy(buffer, src->data->data() + src->pos, len);
  src->pos += len;
  return len;
}

bool IsAscii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(len);
  return out;
}

// One header line's value: CR/LF become spaces (no header injection), non-ASCII text becomes
// RFC 2047 encoded words of at most 45 bytes each (60 base64 chars, within the 75-char limit).
std::string HeaderText(const std::string& raw) {
  std::string s = raw;
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  if (IsAscii(s)) return s;
  std::string out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = std::min(start + 45, s.size());
    while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;  // whole code points
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(s.substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

// CRLF line endings throughout, lines longer than the SMTP limit split, a final CRLF.
std::string BodyText(const std::string& text) {
  std::string out;
  size_t line_len = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') continue;
    if (c == '\n') {
      out += "\r\n";
      line_len = 0;
      continue;
    }
    if (line_len == kMaxLineBytes) {
      out += "\r\n";
      line_len = 0;
    }
    out += c;
    ++line_len;
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? "localhost" : address.substr(at + 1);
}

std::string Hex64(uint64_t v) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[i] = kHex[v & 0xf];
  return out;
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

SmtpChannel::SmtpChannel(SmtpOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock) {
  internal::EnsureCurlGlobalInit();
}

Status SmtpChannel::Send(const Message& message) {
  if (!IsValidEmailAddress(message.address)) {
    return InvalidArgument("not an e-mail address: \"" + message.address + "\"");
  }
  if (!IsValidEmailAddress(options_.from)) {
    return InvalidArgument("[alerts.email] from is not an e-mail address: \"" + options_.from + "\"");
  }
  const int64_t now_ms = clock_->NowMillis();
  const std::string message_id =
      "<" + std::to_string(now_ms) + "." + std::to_string(++sequence_) + "." +
      Hex64(std::hash<std::string>{}(message.address + '\n' + message.json)) + "@" +
      DomainOf(options_.from) + ">";
  const std::string payload = BuildEmail(options_, message, now_ms / 1000, message_id);

  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return Internal("curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> rcpt(curl_slist_append(nullptr, ("<" + message.address + ">").c_str()));
  const std::string mail_from = "<" + options_.from + ">";
  UploadSource source{&payload};
  char error[CURL_ERROR_SIZE] = {0};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &ReadUpload);
  curl_easy_setopt(e, CURLOPT_READDATA, &source);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  curl_easy_setopt(e, CURLOPT_USE_SSL, options_.starttls ? static_cast<long>(CURLUSESSL_ALL)
                                                         : static_cast<long>(CURLUSESSL_NONE));
  if (!options_.username.empty()) {
    curl_easy_setopt(e, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);

  CURLcode rc = internal::PerformCancellable(e, cancelled_);
  long reply = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply);
  const std::string where = "SMTP " + options_.url + " to <" + message.address + ">";
  if (rc == CURLE_OK) {
    if (reply == 250) return Status::Ok();
    return Unavailable(where + ": unexpected final reply " + std::to_string(reply));
  }
  const std::string detail = error[0] ? error : curl_easy_strerror(rc);
  if (rc == CURLE_ABORTED_BY_CALLBACK) return Unavailable(where + ": cancelled (shutting down)");
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) return InvalidArgument(where + ": " + detail);
  // SMTP's own rule: 5yz is permanent (no such user, relaying denied), 4yz is transient.
  if (reply >= 500 && reply < 600) return InvalidArgument(where + ": " + detail + " (reply " + std::to_string(reply) + ")");
  if (reply >= 400 && reply < 500) return Unavailable(where + ": " + detail + " (reply " + std::to_string(reply) + ")");
  return Unavailable(where + ": " + detail);
}

bool IsValidEmailAddress(const std::string& address) {
  if (address.empty() || address.size() > 254) return false;
  size_t at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == address.size()) return false;
  if (address.find('@', at + 1) != std::string::npos) return false;
  for (char c : address) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (std::strchr("<>()[]\\,;:\"", c) != nullptr) return false;
  }
  return true;
}

std::string FormatRfc5322Date(int64_t epoch_s) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t days = epoch_s >= 0 ? epoch_s / 86400 : (epoch_s - 86399) / 86400;
  int64_t secs = epoch_s - days * 86400;
  int y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  int weekday = static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d +0000", kDays[weekday], d, kMonths[m - 1], y,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

std::string BuildEmail(const SmtpOptions& options, const Message& message, int64_t now_s,
                       const std::string& message_id) {
  std::string from = options.from;
  if (!options.from_name.empty()) {
    std::string name = HeaderText(options.from_name);
    if (IsAscii(options.from_name)) {  // a quoted-string; encoded words must stay unquoted
      std::string quoted = "\"";
      for (char c : name) {
        if (c == '"' || c == '\\') quoted += '\\';
        quoted += c;
      }
      name = quoted + "\"";
    }
    from = name + " <" + options.from + ">";
  }
  std::string out;
  out += "Date: " + FormatRfc5322Date(now_s) + "\r\n";
  out += "From: " + from + "\r\n";
  out += "To: <" + message.address + ">\r\n";
  out += "Subject: " + HeaderText(message.subject.empty() ? "MeterHub alert" : message.subject) + "\r\n";
  out += "Message-ID: " + message_id + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "Auto-Submitted: auto-generated\r\n";  // RFC 3834: no vacation auto-replies, please
  out += "\r\n";
  out += BodyText(message.text);
  return out;
}

}  // namespace mh::alerts
