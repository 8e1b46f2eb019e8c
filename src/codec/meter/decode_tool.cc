#include "codec/meter/decode_tool.h"

#include <algorithm>
#include <cctype>
#include <fstream>

#include <CLI/CLI.hpp>

#include "codec/meter/driver.h"
#include "codec/meter/frame_json.h"
#include "codec/meter/keys_file.h"
#include "base/number_text.h"

namespace mh::codec {
namespace {

constexpr int kDecoded = 0, kUsage = 2, kSomeFailed = 3;
constexpr const char* kProtocols[] = {"dlt645", "cjt188", "dlms", "wmbus"};

// One frame per line; blank lines and lines starting with # skipped.
Result<std::vector<std::string>> ReadFrameFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read " + path);
  std::vector<std::string> frames;
  std::string line;
  while (std::getline(in, line)) {
    const std::string t(TrimBlanks(line));
    if (t.empty() || t[0] == '#') continue;
    frames.push_back(t);
  }
  if (in.bad()) return InvalidArgument("cannot read " + path);
  return frames;
}

// A frame typed as separate byte words (`68 76 02 …` unquoted): when every argument is one byte,
// they are one frame — a one-byte frame never decodes in any protocol.
void JoinByteWords(std::vector<std::string>& frames) {
  if (frames.size() < 2) return;
  for (const std::string& f : frames) {
    if (f.empty() || f.size() > 2) return;
  }
  std::string joined;
  for (const std::string& f : frames) joined += (joined.empty() ? "" : " ") + f;
  frames = {joined};
}

std::string DecodeOne(const ProtocolDriver& driver, const std::string& text, const DecodeKeys& keys, bool* ok) {
  auto bytes = ParseHexFrame(text);
  if (!bytes.ok()) {
    *ok = false;
    return FrameErrorJson(driver.name, bytes.status().message());
  }
  auto frame = driver.decode(*bytes, keys);
  *ok = frame.ok();
  return frame.ok() ? FrameJson(*frame) : FrameErrorJson(driver.name, frame.status().message());
}

}  // namespace


int RunDecodeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"Decodes meter frames given in hex: one JSON line per frame, in input order.\n"
               "Exit 0: every frame decoded; 3: some did not; 2: bad usage.",
               "meterhub decode"};
  std::string protocol, key_hex, auth_hex, keys_path, file;
  std::vector<std::string> frames;
  app.add_option("--protocol", protocol, "dlt645 | cjt188 | dlms | wmbus")->required();
  app.add_option("--key", key_hex, "the wM-Bus AES key or the DLMS encryption key (hex, 16 bytes)");
  app.add_option("--auth-key", auth_hex, "the DLMS authentication key (hex, 16 bytes)");
  app.add_option("--keys", keys_path, "CSV address,key[,auth_key] for many meters (header optional)");
  app.add_option("--file", file, "frames in hex, one per line (blank lines and # comments skipped)");
  app.add_option("HEX", frames,
                 "frames in hex, one per argument (quote a frame written with spaces; arguments that are all single bytes are one frame); '_' and '|' may separate bytes");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return kDecoded;
  } catch (const CLI::ParseError& e) {
    err << "meterhub decode: " << e.what() << "\n" << app.help();
    return kUsage;
  }
  auto usage = [&](const std::string& what) {
    err << "meterhub decode: " << what << "\n";
    return kUsage;
  };
  if (std::find(std::begin(kProtocols), std::end(kProtocols), protocol) == std::end(kProtocols)) {
    return usage("unknown protocol '" + protocol + "' (dlt645, cjt188, dlms, wmbus)");
  }
  const ProtocolDriver* driver = FindDriver(protocol);
  if (driver == nullptr) return usage("protocol " + protocol + " not available in this build");
  if (!frames.empty() && !file.empty()) return usage("give the frames as arguments or with --file, not both");
  if (frames.empty() && file.empty()) return usage("no frame given (HEX... or --file F)");
  DecodeKeys keys;
  if (!key_hex.empty()) {
    auto k = ParseAesKey(key_hex);
    if (!k.ok()) return usage("--key: " + k.status().message());
    keys.any.key = *k;
  }
  if (!auth_hex.empty()) {
    auto k = ParseAesKey(auth_hex);
    if (!k.ok()) return usage("--auth-key: " + k.status().message());
    keys.any.auth_key = *k;
  }
  if (!keys_path.empty()) {
    if (!std::ifstream(keys_path)) return usage("--keys: cannot read " + keys_path);
    auto by_address = ReadKeysFile(keys_path);
    if (!by_address.ok()) return usage(by_address.status().message());
    keys.by_address = std::move(*by_address);
  }
  JoinByteWords(frames);
  if (!file.empty()) {
    auto lines = ReadFrameFile(file);
    if (!lines.ok()) return usage("--file: " + lines.status().message());
    frames = std::move(*lines);
  }
  int code = kDecoded;
  for (const std::string& text : frames) {
    bool ok = false;
    out << DecodeOne(*driver, text, keys, &ok) << "\n";
    if (!ok) code = kSomeFailed;
  }
  return code;
}

}  // namespace mh::codec
