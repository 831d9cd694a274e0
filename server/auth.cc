#include "server/auth.h"

#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>

namespace ew::server {
namespace {

// Splits a line at runs of spaces and tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// "ingest,query" -> the scope bits; 0 with *bad set to the unknown name when one is not a scope.
uint8_t ParseScopes(std::string_view text, std::string* bad) {
  uint8_t scopes = 0;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view s = text.substr(0, comma);
    if (s == "ingest") {
      scopes |= kScopeIngest;
    } else if (s == "query") {
      scopes |= kScopeQuery;
    } else if (s == "admin") {
      scopes |= kScopeAdmin;
    } else {
      *bad = std::string(s);
      return 0;
    }
    if (comma == std::string_view::npos) return scopes;
    text = text.substr(comma + 1);
  }
}

std::string ScopeName(Scope s) {
  return s == kScopeIngest ? "ingest" : s == kScopeQuery ? "query" : "admin";
}

// The token of "Bearer TOKEN" (scheme without case), or nullopt.
std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kBearer[i]) return std::nullopt;
  }
  return authorization.substr(kBearer.size());
}

// One line (comment and surrounding blanks removed) of a tokens file, or an error message.
std::optional<std::string> ParseTokenLine(std::string_view line, TokenEntry* entry) {
  std::vector<std::string_view> f = Fields(line);
  if (f.size() != 3) {
    return "expected 'TOKEN TENANT SCOPES', got " + std::to_string(f.size()) + " field" +
           (f.size() == 1 ? "" : "s");
  }
  if (!ValidTenantName(f[1])) {
    return "tenant '" + std::string(f[1].substr(0, 80)) +
           "' is not a valid name (1 to 64 characters of A-Z a-z 0-9 _ . -)";
  }
  std::string bad;
  const uint8_t scopes = ParseScopes(f[2], &bad);
  if (scopes == 0) {
    return "unknown scope '" + bad.substr(0, 80) + "' (scopes: ingest, query, admin)";
  }
  entry->token = std::string(f[0]);
  entry->principal.tenant = std::string(f[1]);
  entry->principal.scopes = scopes;
  return std::nullopt;
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

bool ValidTenantName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::vector<TokenEntry>> ParseTokensFile(std::string_view text, const std::string& source) {
  std::vector<TokenEntry> out;
  std::set<std::string> seen;
  int lineno = 0;
  while (!text.empty()) {
    ++lineno;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line = line.substr(0, line.find('#'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Fields(line).empty()) continue;
    TokenEntry entry;
    const std::string where = source + ":" + std::to_string(lineno) + ": ";
    if (auto problem = ParseTokenLine(line, &entry)) {
      return Status::InvalidArgument(where + *problem);
    }
    if (!seen.insert(entry.token).second) {
      return Status::InvalidArgument(where + "this token is already on an earlier line");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Authenticator::Authenticator(AuthOptions options)
    : options_(std::move(options)),
      tokens_required_(!options_.tokens_file.empty() || !options_.auth_token.empty()) {}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const AuthOptions& options) {
  std::unique_ptr<Authenticator> auth(new Authenticator(options));
  EW_RETURN_IF_ERROR(auth->Load());
  return auth;
}

Status Authenticator::Load() {
  std::vector<TokenEntry> tokens;
  if (!options_.tokens_file.empty()) {
    std::ifstream in(options_.tokens_file, std::ios::binary);
    if (!in) {
      return Status::InvalidArgument("tokens-file " + options_.tokens_file + ": cannot be read");
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EW_ASSIGN_OR_RETURN(tokens, ParseTokensFile(text, "tokens-file " + options_.tokens_file));
  }
  if (!options_.auth_token.empty()) {
    TokenEntry e;
    e.token = options_.auth_token;
    tokens.push_back(std::move(e));
  }
  auto fresh = std::make_shared<const std::vector<TokenEntry>>(std::move(tokens));
  MutexLock lock(&mu_);
  tokens_ = std::move(fresh);
  return Status::Ok();
}

Status Authenticator::Reload() {
  if (options_.tokens_file.empty()) return Status::Ok();
  return Load();
}

size_t Authenticator::TokenCount() const {
  MutexLock lock(&mu_);
  return tokens_->size();
}

AuthDecision Authenticator::Resolve(std::string_view authorization, std::string_view org_id,
                                    Scope needed) const {
  AuthDecision d;
  if (!tokens_required_) {
    if (options_.tenant_header && !org_id.empty()) {
      if (!ValidTenantName(org_id)) {
        d.outcome = AuthDecision::kBadTenant;
        d.message =
            "X-Scope-OrgID is not a valid tenant name (1 to 64 characters of A-Z a-z 0-9 "
            "_ . -)";
        return d;
      }
      d.principal.tenant = std::string(org_id);
    }
    return d;
  }
  std::shared_ptr<const std::vector<TokenEntry>> tokens;
  {
    MutexLock lock(&mu_);
    tokens = tokens_;
  }
  const std::optional<std::string_view> given = BearerToken(authorization);
  const TokenEntry* match = nullptr;
  if (given) {
    // Every token is compared, whatever matched before: the time does not tell which one did.
    for (const TokenEntry& e : *tokens) {
      const bool equal = ConstantTimeEquals(*given, e.token);
      match = equal && match == nullptr ? &e : match;
    }
  }
  if (match == nullptr) {
    d.outcome = AuthDecision::kUnauthorized;
    d.message =
        given ? "unknown bearer token" : "missing bearer token (Authorization: Bearer TOKEN)";
    return d;
  }
  d.principal = match->principal;
  if (!options_.tokens_file.empty() || !options_.tenant_header || org_id.empty()) {
    // A tokens file names the tenant; the header is ignored then.
  } else if (!ValidTenantName(org_id)) {
    d.outcome = AuthDecision::kBadTenant;
    d.message =
        "X-Scope-OrgID is not a valid tenant name (1 to 64 characters of A-Z a-z 0-9 _ . -)";
    return d;
  } else {
    d.principal.tenant = std::string(org_id);
  }
  if (!d.principal.Has(needed)) {
    d.outcome = AuthDecision::kForbidden;
    d.message = "this token has no '" + ScopeName(needed) + "' scope";
  }
  return d;
}

}  // namespace ew::server
