// QueryService: answers the query API (/api/v1/...) from the EdgeStore: parses the filter
// language, plans tier ranges, scans, merges and renders JSON (or FlatBuffers).
// The server maps URLs to ApiRequest and ApiResponse back to HTTP; this module knows no HTTP
// library.
//
// Thread-safety: Handle may be called concurrently from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "storage/edge_store.h"

namespace ew::query {

struct ApiRequest {
  std::string path;                           // e.g. "/api/v1/map"
  std::map<std::string, std::string> params;  // URL-decoded query parameters
  bool want_flatbuffers = false;              // Accept: application/x-flatbuffers
  int64_t now_ms = 0;                         // 0: wall clock
};

struct ApiResponse {
  int http_status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class QueryService {
 public:
  // The store must outlive the service. scan_threads: threads one unfiltered map query scans
  // with (0: the machine's hardware threads, at most 4). trace_url: the --trace-url template
  // (a URL with {trace_id}; "" for none) that /api/v1/edge/traces fills in per exemplar.
  static std::unique_ptr<QueryService> Create(const storage::EdgeStore* store,
                                              MetricsRegistry* metrics, int scan_threads = 0,
                                              std::string trace_url = {});
  virtual ~QueryService() = default;
  // Errors: 400 {"error": "...", "position": N} for bad queries/parameters, 404 for unknown
  // /api/ paths. Never throws.
  virtual ApiResponse Handle(const ApiRequest& request) = 0;
};

}  // namespace ew::query
