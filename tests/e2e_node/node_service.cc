#include "tests/e2e_node/node_service.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace ew::testing {

std::string NodeBinary() {
  const char* node = std::getenv("NODE");
  return node != nullptr && *node != '\0' ? node : "node";
}

bool NodeModulesInstalled() {
  struct stat st;
  std::string dir = std::string(EW_SOURCE_DIR) +
                    "/tests/node/node_modules/@opentelemetry/sdk-trace-node/package.json";
  return stat(dir.c_str(), &st) == 0;
}

NodeService::NodeService(std::string name, std::map<std::string, std::string> env)
    : name_(std::move(name)), env_(std::move(env)) {
  log_path_ = "/tmp/ew-node-" + name_ + "-" + std::to_string(getpid()) + ".log";
}

NodeService::~NodeService() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  unlink(log_path_.c_str());
}

std::string NodeService::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status NodeService::Start(std::chrono::milliseconds timeout) {
  int out[2];
  if (pipe(out) != 0) return Status::IOError("pipe failed");
  std::string script = std::string(EW_SOURCE_DIR) + "/tests/node/service.js";
  std::string node = NodeBinary();
  std::vector<std::string> env_strings;
  // The given variables replace inherited ones of the same name: with a name twice in the
  // environment, getenv (and so Node) reads the first — an inherited NODE_EXTRA_CA_CERTS (the
  // system bundle, on many machines) would hide the test CA, Node would refuse the server's
  // certificate and the server would log "TLS handshake failed: stream truncated".
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string var(*e);
    const std::string name = var.substr(0, var.find('='));
    if (name != "SERVICE" && env_.count(name) == 0) env_strings.push_back(var);
  }
  env_strings.push_back("SERVICE=" + name_);
  for (const auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv = {node.data(), script.data(), nullptr};
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) return Status::IOError("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(out[1], 1);
    int err = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) dup2(err, 2);
    close(out[0]);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  stdout_fd_ = out[0];
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buf[256];
      ssize_t n = read(stdout_fd_, buf, sizeof(buf));
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
      size_t at = seen.find("ready ");
      if (at != std::string::npos && seen.find('\n', at) != std::string::npos) {
        port_ = static_cast<uint16_t>(std::stoi(seen.substr(at + 6)));
        return Status::Ok();
      }
    }
  }
  return Status::Unavailable("node service " + name_ + " did not start: " + seen + Log());
}

int NodeService::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace ew::testing
