#include "app/demo_cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "app/daemon.h"

namespace mh::app {
namespace {

// The value of an unlabelled series in a Prometheus text page; 0 when absent.
int64_t MetricValue(const std::string& page, const std::string& name) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::atoll(line.c_str() + name.size() + 1);
  return 0;
}

// "0-3 8 10-12": a sorted shard list, compactly.
std::string Ranges(const std::vector<int>& shards) {
  std::string out;
  for (size_t i = 0; i < shards.size();) {
    size_t j = i;
    while (j + 1 < shards.size() && shards[j + 1] == shards[j] + 1) ++j;
    out += (out.empty() ? "" : " ") + std::to_string(shards[i]) + (j > i ? "-" + std::to_string(shards[j]) : "");
    i = j + 1;
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

Status DemoCluster::StartDatabase(const std::string& dir, Config* config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(fs::path(dir) / "postgres", ec);  // the demo's database is scratch, like its SQLite file
  fs::remove(fs::path(dir) / "ledger.key", ec);
  MH_RETURN_IF_ERROR(postgres_.Start((fs::path(dir) / "postgres").string()));
  postgres_started_ = true;
  config->store.backend = "postgres";
  config->store.url = postgres_.Url("postgres");
  config->audit.key_file = (fs::path(dir) / "ledger.key").string();
  config->cluster.worker_id = "w1";
  config->cluster.lease_period = "4s";  // shards visibly move within seconds when workers come and go
  return Status::Ok();
}

Status DemoCluster::StartWorkers(const Config& config, const std::string& dir, int workers, int base_port) {
  const std::string path = (std::filesystem::path(dir) / "worker.toml").string();
  {
    std::ofstream f(path);
    f << "# written by meterhub demo --postgres: the extra workers' configuration\n" << ConfigToml(config);
    if (!f) return Internal("demo: cannot write " + path);
  }
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return Internal("demo: cannot find the meterhub binary (/proc/self/exe)");
  for (int i = 2; i <= workers; ++i) {
    const int port = base_port + i - 1;
    const std::string log = (std::filesystem::path(dir) / ("worker-" + std::to_string(i) + ".log")).string();
    std::vector<std::string> args = {"meterhub", "serve", "--config", path, "--worker-id", "w" + std::to_string(i),
                                     "--listen", "127.0.0.1:" + std::to_string(port)};
    const pid_t pid = fork();
    if (pid < 0) return Internal("demo: fork failed");
    if (pid == 0) {
      FILE* f = freopen(log.c_str(), "a", stderr);
      f = freopen("/dev/null", "w", stdout);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(self, argv.data());
      _exit(127);
    }
    pids_.push_back(pid);
    ports_.push_back(port);
  }
  return Status::Ok();
}

int64_t DemoCluster::ReceivedByOthers() const {
  int64_t total = 0;
  for (int port : ports_) {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(2);
    if (auto r = c.Get("/metrics"); r && r->status == 200)
      total += MetricValue(r->body, "meterhub_readings_received_total") + MetricValue(r->body, "meterhub_readings_rejected_total");
  }
  return total;
}

void DemoCluster::PrintWorkers(std::ostream& out, Daemon& first, const std::string& token) const {
  std::vector<int> mine = first.leases() ? first.leases()->Owned() : std::vector<int>{};
  out << "  workers:              w1 (this process, port " << first.http_port() << "): " << mine.size() << " shards ["
      << Ranges(mine) << "]\n";
  for (size_t i = 0; i < ports_.size(); ++i) {
    httplib::Client c("127.0.0.1", ports_[i]);
    c.set_connection_timeout(2);
    auto r = c.Get("/api/v1/status", {{"Authorization", "Bearer " + token}});
    std::vector<int> shards;
    if (r && r->status == 200) {
      nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_object() && j.contains("shards")) shards = j["shards"].get<std::vector<int>>();
    }
    out << "                        w" << i + 2 << " (port " << ports_[i] << "): "
        << (r ? std::to_string(shards.size()) + " shards [" + Ranges(shards) + "]" : std::string("not answering")) << "\n";
  }
}

void DemoCluster::Stop() {
  for (pid_t pid : pids_) kill(pid, SIGTERM);  // a clean stop gives their leases back
  for (pid_t pid : pids_) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
  pids_.clear();
  ports_.clear();
  if (postgres_started_) postgres_.Stop();
  postgres_started_ = false;
}

}  // namespace mh::app
