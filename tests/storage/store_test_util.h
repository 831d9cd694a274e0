// Helpers for the EdgeStore tests: a temporary directory and rollup builders.
#pragma once

#include <string>

#include "storage/edge_store.h"

namespace ew::storage::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

MinuteRollup MakeRollup(int64_t minute, NodeId client, NodeId server, uint64_t requests,
                        uint64_t errors, double server_us, StringId path = 0,
                        uint16_t status = 200);

}  // namespace ew::storage::testing
