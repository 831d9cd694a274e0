// Internal to the query module: the parsed common parameters of a request and the endpoint
// handlers QueryService dispatches to.
//
// Thread-safety: each handler call is independent; the store is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "query/map_builder.h"
#include "query/node_ref.h"
#include "query/planner.h"
#include "query/predicate.h"
#include "query/query_language.h"
#include "query/query_service.h"

namespace ew::query {

// A 4xx/5xx answer carried through handler code.
struct HttpError {
  int status = 400;
  std::string message;
  int64_t position = -1;  // only for query-text errors
};

// The parsed start/end/query/explain of a request, and the compiled predicate.
struct QueryContext {
  int64_t now_ms = 0;
  int64_t start_minute = 0;
  int64_t end_minute = 0;
  int64_t asked_start_minute = 0;  // [start, end) as asked, before widening
  int64_t asked_end_minute = 0;
  Horizons horizons;  // of the store's retention at now_ms; [start, end) is widened to them
  std::string query_text;
  ParsedQuery parsed;
  std::unique_ptr<Dictionary> dict;
  std::unique_ptr<Predicate> pred;
  bool explain = false;
  QueryLimits* limits = nullptr;  // the request's (may be null): scans check it
};

std::optional<HttpError> ParseContext(const ApiRequest& req, const storage::EdgeStore* store,
                                      QueryContext* ctx);

// Parameter helpers: absent or empty -> default; malformed -> HttpError.
std::optional<HttpError> ParamUint(const ApiRequest& req, const std::string& name, uint64_t def,
                                   uint64_t max, uint64_t* out);
std::optional<HttpError> ParamUintIn(const ApiRequest& req, const std::string& name, uint64_t def,
                                     uint64_t min, uint64_t max, uint64_t* out);
std::optional<HttpError> ParamBool(const ApiRequest& req, const std::string& name, bool* out);
const std::string* Param(const ApiRequest& req, const std::string& name);

// Whether a filter needs the detailed family (it uses path, method or status).
bool NeedsDetail(const Expr* root);
// A plan over [start, end) of one family, narrowed to the key prefix of node's members when
// with_prefix (else the whole family; callers then keep the records of the members).
Plan NodePlan(int64_t start, int64_t end, storage::Family family, const NodeRef& node,
              bool with_prefix);

ApiResponse JsonResponse(int status, std::string body);
ApiResponse ErrorResponse(const HttpError& e);
ApiResponse StorageError(const Status& s);  // 503 when unavailable, else 500

// scan_threads, pool and helpers: as AggregateEdges (threads >= 1; pool and helpers may be
// null).
ApiResponse HandleMap(const ApiRequest& req, const storage::EdgeStore* store, int scan_threads,
                      EdgeTablePool* pool, TaskPool* helpers = nullptr);
ApiResponse HandleService(const ApiRequest& req, const storage::EdgeStore* store);
ApiResponse HandleSeries(const ApiRequest& req, const storage::EdgeStore* store);
// trace_url: the --trace-url template ("" for none); each exemplar's {trace_id} filled in.
ApiResponse HandleTraces(const ApiRequest& req, const storage::EdgeStore* store,
                         const std::string& trace_url);
ApiResponse HandleBreakdown(const ApiRequest& req, const storage::EdgeStore* store);

}  // namespace ew::query
