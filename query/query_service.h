// QueryService: answers the query API (/api/v1/...) from the EdgeStore: parses the filter
// language, plans tier ranges, scans, merges and renders JSON (or FlatBuffers).
// The server maps URLs to ApiRequest and ApiResponse back to HTTP; this module knows no HTTP
// library.
//
// Queries run on a fixed pool of worker threads (Submit), off the server's I/O threads: a full
// queue is answered 429 at once; a query still running at its deadline stops scanning and is
// answered 503; one whose map outgrows the edge cap is answered 422.
//
// Thread-safety: Handle and Submit may be called concurrently from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "base/thread_priority.h"
#include "storage/edge_store.h"
#include "storage/edge_totals.h"

namespace ew::query {

class QueryLimits;

struct ApiRequest {
  std::string path;                           // e.g. "/api/v1/map"
  std::map<std::string, std::string> params;  // URL-decoded query parameters
  bool want_flatbuffers = false;              // Accept: application/x-flatbuffers
  bool accept_gzip = false;                   // Accept-Encoding allows gzip (servicegraph only)
  int64_t now_ms = 0;                         // 0: wall clock
  QueryLimits* limits = nullptr;              // deadline and edge cap (Submit sets them)
  std::string tenant = "default";             // the caller's tenant: the only data it sees
};

struct ApiResponse {
  int http_status = 200;
  std::string content_type = "application/json";
  std::string body;
  int retry_after_s = 0;         // > 0: the HTTP answer carries Retry-After (429, 503)
  std::string content_encoding;  // "gzip" when body is gzip-compressed, else empty
};

struct QueryServiceOptions {
  // Threads one unfiltered map query scans with (0: the machine's hardware threads, at most 4);
  // the parts beyond the first run on a fixed pool of scan_threads - 1 helper threads.
  int scan_threads = 0;
  // The --trace-url template (a URL with {trace_id}; "" for none) that /api/v1/edge/traces
  // fills in per exemplar.
  std::string trace_url;
  int workers = 2;                            // query pool threads (Submit)
  size_t queue = 16;                          // queries that may wait for a worker; more get 429
  std::chrono::milliseconds timeout{30'000};  // per query, from Submit (queueing included)
  uint64_t max_edges = 1'000'000;             // edges one scan table may hold (0: no cap)
  int nice = 0;                               // nice increment of the worker and scan threads
  CpuPolicy policy = CpuPolicy::kNormal;      // their scheduling policy (kIdle: SCHED_IDLE)
  uint32_t slice_us = 0;                      // their time slice (0: the kernel's default)
  // The store's cumulative edge counters that GET /metrics/servicegraph renders (must outlive
  // the service); null: that path answers 404.
  const storage::EdgeTotals* totals = nullptr;
  // Test hooks: runs at the start of each Handle (e.g. a gate); the clock that
  // deadlines are measured with (empty: steady_clock).
  std::function<void()> before_query;
  std::function<std::chrono::steady_clock::time_point()> now;
};

class QueryService {
 public:
  // The store must outlive the service. scan_threads: threads one unfiltered map query scans
  // with (0: the machine's hardware threads, at most 4). trace_url: the --trace-url template
  // (a URL with {trace_id}; "" for none) that /api/v1/edge/traces fills in per exemplar.
  static std::unique_ptr<QueryService> Create(const storage::EdgeStore* store,
                                              MetricsRegistry* metrics, int scan_threads = 0,
                                              std::string trace_url = {});
  // The store (and metrics, when given) must outlive the service. The destructor runs the
  // queries still queued, then joins the pools' threads.
  static std::unique_ptr<QueryService> Create(const storage::EdgeStore* store,
                                              MetricsRegistry* metrics,
                                              QueryServiceOptions options);
  virtual ~QueryService() = default;
  // Answers on the calling thread, within request.limits when set. Errors: 400 {"error": "...",
  // "position": N} for bad queries/parameters, 404 for unknown /api/ paths, 503 (Retry-After)
  // when the deadline passed, 422 when the map holds more than max_edges edges. Never throws.
  virtual ApiResponse Handle(const ApiRequest& request) = 0;
  // Queues the request for the query pool, which answers it through done (on a worker thread)
  // within options.timeout from now and options.max_edges. When the queue is full, done gets
  // 429 (Retry-After) at once, on the calling thread. done is called exactly once.
  virtual void Submit(ApiRequest request, std::function<void(ApiResponse)> done) = 0;
};

}  // namespace ew::query
