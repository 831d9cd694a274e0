// Helpers for the EdgeStore tests: a temporary directory and rollup builders.
#pragma once

#include <string>
#include <vector>

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

// Every record of one family and tier in [0, end_minute), every field a scan reports, one line
// each: decoded sketches (with minute counts), then again with the stored encodings where the
// scan hands them out. For comparing two stores record by record.
std::vector<std::string> DumpTier(const EdgeStore& store, Family f, Tier t, int64_t end_minute);

}  // namespace ew::storage::testing
