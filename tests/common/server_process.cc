#include "tests/common/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <sstream>
#include <thread>

namespace ew::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Forks and execs argv with stdout/stderr redirected to files. Everything the child touches is
// prepared before fork (only async-signal-safe calls after it).
pid_t SpawnChild(const std::vector<std::string>& args, const std::string& out_path,
                 const std::string& err_path) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int devnull = open("/dev/null", O_RDONLY);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (devnull < 0 || out < 0 || err < 0) _exit(127);
  dup2(devnull, 0);
  dup2(out, 1);
  dup2(err, 2);
  // Unblock signals the test runner may have blocked.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv(argv[0], argv.data());
  _exit(127);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for pid up to timeout; SIGKILLs it after. Returns the decoded status.
int WaitWithTimeout(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0) return -1;
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      if (waitpid(pid, &status, 0) == pid) return DecodeWaitStatus(status);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

std::string EdgewiseBinary() {
  const char* env = std::getenv("EW_EDGEWISE_BINARY");
  if (env != nullptr && *env != '\0') return env;
  return std::string(EW_BINARY_DIR) + "/server/edgewise";
}

ServerProcess::ServerProcess(ServerOptions options)
    : options_(std::move(options)), files_(std::make_unique<TempDir>("ew-server-")) {
  data_dir_ = options_.data_dir.empty() ? files_->Sub("data") : options_.data_dir;
  if (options_.binary.empty()) options_.binary = EdgewiseBinary();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

std::string ServerProcess::Stderr() const { return ReadFileOrEmpty(files_->Sub("stderr.log")); }
std::string ServerProcess::Stdout() const { return ReadFileOrEmpty(files_->Sub("stdout.log")); }

std::string ServerProcess::CommandLine() const {
  std::string s;
  for (const auto& a : argv_) s += (s.empty() ? "" : " ") + a;
  return s;
}

Status ServerProcess::Spawn() {
  argv_ = {options_.binary};
  if (options_.default_args) {
    argv_.insert(argv_.end(),
                 {"--otlp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--otlp-grpc-addr",
                  options_.grpc ? "127.0.0.1:0" : "off", "--data-dir", data_dir_});
  }
  argv_.insert(argv_.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (access(options_.binary.c_str(), X_OK) != 0) {
    return Status::NotFound("server binary not built: " + options_.binary);
  }
  // Empty the logs first: WaitReady must not see the ready line of a previous run.
  WriteFile(files_->Sub("stdout.log"), "");
  WriteFile(files_->Sub("stderr.log"), "");
  pid_ = SpawnChild(argv_, files_->Sub("stdout.log"), files_->Sub("stderr.log"));
  if (pid_ < 0) return Status::IOError("fork failed");
  exit_code_ = -1;
  return Status::Ok();
}

Status ServerProcess::Start() {
  if (pid_ > 0) return Status::FailedPrecondition("server already running");
  EW_RETURN_IF_ERROR(Spawn());
  Status st = WaitReady();
  if (!st.ok()) {
    Kill();
    return Status(st.code(), st.message() + "\ncommand: " + CommandLine() + "\nstdout:\n" +
                                 Stdout() + "\nstderr:\n" + Stderr());
  }
  return st;
}

Status ServerProcess::WaitReady() {
  static const std::regex kReady(
      R"(edgewise ready otlp=([^\s:]+|\[[^\]]+\]):(\d+) http=([^\s:]+|\[[^\]]+\]):(\d+))"
      R"((?: grpc=([^\s:]+|\[[^\]]+\]):(\d+))?\n)");
  auto deadline = Clock::now() + options_.ready_timeout;
  while (Clock::now() < deadline) {
    std::string out = Stdout();
    std::smatch m;
    if (std::regex_search(out, m, kReady)) {
      host_ = m[3].str();
      otlp_port_ = static_cast<uint16_t>(std::stoi(m[2].str()));
      http_port_ = static_cast<uint16_t>(std::stoi(m[4].str()));
      grpc_port_ = m[6].matched ? static_cast<uint16_t>(std::stoi(m[6].str())) : 0;
      return Status::Ok();
    }
    if (Reap(false) >= 0 || pid_ < 0) {
      return Status::Unavailable("edgewise exited with code " + std::to_string(exit_code_) +
                                 " before the ready line");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Status::Unavailable("edgewise did not print the ready line in time");
}

int ServerProcess::Reap(bool block) {
  if (pid_ <= 0) return -1;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_code_ = DecodeWaitStatus(status);
    pid_ = -1;
    return exit_code_;
  }
  if (r < 0) pid_ = -1;
  return -1;
}

bool ServerProcess::Running() {
  Reap(false);
  return pid_ > 0;
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int ServerProcess::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  exit_code_ = WaitWithTimeout(pid_, timeout);
  pid_ = -1;
  return exit_code_;
}

int ServerProcess::Kill() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  Reap(true);
  return exit_code_;
}

Status ServerProcess::Restart() {
  Stop();
  return Start();
}

RunResult RunEdgewise(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  TempDir dir("ew-run-");
  std::vector<std::string> argv = {EdgewiseBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult result;
  if (access(argv[0].c_str(), X_OK) != 0) {
    result.err = "server binary not built: " + argv[0];
    return result;
  }
  pid_t pid = SpawnChild(argv, dir.Sub("out"), dir.Sub("err"));
  if (pid < 0) return result;
  result.exit_code = WaitWithTimeout(pid, timeout);
  result.out = ReadFileOrEmpty(dir.Sub("out"));
  result.err = ReadFileOrEmpty(dir.Sub("err"));
  return result;
}

}  // namespace ew::testing
