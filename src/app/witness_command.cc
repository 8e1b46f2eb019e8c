#include "app/witness_command.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"

namespace mh::app {
namespace {

using json = nlohmann::json;
namespace ledger = audit::ledger;

class HttpHeadSource final : public ledger::HeadSource {
 public:
  HttpHeadSource(const std::string& url, const std::string& token) : url_(url), client_(url) {
    client_.set_bearer_token_auth(token);
    client_.set_connection_timeout(10, 0);
    client_.set_read_timeout(60, 0);
  }

  Result<std::optional<store::LedgerTreeHead>> Latest() override {
    MH_ASSIGN_OR_RETURN(json j, Get("/api/v1/audit/ledger/head"));
    MH_ASSIGN_OR_RETURN(store::LedgerTreeHead head, Head(j, "/api/v1/audit/ledger/head"));
    return std::optional<store::LedgerTreeHead>(head);
  }

  Result<std::vector<store::LedgerTreeHead>> HeadsSince(int64_t since, int64_t limit) override {
    const std::string path = "/api/v1/audit/ledger/heads?since=" + std::to_string(since) + "&limit=" + std::to_string(limit);
    MH_ASSIGN_OR_RETURN(json j, Get(path));
    if (!j.contains("heads") || !j["heads"].is_array()) return InvalidArgument(path + ": no 'heads' array");
    std::vector<store::LedgerTreeHead> out;
    for (const json& h : j["heads"]) {
      MH_ASSIGN_OR_RETURN(store::LedgerTreeHead head, Head(h, path));
      out.push_back(head);
    }
    return out;
  }

  Result<ledger::ConsistencyProof> Consistency(int64_t old_size, int64_t new_size) override {
    const std::string path =
        "/api/v1/audit/ledger/proofs/consistency?from=" + std::to_string(old_size) + "&to=" + std::to_string(new_size);
    MH_ASSIGN_OR_RETURN(json j, Get(path));
    ledger::ConsistencyProof p;
    p.old_size = old_size;
    p.new_size = new_size;
    if (!j.contains("path") || !j["path"].is_array()) return InvalidArgument(path + ": no 'path' array");
    for (const json& h : j["path"]) {
      if (!h.is_string()) return InvalidArgument(path + ": a path entry is not a string");
      MH_ASSIGN_OR_RETURN(ledger::Hash hash, ledger::HashFromHex(h.get<std::string>()));
      p.path.push_back(hash);
    }
    return p;
  }

  Result<std::string> PublicKey() override {
    MH_ASSIGN_OR_RETURN(json j, Get("/api/v1/audit/ledger/head"));
    Result<crypto::Bytes> key = crypto::HexDecode(j.value("public_key", std::string()));
    if (!key.ok() || key->size() != 32) return InvalidArgument("/api/v1/audit/ledger/head: no 64-hex 'public_key'");
    return std::string(key->begin(), key->end());
  }

 private:
  // Unavailable when the daemon cannot be reached or is busy; InvalidArgument for any other answer
  // that is not a JSON object with 200.
  Result<json> Get(const std::string& path) {
    auto r = client_.Get(path);
    if (!r) return Unavailable(url_ + path + ": " + httplib::to_string(r.error()));
    if (r->status == 503) return Unavailable(url_ + path + ": HTTP 503");
    if (r->status != 200) return InvalidArgument(url_ + path + ": HTTP " + std::to_string(r->status) + ": " + r->body);
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_object()) return InvalidArgument(url_ + path + ": not a JSON object");
    return j;
  }

  static Result<store::LedgerTreeHead> Head(const json& j, const std::string& where) {
    Result<store::LedgerTreeHead> h = ledger::ParseHeadLine(j.dump());
    if (!h.ok()) return h.status().WithContext(where);
    return h;
  }

  const std::string url_;
  httplib::Client client_;
};

}  // namespace

std::unique_ptr<ledger::HeadSource> NewHttpHeadSource(const std::string& url, const std::string& token) {
  return std::make_unique<HttpHeadSource>(url, token);
}

int RunWitness(const WitnessArgs& a, std::ostream& out, std::ostream& err) {
  constexpr int kUsage = 2;
  if (a.db.empty() == a.url.empty()) {
    err << "meterhub ledger witness: give --db PATH or --url URL (with --token), not both\n";
    return kUsage;
  }
  if (!a.url.empty() && a.token.empty()) {
    err << "meterhub ledger witness: --url needs --token (an admin, auditor or supervisor token)\n";
    return kUsage;
  }
  std::unique_ptr<ledger::HeadSource> source;
  if (!a.db.empty()) {
    auto opened = ledger::OpenDatabaseHeadSource(a.db);
    if (!opened.ok()) {
      err << "meterhub ledger witness: " << opened.status().message() << "\n";
      return kUsage;
    }
    source = std::move(*opened);
  } else {
    source = NewHttpHeadSource(a.url, a.token);
  }
  auto round = ledger::RunWitnessRound(*source, a.keep,
                                       a.public_key.empty() ? std::nullopt : std::optional<std::string>(a.public_key));
  if (!round.ok()) {
    err << "meterhub ledger witness: " << round.status().message() << "\n";
    return kUsage;
  }
  if (round->failures.empty()) {
    out << "consistent size=" << round->newest_size << "\n";
    return 0;
  }
  for (const std::string& f : round->failures) out << f << "\n";
  return 1;
}

}  // namespace mh::app
