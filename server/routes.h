// Routes: what each listener answers. The OTLP listener takes POST /v1/traces and hands the body
// to IngestService; the HTTP listener serves /healthz, /readyz, /metrics, the query API
// (/api/*, through QueryService) and the web UI. Errors are JSON {"error": "..."}.
//
// Thread-safety: the handlers may run concurrently on any I/O thread; everything they touch is
// thread-safe (the services say so in their headers) or immutable after construction.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/config.h"
#include "base/metrics.h"
#include "ingest/ingest_service.h"
#include "query/query_service.h"
#include "server/admin.h"
#include "server/auth.h"
#include "server/http_types.h"
#include "server/static_files.h"
#include "storage/edge_store.h"

namespace ew::server {

struct RouteContext {
  const Config* config = nullptr;
  ingest::IngestService* ingest = nullptr;
  query::QueryService* query = nullptr;
  const storage::EdgeStore* store = nullptr;
  MetricsRegistry* metrics = nullptr;
  const StaticFiles* static_files = nullptr;
  Admin* admin = nullptr;  // /api/v1/admin/ (absent: 404 like any unknown API path)
  // Resolves each request to its tenant and scopes: ingest needs the ingest scope, /api/ and
  // /metrics/servicegraph the query scope, /api/v1/admin/ the admin scope (401/403/400 else).
  // Null: no auth (tenant default, every scope).
  const Authenticator* auth = nullptr;
};

// The handlers keep a copy of the context; the pointed-to objects must outlive them.
Handler MakeOtlpHandler(const RouteContext& ctx);
Handler MakeHttpHandler(const RouteContext& ctx);

// The HTTP answer for an Export outcome: the decoder's success status and body (200 and an
// ExportTraceServiceResponse for OTLP, 202 for Zipkin); errors with the request decoder's error
// body (OTLP: google.rpc.Status as protobuf bytes, or JSON with "code", "message" and "error");
// 429/503 carry Retry-After (at least 1 s). route: the metrics label.
Response ExportToHttp(ingest::ExportResponse r, const ingest::Decoder& request_decoder,
                      std::string_view route = "/v1/traces");

// google.rpc.Status {code, message} as protobuf bytes (the OTLP error body for protobuf requests).
std::string EncodeRpcStatus(int code, std::string_view message);

}  // namespace ew::server
