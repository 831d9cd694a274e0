#include "tests/storage/store_test_util.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace ew::storage::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = (std::filesystem::temp_directory_path() /
           ("ew_storage_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
              .string();
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

MinuteRollup MakeRollup(int64_t minute, NodeId client, NodeId server, uint64_t requests,
                        uint64_t errors, double server_us, StringId path, uint16_t status) {
  MinuteRollup r;
  r.minute = minute;
  r.dims.client = client;
  r.dims.server = server;
  r.dims.protocol = Protocol::kHttp;
  r.dims.path = path;
  r.dims.method = 0;
  r.dims.status = status;
  r.value.requests = requests;
  r.value.errors = errors;
  r.value.server_latency.Add(server_us, requests);
  r.value.client_latency.Add(server_us * 1.2, requests);
  return r;
}

}  // namespace ew::storage::testing
