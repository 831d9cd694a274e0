// Auth: who is calling. Every ingest, /api/ and /metrics/servicegraph request (and every OTLP/gRPC
// call) is resolved to one Principal — a tenant name and the scopes it holds — before it reaches
// ingest or query, from the configuration:
//
//   --tokens-file FILE   lines `TOKEN TENANT SCOPES` (SCOPES: comma-separated ingest, query,
//                        admin; `#` comments; blank lines); re-read by Reload (SIGHUP).
//   --auth-token T       one more token: tenant `default`, every scope.
//   --tenant-header      without a tokens file: the tenant is the X-Scope-OrgID header's value
//                        (absent: `default`), for deployments behind a trusted proxy.
//   none of these        everyone is tenant `default` with every scope.
//
// A presented token is compared with every configured token in constant time (no early exit on a
// differing byte, and every token is compared), and no token is ever logged: messages name the
// file and line, never the token text.
//
// Thread-safety: Resolve may be called from any thread concurrently with Reload.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"

namespace ew::server {

enum Scope : uint8_t {
  kScopeIngest = 1,
  kScopeQuery = 2,
  kScopeAdmin = 4,
  kScopeAll = kScopeIngest | kScopeQuery | kScopeAdmin,
};

constexpr std::string_view kDefaultTenant = "default";

struct Principal {
  std::string tenant{kDefaultTenant};
  uint8_t scopes = kScopeAll;
  bool Has(Scope s) const { return (scopes & s) == s; }
};

// One line of a tokens file.
struct TokenEntry {
  std::string token;
  Principal principal;
};

// A tenant name: 1..64 characters of [A-Za-z0-9_.-].
bool ValidTenantName(std::string_view name);

// Parses the text of a tokens file. Errors are InvalidArgument naming `source:LINE` and what is
// wrong, without the token. A token given twice is an error.
Result<std::vector<TokenEntry>> ParseTokensFile(std::string_view text, const std::string& source);

struct AuthOptions {
  std::string tokens_file;  // empty: none
  std::string auth_token;   // empty: none
  bool tenant_header = false;
};

// The result of resolving a request.
struct AuthDecision {
  enum Outcome {
    kOk,            // principal is set
    kUnauthorized,  // 401: missing or unknown token
    kForbidden,     // 403: the token lacks the scope
    kBadTenant,     // 400: X-Scope-OrgID is not a valid tenant name
  } outcome = kOk;
  Principal principal;
  std::string message;  // for the error answer
};

class Authenticator {
 public:
  // Reads the tokens file (if any). A malformed or unreadable file is an error naming the line.
  static Result<std::unique_ptr<Authenticator>> Create(const AuthOptions& options);

  // Re-reads the tokens file. On error the tokens in use stay and the error (naming the file and
  // line) is returned; without a tokens file, Ok and nothing changes.
  Status Reload();

  // authorization: the Authorization header (or gRPC `authorization` metadata), "" when absent;
  // org_id: the X-Scope-OrgID header, "" when absent; needed: the scope the request needs.
  AuthDecision Resolve(std::string_view authorization, std::string_view org_id, Scope needed) const;

  // True when requests must carry a token (a tokens file or --auth-token is set).
  bool TokensRequired() const { return tokens_required_; }
  // How many tokens are in use (tests, the reload log line).
  size_t TokenCount() const;

 private:
  explicit Authenticator(AuthOptions options);
  Status Load();

  const AuthOptions options_;
  const bool tokens_required_;
  mutable Mutex mu_;
  std::shared_ptr<const std::vector<TokenEntry>> tokens_ GUARDED_BY(mu_);
};

// Constant-time equality of two byte strings (time depends only on the lengths).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace ew::server
