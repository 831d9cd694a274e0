#include "tests/storage/store_test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <sstream>

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

namespace {

std::string Buckets(const LatencySketch& s) {
  std::ostringstream o;
  for (const auto& [i, c] : s.Buckets()) o << i << ':' << c << ',';
  return o.str();
}

}  // namespace

std::vector<std::string> DumpTier(const EdgeStore& store, Family f, Tier t, int64_t end_minute) {
  std::vector<std::string> out;
  ScanSpec spec;
  spec.family = f;
  spec.tier = t;
  spec.start = 0;
  spec.end = end_minute / TierUnitMinutes(t) + 1;
  spec.need_minute_counts = true;
  for (bool encoded : {false, true}) {
    spec.encoded_sketches = encoded;
    Status s = store.Scan(spec, [&](int64_t time, const EdgeDims& d, const RollupValue& v) {
      std::ostringstream o;
      o << encoded << ' ' << time << ' ' << d.client << '>' << d.server << ' '
        << static_cast<int>(d.protocol) << ' ' << d.path << ' ' << d.method << ' ' << d.status
        << " r" << v.requests << " e" << v.errors << " b" << v.request_bytes << '/'
        << v.response_bytes << " s" << Buckets(v.server_latency) << " c"
        << Buckets(v.client_latency) << " S" << v.encoded.server.size() << ':' << v.encoded.server
        << " C" << v.encoded.client.size() << ':' << v.encoded.client << " p" << v.peak_requests
        << '@' << v.peak_minute << " m";
      for (const auto& [offset, count] : v.minute_counts) o << offset << ':' << count << ',';
      out.push_back(o.str());
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

}  // namespace ew::storage::testing
