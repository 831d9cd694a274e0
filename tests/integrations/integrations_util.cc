#include "tests/integrations/integrations_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/common/json.h"
#include "tools/http_client.h"

namespace ew::testing {
namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";

int Decode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

PrometheusProcess::PrometheusProcess(std::string dir, std::string target, std::string metrics_path,
                                     std::string bearer_token)
    : dir_(std::move(dir)),
      target_(std::move(target)),
      metrics_path_(std::move(metrics_path)),
      token_(std::move(bearer_token)) {}

PrometheusProcess::~PrometheusProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

Status PrometheusProcess::Start() {
  if (access(kPrometheus, X_OK) != 0) {
    return Status::NotFound(std::string(kPrometheus) +
                            " is missing: install Debian's prometheus package (tools/dev deps)");
  }
  port_ = FreePort();
  if (port_ == 0) return Status::IOError("no free port");
  std::ofstream cfg(dir_ + "/prometheus.yml");
  cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: edgewise\n    metrics_path: " << metrics_path_ << "\n"
      << "    scrape_timeout: 1s\n";
  if (!token_.empty()) cfg << "    authorization:\n      credentials: " << token_ << "\n";
  cfg << "    static_configs:\n      - targets: ['" << target_ << "']\n";
  cfg.close();
  std::vector<std::string> args = {kPrometheus, "--config.file=" + dir_ + "/prometheus.yml",
                                   "--storage.tsdb.path=" + dir_ + "/data",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/prometheus.log";
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) return Status::IOError("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int devnull = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (devnull < 0 || out < 0) _exit(127);
    dup2(devnull, 0);
    dup2(out, 1);
    dup2(out, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Internal("prometheus exited with " + std::to_string(Decode(status)));
    }
    tools::HttpConnection http("127.0.0.1", port_, std::chrono::seconds(2));
    auto r = http.Get("/-/ready");
    if (r.ok() && r->status == 200) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status::Unavailable("prometheus did not become ready in 60 s");
}

int PrometheusProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Decode(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return Decode(status);
}

std::string PrometheusProcess::Log() const {
  std::ifstream in(dir_ + "/prometheus.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<PrometheusProcess::Labels, double> PrometheusProcess::Query(const std::string& promql,
                                                                     double time,
                                                                     double* eval_time) {
  std::map<Labels, double> out;
  std::string target = "/api/v1/query?query=" + tools::UrlEncode(promql);
  if (time > 0) {
    std::ostringstream t;
    t.precision(15);
    t << time;
    target += "&time=" + t.str();
  }
  tools::HttpConnection http("127.0.0.1", port_, std::chrono::seconds(10));
  auto r = http.Get(target);
  if (!r.ok() || r->status != 200) {
    std::cerr << "prometheus query failed: " << promql << ": "
              << (r.ok() ? r->body : r.status().ToString()) << "\n";
    return out;
  }
  auto doc = Json::Parse(r->body);
  if (!doc.ok()) return out;
  for (const Json& series : (*doc)["data"]["result"].Elements()) {
    Labels labels;
    for (const std::string& k : series["metric"].Keys()) labels[k] = series["metric"][k].String();
    out[labels] = std::stod(series["value"][1].String("nan"));
    if (eval_time) *eval_time = series["value"][0].Double();
  }
  return out;
}

std::map<std::pair<std::string, std::string>, double> PrometheusProcess::QueryPairs(
    const std::string& promql, double time) {
  std::map<std::pair<std::string, std::string>, double> out;
  for (auto& [labels, v] : Query(promql, time)) {
    out[{labels.count("client") ? labels.at("client") : "",
         labels.count("server") ? labels.at("server") : ""}] = v;
  }
  return out;
}

uint64_t PrometheusProcess::WaitForValue(const std::string& promql, uint64_t want,
                                         double* eval_time) {
  double last = 0;
  for (int i = 0; i < 300; ++i) {
    double t = 0;
    auto r = Query(promql, 0, &t);
    if (r.size() == 1) {
      last = r.begin()->second;
      if (eval_time) *eval_time = t;
      if (last == static_cast<double>(want)) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return static_cast<uint64_t>(last);
}

}  // namespace ew::testing
