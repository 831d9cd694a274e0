#include "server/routes.h"

#include <algorithm>
#include <memory>
#include <set>

#include "ingest/decoders/otlp_response.h"
#include "server/url.h"

namespace ew::server {
namespace {

using ingest::ExportOutcome;

constexpr std::string_view kServiceGraphPath = "/metrics/servicegraph";

int HttpStatusFor(ExportOutcome outcome) {
  switch (outcome) {
    case ExportOutcome::kOk:
      return 200;
    case ExportOutcome::kMalformed:
      return 400;
    case ExportOutcome::kTooLarge:
      return 413;
    case ExportOutcome::kUnsupported:
      return 415;
    case ExportOutcome::kOverloaded:
      return 429;
    case ExportOutcome::kUnavailable:
      return 503;
  }
  return 503;
}

int HttpStatusFor(AuthDecision::Outcome outcome) {
  switch (outcome) {
    case AuthDecision::kUnauthorized:
      return 401;
    case AuthDecision::kForbidden:
      return 403;
    default:
      return 400;
  }
}

// The answer to a request that auth refused: JSON {"error"}; 401 adds WWW-Authenticate.
Response AuthRefused(const AuthDecision& d, std::string route) {
  Response r = ErrorResponse(HttpStatusFor(d.outcome), d.message, std::move(route));
  if (d.outcome == AuthDecision::kUnauthorized)
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

// The same on the OTLP listener: an OTLP request (protobuf or JSON) gets the OTLP error body, a
// google.rpc.Status (UNAUTHENTICATED, PERMISSION_DENIED or INVALID_ARGUMENT) in its content type.
Response AuthRefusedOtlp(const AuthDecision& d, const std::string& route,
                         const ingest::Decoder* decoder) {
  Response r = AuthRefused(d, route);
  if (decoder == &ingest::OtlpProtobufDecoder() || decoder == &ingest::OtlpJsonDecoder()) {
    const int code = d.outcome == AuthDecision::kUnauthorized ? 16
                     : d.outcome == AuthDecision::kForbidden  ? 7
                                                              : 3;
    r.content_type = std::string(decoder->ContentType());
    r.body = decoder == &ingest::OtlpProtobufDecoder()
                 ? ingest::EncodeRpcStatusProtobuf(code, d.message)
                 : ingest::EncodeRpcStatusJson(code, d.message);
  }
  return r;
}

AuthDecision Resolve(const RouteContext& ctx, const Request& req, Scope needed) {
  if (ctx.auth == nullptr) return AuthDecision{};  // no auth: tenant default, every scope
  return ctx.auth->Resolve(req.Header("Authorization"), req.Header("X-Scope-OrgID"), needed);
}

Response MethodNotAllowed(std::string_view allow, std::string route) {
  Response r = ErrorResponse(405, "method not allowed (allowed: " + std::string(allow) + ")",
                             std::move(route));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

// The OTLP/HTTP listener: every path the ingest decoders are registered at (/v1/traces, and
// the Zipkin path), the decoder picked by the media type.
void HandleOtlp(const RouteContext& ctx, Request&& req, std::function<void(Response)> done) {
  if (!ingest::IsDecoderPath(req.path)) {
    std::string paths;
    for (const ingest::DecoderRoute& r : ingest::DecoderRoutes()) {
      if (paths.find(r.path) == std::string::npos)
        paths += (paths.empty() ? "" : ", ") + std::string(r.path);
    }
    return done(ErrorResponse(404, "not found: the OTLP listener serves POST " + paths));
  }
  std::string route = req.path;
  if (req.method != "POST") return done(MethodNotAllowed("POST", route));
  std::string media = MediaType(req.Header("Content-Type"));
  ingest::ExportRequest export_request;
  export_request.decoder = ingest::FindDecoder(route, media);
  AuthDecision who = Resolve(ctx, req, kScopeIngest);
  if (who.outcome != AuthDecision::kOk) {
    return done(AuthRefusedOtlp(who, route, export_request.decoder));
  }
  export_request.tenant = std::move(who.principal.tenant);
  if (export_request.decoder == nullptr) {
    return done(ErrorResponse(415,
                              "unsupported Content-Type '" +
                                  std::string(req.Header("Content-Type")) + "' (use " +
                                  ingest::AcceptedMediaTypes(route) + ")",
                              route));
  }
  std::string encoding = MediaType(req.Header("Content-Encoding"));
  if (encoding == "gzip" || encoding == "x-gzip") {
    export_request.gzip = true;
  } else if (!encoding.empty() && encoding != "identity") {
    return done(ErrorResponse(
        415, "unsupported Content-Encoding '" + encoding + "' (use gzip or identity)", route));
  }
  export_request.body = std::move(req.body);
  const ingest::Decoder* decoder = export_request.decoder;
  ctx.ingest->Export(std::move(export_request),
                     [done = std::move(done), decoder, route](ingest::ExportResponse r) {
                       done(ExportToHttp(std::move(r), *decoder, route));
                     });
}

Response Readyz(const RouteContext& ctx) {
  Response r;
  r.route = "/readyz";
  Status storage = ctx.store->Health();
  if (!storage.ok()) {
    return ErrorResponse(503, "storage: " + storage.ToString(), "/readyz");
  }
  if (!ctx.ingest->Healthy()) return ErrorResponse(503, "ingest is not healthy", "/readyz");
  r.body = "ready\n";
  return r;
}

// The first parameter name that occurs twice in a query string (ParseQueryString would keep
// only its first value, silently), or nullopt.
std::optional<std::string> RepeatedParameter(std::string_view query) {
  std::set<std::string> seen;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto key = UrlDecode(pair.substr(0, pair.find('=')), true);
    if (key && !seen.insert(*key).second) return key;
  }
  return std::nullopt;
}

// True when an Accept-Encoding value lists gzip (or *) without q=0.
bool AcceptsGzip(std::string_view accept) {
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string coding = MediaType(item.substr(0, semi));
    if (coding != "gzip" && coding != "*") continue;
    std::string q = semi == std::string_view::npos ? "" : MediaType(item.substr(semi + 1));
    q.erase(std::remove(q.begin(), q.end(), ' '), q.end());
    if (q.rfind("q=0", 0) == 0 && q.find_first_not_of("q=0.") == std::string::npos) continue;
    return true;
  }
  return false;
}

// The HTTP answer for a query service answer.
Response ApiToHttp(query::ApiResponse q, const std::string& path) {
  Response r;
  r.status = q.http_status;
  r.content_type = std::move(q.content_type);
  r.body = std::move(q.body);
  if (q.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(q.retry_after_s));
  if (!q.content_encoding.empty()) {
    r.headers.emplace_back("Content-Encoding", std::move(q.content_encoding));
    r.headers.emplace_back("Vary", "Accept-Encoding");
  }
  // Bounded label set: unknown API paths share one label.
  r.route = q.http_status == 404 ? "/api/other" : path;
  return r;
}

// Parses the request into an ApiRequest and hands it to the query pool: this (I/O) thread is
// free again at once; done runs on a query worker (or here, with 429, when the queue is full).
void Api(const RouteContext& ctx, const Request& req, std::string tenant,
         std::function<void(Response)> done) {
  auto params = ParseQueryString(req.query);
  if (!params) return done(ErrorResponse(400, "malformed %-escape in the query string", "/api"));
  if (auto name = RepeatedParameter(req.query)) {
    return done(ErrorResponse(400, "parameter '" + *name + "' given more than once", "/api"));
  }
  query::ApiRequest api;
  auto path = UrlDecode(req.path, false);
  if (!path) return done(ErrorResponse(400, "malformed %-escape in the path", "/api"));
  api.path = std::move(*path);
  api.params = std::move(*params);
  api.want_flatbuffers =
      req.Header("Accept").find("application/x-flatbuffers") != std::string_view::npos;
  api.accept_gzip = AcceptsGzip(req.Header("Accept-Encoding"));
  api.tenant = std::move(tenant);
  std::string route = api.path;
  ctx.query->Submit(std::move(api),
                    [done = std::move(done), route = std::move(route)](query::ApiResponse q) {
                      done(ApiToHttp(std::move(q), route));
                    });
}

Response HandleHttpSync(const RouteContext& ctx, const Request& req) {
  bool api = req.path.rfind("/api/", 0) == 0 || req.path == "/api";
  bool get = req.method == "GET" || req.method == "HEAD";
  if (!get) return MethodNotAllowed("GET, HEAD", api ? "/api/other" : "other");
  if (req.path == "/healthz") {
    Response r;
    r.route = "/healthz";
    r.body = "ok";
    return r;
  }
  if (req.path == "/readyz") return Readyz(ctx);
  if (req.path == "/metrics") {
    Response r;
    r.route = "/metrics";
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = ctx.metrics->RenderPrometheus();
    return r;
  }
  return ctx.static_files->Serve(req.path);
}

// The answer to a CORS preflight (OPTIONS) on a path that --cors-origin opens.
Response CorsPreflight(const std::string& route) {
  Response r;
  r.status = 204;
  r.route = route;
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
  r.headers.emplace_back("Access-Control-Allow-Headers",
                         "Authorization, Accept, Content-Type, X-Scope-OrgID");
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

void HandleHttp(const RouteContext& ctx, Request&& req, std::function<void(Response)> done) {
  if (ctx.admin != nullptr && req.path.rfind("/api/v1/admin/", 0) == 0) {
    AuthDecision who = Resolve(ctx, req, kScopeAdmin);
    if (who.outcome != AuthDecision::kOk) return done(AuthRefused(who, "/api/v1/admin"));
    return ctx.admin->Handle(req, std::move(done));
  }
  bool api = req.path.rfind("/api/", 0) == 0 || req.path == "/api";
  bool servicegraph = req.path == kServiceGraphPath;
  bool get = req.method == "GET" || req.method == "HEAD";
  if ((api || servicegraph) && !ctx.config->cors_origin.empty()) {
    // Every answer on these paths (errors included, so a page can read them) names the origin.
    done = [done = std::move(done), origin = ctx.config->cors_origin](Response r) {
      r.headers.emplace_back("Access-Control-Allow-Origin", origin);
      r.headers.emplace_back("Access-Control-Expose-Headers", "Retry-After");
      r.headers.emplace_back("Vary", "Origin");
      done(std::move(r));
    };
    if (req.method == "OPTIONS") {
      return done(CorsPreflight(servicegraph ? std::string(kServiceGraphPath) : "/api/other"));
    }
  }
  if ((api || servicegraph) && get) {
    AuthDecision who = Resolve(ctx, req, kScopeQuery);
    if (who.outcome != AuthDecision::kOk) {
      return done(AuthRefused(who, servicegraph ? std::string(kServiceGraphPath) : "/api/other"));
    }
    return Api(ctx, req, std::move(who.principal.tenant), std::move(done));
  }
  if (servicegraph) return done(MethodNotAllowed("GET, HEAD", std::string(kServiceGraphPath)));
  done(HandleHttpSync(ctx, req));
}

}  // namespace

Response ExportToHttp(ingest::ExportResponse r, const ingest::Decoder& request_decoder,
                      std::string_view route) {
  Response out;
  out.route = std::string(route);
  out.status = HttpStatusFor(r.outcome);
  if (r.outcome == ExportOutcome::kOk) {
    out.status = r.decoder->SuccessStatus();
    out.content_type = std::string(r.decoder->ContentType());
    out.body = std::move(r.body);
    return out;
  }
  out.content_type = std::string(request_decoder.ContentType());
  out.body = request_decoder.ErrorBody(r.outcome, r.body);
  if (r.outcome == ExportOutcome::kOverloaded || r.outcome == ExportOutcome::kUnavailable) {
    out.headers.emplace_back("Retry-After", std::to_string(std::max(1, r.retry_after_s)));
  }
  return out;
}

std::string EncodeRpcStatus(int code, std::string_view message) {
  return ingest::EncodeRpcStatusProtobuf(code, message);
}

Handler MakeOtlpHandler(const RouteContext& ctx) {
  return [ctx](Request&& req, std::function<void(Response)> done) {
    HandleOtlp(ctx, std::move(req), std::move(done));
  };
}

Handler MakeHttpHandler(const RouteContext& ctx) {
  return [ctx](Request&& req, std::function<void(Response)> done) {
    HandleHttp(ctx, std::move(req), std::move(done));
  };
}

}  // namespace ew::server
