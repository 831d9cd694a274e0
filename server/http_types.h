// Plain HTTP request/response values exchanged between the Beast sessions (http_listener.cc) and
// the route handlers (otlp_routes.cc, api_routes.cc). Keeping Beast types out of this header
// keeps the heavy Beast compile in one translation unit.
//
// Thread-safety: values; a Request is owned by one handler invocation.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ew::server {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // raw request target, e.g. "/api/v1/map?query=a%20b"
  std::string path;    // target up to '?', not decoded
  std::string query;   // after '?', not decoded
  HeaderList headers;  // as received
  std::string body;
  // Case-insensitive lookup of the first header with this name; empty when absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HeaderList headers;  // extra headers (Retry-After, Allow, ...)
  // The metric label for the route that answered ("/v1/traces", "/api/v1/map", "other", ...).
  std::string route = "other";
};

// Answers a request exactly once through `done` (inline or later, from any thread).
using Handler = std::function<void(Request&& request, std::function<void(Response)> done)>;

// {"error": "<message>"} with the message JSON-escaped.
std::string JsonError(std::string_view message);
Response ErrorResponse(int status, std::string_view message, std::string route = "other");
// Escapes a string for inclusion between JSON quotes.
std::string JsonEscape(std::string_view text);
bool IEquals(std::string_view a, std::string_view b);
// Lower-cased media type without parameters: "Application/JSON; charset=utf-8" ->
// "application/json".
std::string MediaType(std::string_view content_type);

}  // namespace ew::server
