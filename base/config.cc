#include "base/config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string_view>

#include "base/log.h"
#include "base/thread_priority.h"
#include "base/time.h"

namespace ew {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Result<uint64_t> ParseUint(const std::string& v, const std::string& what) {
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument(what + ": expected a non-negative integer, got '" + v + "'");
  }
  return static_cast<uint64_t>(std::stoull(v));
}

Result<int64_t> ParsePositiveDuration(const std::string& v, const std::string& what) {
  auto d = ParseDurationMs(v);
  if (!d.ok()) return Status::InvalidArgument(what + ": " + d.status().message());
  if (*d <= 0) return Status::InvalidArgument(what + ": must be positive, got '" + v + "'");
  return *d;
}

// --query-slice: "0" (the kernel's default), or N followed by "us" or "ms", 100us..100ms.
Result<uint32_t> ParseSliceUs(const std::string& v, const std::string& what) {
  if (v == "0") return 0u;
  const bool us = v.size() > 2 && v.compare(v.size() - 2, 2, "us") == 0;
  const bool ms = v.size() > 2 && v.compare(v.size() - 2, 2, "ms") == 0;
  auto n = (us || ms) ? ParseUint(v.substr(0, v.size() - 2), what)
                      : Result<uint64_t>(Status::InvalidArgument(""));
  if (!n.ok() || *n > 100'000) {
    return Status::InvalidArgument(what + ": expected 0 or 100us..100ms, got '" + v + "'");
  }
  const uint64_t micros = ms ? *n * 1000 : *n;
  if (micros < 100 || micros > 100'000) {
    return Status::InvalidArgument(what + ": must be 0 or 100us..100ms, got '" + v + "'");
  }
  return static_cast<uint32_t>(micros);
}

Status CheckHostPort(const std::string& v, const std::string& what) {
  size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size()) {
    return Status::InvalidArgument(what + ": expected HOST:PORT, got '" + v + "'");
  }
  auto port = ParseUint(v.substr(colon + 1), what);
  if (!port.ok() || *port > 65535) {
    return Status::InvalidArgument(what + ": bad port in '" + v + "'");
  }
  return Status::Ok();
}

// Empty, "*", or one serialized origin: http(s)://host[:port], nothing after it (the value goes
// into a response header as it is).
Status CheckCorsOrigin(const std::string& v, const std::string& what) {
  if (v.empty() || v == "*") return Status::Ok();
  size_t scheme = v.rfind("https://", 0) == 0 ? 8 : v.rfind("http://", 0) == 0 ? 7 : 0;
  bool ok = scheme != 0 && v.size() > scheme;
  for (size_t i = scheme; ok && i < v.size(); ++i) {
    const char c = v[i];
    ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
         c == '[' || c == ']' || c == '_';
  }
  if (!ok) {
    return Status::InvalidArgument(
        what + ": expected * or an origin such as https://grafana.example.com:3000, got '" + v +
        "'");
  }
  return Status::Ok();
}

}  // namespace

const std::vector<ConfigKeyInfo>& ConfigKeys() {
  static const std::vector<ConfigKeyInfo> keys = {
      {"data-dir", "./data", "directory of the RocksDB database and the ingest log"},
      {"otlp-addr", "127.0.0.1:4318", "OTLP/HTTP listener (POST /v1/traces); port 0 picks one"},
      {"http-addr", "127.0.0.1:8080", "query API and web UI listener; port 0 picks one"},
      {"otlp-grpc-addr", "127.0.0.1:4317",
       "OTLP/gRPC listener (TraceService/Export); port 0 picks one, 'off' disables it"},
      {"pair-wait", "10s", "how long a half waits for its partner before it is expired"},
      {"flush-interval", "5s", "how often rollups are written to storage"},
      {"max-span-age", "24h", "spans that started longer ago are refused (partial success)"},
      {"max-pending", "4000000", "bound on halves waiting for a partner; oldest expire first"},
      {"fsync", "interval", "ingest log sync: always (before each 200), interval, never"},
      {"fsync-interval", "1s", "with --fsync interval: how often the ingest log is synced"},
      {"retention-1m", "14d", "how long per-minute rollups are kept"},
      {"retention-1h", "180d", "how long per-hour rollups are kept"},
      {"retention-1d", "1825d", "how long per-day rollups are kept"},
      {"exemplar-minutes-retention", "2d",
       "how long exemplars are kept per minute (then per hour, as long as --retention-1m)"},
      {"max-body", "20MiB", "largest accepted request body (413 above)"},
      {"max-decompressed", "64MiB", "largest body after gzip decompression (413 above)"},
      {"max-paths-per-edge", "200", "distinct paths kept per edge; the rest become {other}"},
      {"tenant-spans-per-second", "0",
       "per tenant: spans per second accepted (token bucket, 2 s burst; 429 above); 0: no limit"},
      {"tenant-bytes-per-second", "0",
       "per tenant: request bytes per second accepted (as received; 429 above); 0: no limit"},
      {"tenant-max-pending", "0",
       "per tenant: waiting halves held; beyond, the tenant's oldest expire early; 0: no limit"},
      {"tenant-max-edges", "0",
       "per tenant: distinct edges stored; a request making one more is refused; 0: no limit"},
      {"memory-budget", "auto",
       "resident memory at which ingest answers 503 instead of growing (bytes such as 8GiB; "
       "auto: 75% of the machine or cgroup limit; 0: none)"},
      {"auth-token", "", "when set, OTLP and API requests need 'Authorization: Bearer TOKEN'"},
      {"tokens-file", "",
       "file of 'TOKEN TENANT SCOPES' lines (scopes ingest,query,admin); re-read on SIGHUP"},
      {"tenant-header", "false",
       "take the tenant from X-Scope-OrgID (trusted proxy; ignored with --tokens-file)"},
      {"tls-cert", "", "PEM certificate (chain): TLS on every listener (needs --tls-key)"},
      {"tls-key", "", "PEM private key of --tls-cert"},
      {"tls-client-ca", "", "PEM CA certificates: mutual TLS, clients must present a certificate"},
      {"log-level", "info", "debug, info, warn or error"},
      {"io-threads", "2", "HTTP I/O threads"},
      {"ingest-shards", "2", "pairing/aggregation shards (spans routed by trace id)"},
      {"query-threads", "0",
       "threads one unfiltered map query scans with (0: the machine's cores, at most 4)"},
      {"query-workers", "2", "fixed pool of threads that run query API requests"},
      {"query-queue", "16", "query API requests waiting for a worker; more are answered 429"},
      {"query-timeout", "30s", "a query still running after this is stopped and answered 503"},
      {"query-max-edges", "1000000",
       "edges one query may hold per scan table; a larger map is answered 422"},
      {"query-nice", "19",
       "nice increment (0..19) of the query threads, so ingest gets the CPU first"},
      {"query-sched", "normal",
       "scheduling policy of the query threads: idle (SCHED_IDLE: only CPU time nothing else "
       "wants) or normal"},
      {"query-slice", "100us",
       "scheduler time slice of the query threads (Linux >= 6.12; 100us..100ms, or 0 for the "
       "kernel's default): a short slice lets a waking ingest thread have the core sooner"},
      {"web-dir", "", "directory of the web UI bundle (default: found next to the binary)"},
      {"trace-url", "",
       "link for exemplar trace ids, {trace_id} replaced (e.g. "
       "http://jaeger:16686/trace/{trace_id})"},
      {"cors-origin", "",
       "Access-Control-Allow-Origin for /api/* and /metrics/servicegraph (an origin such as "
       "https://grafana.example.com, or *); off when empty"},
      {"config", "", "file of key = value lines with the same keys as the flags"},
  };
  return keys;
}

Status ApplyConfigValue(Config* cfg, const std::string& given_key, const std::string& value,
                        const std::string& source) {
  const std::string what = source + ": " + given_key;
  std::string key = given_key;
  std::replace(key.begin(), key.end(), '_', '-');
  if (key == "data-dir") {
    if (value.empty()) return Status::InvalidArgument(what + ": must not be empty");
    cfg->data_dir = value;
  } else if (key == "otlp-addr") {
    EW_RETURN_IF_ERROR(CheckHostPort(value, what));
    cfg->otlp_addr = value;
  } else if (key == "otlp-grpc-addr") {
    if (value != "off") EW_RETURN_IF_ERROR(CheckHostPort(value, what));
    cfg->otlp_grpc_addr = value;
  } else if (key == "http-addr") {
    EW_RETURN_IF_ERROR(CheckHostPort(value, what));
    cfg->http_addr = value;
  } else if (key == "pair-wait") {
    EW_ASSIGN_OR_RETURN(cfg->pair_wait_ms, ParsePositiveDuration(value, what));
  } else if (key == "flush-interval") {
    EW_ASSIGN_OR_RETURN(cfg->flush_interval_ms, ParsePositiveDuration(value, what));
  } else if (key == "max-span-age") {
    EW_ASSIGN_OR_RETURN(cfg->max_span_age_ms, ParsePositiveDuration(value, what));
  } else if (key == "max-pending") {
    EW_ASSIGN_OR_RETURN(cfg->max_pending, ParseUint(value, what));
    if (cfg->max_pending == 0) return Status::InvalidArgument(what + ": must be at least 1");
  } else if (key == "fsync") {
    if (value == "always")
      cfg->fsync = FsyncMode::kAlways;
    else if (value == "interval")
      cfg->fsync = FsyncMode::kInterval;
    else if (value == "never")
      cfg->fsync = FsyncMode::kNever;
    else
      return Status::InvalidArgument(what + ": expected always, interval or never, got '" + value +
                                     "'");
  } else if (key == "fsync-interval") {
    EW_ASSIGN_OR_RETURN(cfg->fsync_interval_ms, ParsePositiveDuration(value, what));
  } else if (key == "retention-1m") {
    EW_ASSIGN_OR_RETURN(cfg->retention_1m_ms, ParsePositiveDuration(value, what));
  } else if (key == "retention-1h") {
    EW_ASSIGN_OR_RETURN(cfg->retention_1h_ms, ParsePositiveDuration(value, what));
  } else if (key == "retention-1d") {
    EW_ASSIGN_OR_RETURN(cfg->retention_1d_ms, ParsePositiveDuration(value, what));
  } else if (key == "exemplar-minutes-retention") {
    EW_ASSIGN_OR_RETURN(cfg->exemplar_minutes_retention_ms, ParsePositiveDuration(value, what));
  } else if (key == "max-body") {
    auto v = ParseByteSize(value);
    if (!v.ok()) return v.status().WithContext(what);
    cfg->max_body_bytes = *v;
  } else if (key == "max-decompressed") {
    auto v = ParseByteSize(value);
    if (!v.ok()) return v.status().WithContext(what);
    cfg->max_decompressed_bytes = *v;
  } else if (key == "tenant-spans-per-second") {
    EW_ASSIGN_OR_RETURN(cfg->tenant_spans_per_second, ParseUint(value, what));
  } else if (key == "tenant-max-pending") {
    EW_ASSIGN_OR_RETURN(cfg->tenant_max_pending, ParseUint(value, what));
  } else if (key == "tenant-max-edges") {
    EW_ASSIGN_OR_RETURN(cfg->tenant_max_edges, ParseUint(value, what));
  } else if (key == "tenant-bytes-per-second") {
    auto n = ParseByteSize(value);
    if (!n.ok()) return Status::InvalidArgument(what + ": " + n.status().message());
    cfg->tenant_bytes_per_second = *n;
  } else if (key == "memory-budget") {
    if (value == "auto") {
      cfg->memory_budget_auto = true;
    } else {
      auto n = ParseByteSize(value);
      if (!n.ok()) return Status::InvalidArgument(what + ": " + n.status().message());
      if (*n != 0 && *n < (64ULL << 20)) {
        return Status::InvalidArgument(what + ": at least 64MiB (or 0: none), got '" + value + "'");
      }
      cfg->memory_budget_auto = false;
      cfg->memory_budget_bytes = *n;
    }
  } else if (key == "max-paths-per-edge") {
    EW_ASSIGN_OR_RETURN(uint64_t n, ParseUint(value, what));
    if (n == 0 || n > 100000) return Status::InvalidArgument(what + ": must be 1..100000");
    cfg->max_paths_per_edge = static_cast<uint32_t>(n);
  } else if (key == "tls-cert" || key == "tls-key" || key == "tls-client-ca") {
    (key == "tls-cert"  ? cfg->tls_cert
     : key == "tls-key" ? cfg->tls_key
                        : cfg->tls_client_ca) = value;
  } else if (key == "auth-token") {
    cfg->auth_token = value;
  } else if (key == "tokens-file") {
    cfg->tokens_file = value;
  } else if (key == "tenant-header") {
    if (value != "true" && value != "false") {
      return Status::InvalidArgument(what + ": expected true or false, got '" + value + "'");
    }
    cfg->tenant_header = value == "true";
  } else if (key == "log-level") {
    LogLevel l;
    if (!ParseLogLevel(value, &l)) {
      return Status::InvalidArgument(what + ": expected debug, info, warn or error");
    }
    cfg->log_level = value;
  } else if (key == "io-threads" || key == "ingest-shards") {
    EW_ASSIGN_OR_RETURN(uint64_t n, ParseUint(value, what));
    if (n == 0 || n > 64) return Status::InvalidArgument(what + ": must be 1..64");
    (key == "io-threads" ? cfg->io_threads : cfg->ingest_shards) = static_cast<uint32_t>(n);
  } else if (key == "query-threads") {
    EW_ASSIGN_OR_RETURN(uint64_t n, ParseUint(value, what));
    if (n > 64) return Status::InvalidArgument(what + ": must be 0..64");
    cfg->query_threads = static_cast<uint32_t>(n);
  } else if (key == "query-workers" || key == "query-queue") {
    EW_ASSIGN_OR_RETURN(uint64_t n, ParseUint(value, what));
    if (n == 0 || n > 4096) return Status::InvalidArgument(what + ": must be 1..4096");
    (key == "query-workers" ? cfg->query_workers : cfg->query_queue) = static_cast<uint32_t>(n);
  } else if (key == "query-timeout") {
    EW_ASSIGN_OR_RETURN(cfg->query_timeout_ms, ParsePositiveDuration(value, what));
  } else if (key == "query-max-edges") {
    EW_ASSIGN_OR_RETURN(cfg->query_max_edges, ParseUint(value, what));
    if (cfg->query_max_edges == 0) return Status::InvalidArgument(what + ": must be at least 1");
  } else if (key == "query-nice") {
    EW_ASSIGN_OR_RETURN(uint64_t n, ParseUint(value, what));
    if (n > 19) return Status::InvalidArgument(what + ": must be 0..19");
    cfg->query_nice = static_cast<uint32_t>(n);
  } else if (key == "query-slice") {
    EW_ASSIGN_OR_RETURN(cfg->query_slice_us, ParseSliceUs(value, what));
  } else if (key == "query-sched") {
    Result<CpuPolicy> policy = ParseCpuPolicy(value);
    if (!policy.ok()) return Status::InvalidArgument(what + ": " + policy.status().message());
    cfg->query_sched_idle = *policy == CpuPolicy::kIdle;
  } else if (key == "web-dir") {
    cfg->web_dir = value;
  } else if (key == "trace-url") {
    if (!value.empty() && ((value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0) ||
                           value.find("{trace_id}") == std::string::npos)) {
      return Status::InvalidArgument(
          what + ": expected an http:// or https:// URL containing {trace_id}, got '" + value +
          "'");
    }
    cfg->trace_url = value;
  } else if (key == "cors-origin") {
    EW_RETURN_IF_ERROR(CheckCorsOrigin(value, what));
    cfg->cors_origin = value;
  } else if (key == "config") {
    cfg->config_file = value;
  } else {
    return Status::InvalidArgument(source + ": unknown key '" + given_key + "' (see --help)");
  }
  return Status::Ok();
}

Result<uint64_t> ParseByteSize(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 15) return Status::InvalidArgument("bad size '" + text + "'");
  uint64_t n = std::stoull(text.substr(0, i));
  std::string unit = text.substr(i);
  uint64_t mult = 1;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB" || unit == "K")
    mult = 1ULL << 10;
  else if (unit == "MiB" || unit == "M")
    mult = 1ULL << 20;
  else if (unit == "GiB" || unit == "G")
    mult = 1ULL << 30;
  else if (unit == "KB")
    mult = 1000;
  else if (unit == "MB")
    mult = 1000 * 1000;
  else if (unit == "GB")
    mult = 1000ULL * 1000 * 1000;
  else
    return Status::InvalidArgument("bad size '" + text + "': unknown unit '" + unit + "'");
  return n * mult;
}

namespace {

// A coarser tier must be kept at least as long as a finer one: a query widens ragged pieces
// past a tier's retention to the next coarser tier (docs/query.md), which must still hold them.
Status CheckRetentionOrder(const Config& cfg) {
  auto days = [](int64_t ms) { return FormatDurationMs(ms); };
  if (cfg.retention_1h_ms < cfg.retention_1m_ms) {
    return Status::InvalidArgument("retention-1h (" + days(cfg.retention_1h_ms) +
                                   ") must not be shorter than retention-1m (" +
                                   days(cfg.retention_1m_ms) + ")");
  }
  if (cfg.retention_1d_ms < cfg.retention_1h_ms) {
    return Status::InvalidArgument("retention-1d (" + days(cfg.retention_1d_ms) +
                                   ") must not be shorter than retention-1h (" +
                                   days(cfg.retention_1h_ms) + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ParseConfig(int argc, const char* const* argv, bool* help) {
  *help = false;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return Config{};
    }
    if (arg.rfind("--", 0) != 0) {
      return Status::InvalidArgument("unexpected argument '" + arg + "' (flags start with --)");
    }
    std::string key = arg.substr(2), value;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (key == "tenant-header" &&
               (i + 1 >= argc || std::string_view(argv[i + 1]).rfind("--", 0) == 0)) {
      value = "true";  // a switch: --tenant-header alone turns it on
    } else {
      if (i + 1 >= argc) return Status::InvalidArgument("flag --" + key + " needs a value");
      value = argv[++i];
    }
    if (key == "config") config_file = value;
    flags.emplace_back(key, value);
  }
  Config cfg;
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) return Status::InvalidArgument("cannot read config file '" + config_file + "'");
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      size_t hash = line.find('#');
      if (hash != std::string::npos) line = line.substr(0, hash);
      line = Trim(line);
      if (line.empty()) continue;
      size_t sep = line.find_first_of("=:");
      std::string src = config_file + ":" + std::to_string(lineno);
      if (sep == std::string::npos) {
        return Status::InvalidArgument(src + ": expected 'key = value', got '" + line + "'");
      }
      std::string key = Trim(line.substr(0, sep)), value = Trim(line.substr(sep + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (key == "config") return Status::InvalidArgument(src + ": 'config' cannot nest");
      EW_RETURN_IF_ERROR(ApplyConfigValue(&cfg, key, value, src));
    }
  }
  for (const auto& [k, v] : flags) EW_RETURN_IF_ERROR(ApplyConfigValue(&cfg, k, v, "flag --" + k));
  EW_RETURN_IF_ERROR(CheckRetentionOrder(cfg));
  if (cfg.tls_cert.empty() != cfg.tls_key.empty()) {
    return Status::InvalidArgument("tls-cert and tls-key go together");
  }
  if (!cfg.tls_client_ca.empty() && cfg.tls_cert.empty()) {
    return Status::InvalidArgument("tls-client-ca needs tls-cert and tls-key");
  }
  return cfg;
}

std::string ConfigHelpText(const std::string& program) {
  std::ostringstream out;
  out << "usage: " << program << " [--key value | --key=value ...]\n\n"
      << "Edgewise: a time-series graph database for service maps, fed by OTLP traces.\n"
      << "Prints 'edgewise ready otlp=HOST:PORT http=HOST:PORT grpc=HOST:PORT' once the\n"
      << "listeners are bound (grpc= only when the OTLP/gRPC listener is on).\n\n";
  for (const auto& k : ConfigKeys()) {
    std::string flag = "  --" + k.key;
    out << flag;
    for (size_t i = flag.size(); i < 24; ++i) out << ' ';
    out << k.help;
    if (!k.default_value.empty()) out << " (default " << k.default_value << ")";
    out << "\n";
  }
  out << "  --help                this text\n";
  return out.str();
}

}  // namespace ew
