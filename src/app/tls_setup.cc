#include "app/tls_setup.h"

#include <arpa/inet.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/x509.h"

namespace mh::app {
namespace {

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out || !(out << text) || !out.flush()) return InvalidArgument("cannot write " + path);
  }
  if (::chmod(path.c_str(), mode) != 0) return InvalidArgument("cannot chmod " + path);
  return Status::Ok();
}

Result<std::string> ReadPem(const std::string& key, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument(key + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) return InvalidArgument(key + ": " + path + " is not PEM");
  return text.str();
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Status ApplyHttpTls(const Config& config, api::HttpOptions* options) {
  const auto& h = config.http;
  if (h.tls_cert.empty() != h.tls_key.empty()) return InvalidArgument("http.tls_cert and http.tls_key go together");
  if (h.tls_cert.empty()) {
    if (!IsLoopbackHost(options->host) && !h.allow_plaintext)
      return InvalidArgument("http.listen = \"" + h.listen +
                             "\" is not a loopback address: set http.tls_cert and http.tls_key to serve HTTPS there, or "
                             "http.allow_plaintext = true (e.g. behind a TLS-terminating proxy)");
    return Status::Ok();
  }
  MH_ASSIGN_OR_RETURN(options->tls_cert_pem, ReadPem("http.tls_cert", h.tls_cert));
  MH_ASSIGN_OR_RETURN(options->tls_key_pem, ReadPem("http.tls_key", h.tls_key));
  return Status::Ok();
}

Result<ingest::MqttTls> MqttTlsOf(const Config& config) {
  ingest::MqttTls tls{config.mqtt.tls_ca, config.mqtt.tls_cert, config.mqtt.tls_key};
  MH_RETURN_IF_ERROR(ingest::CheckMqttTls(tls));
  return tls;
}

Result<TlsFiles> MakeThrowAwayTls(const std::string& dir, int days) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return InvalidArgument("cannot create " + dir + ": " + ec.message());
  MH_ASSIGN_OR_RETURN(crypto::PemCertificate ca, crypto::MakeCertificateAuthority("MeterHub throw-away CA", days));
  MH_ASSIGN_OR_RETURN(crypto::PemCertificate server,
                      crypto::IssueCertificate(ca, "localhost", {"127.0.0.1", "::1", "localhost"}, days));
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  MH_RETURN_IF_ERROR(WriteFile(files.ca_file, ca.cert_pem, 0644));
  MH_RETURN_IF_ERROR(WriteFile(files.cert_file, server.cert_pem, 0644));
  MH_RETURN_IF_ERROR(WriteFile(files.key_file, server.key_pem, 0600));
  return files;  // the CA's key is not kept: nothing more is ever signed with it
}

}  // namespace mh::app
