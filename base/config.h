// Server configuration: every key can be given as a flag (--pair-wait 10s or --pair-wait=10s) or
// in a file named by --config with the same keys ("pair-wait = 10s", '#' comments; '_' in a
// key reads as '-': "trace_url" is "trace-url"). Flags win over the file. Unknown keys and bad
// values are errors that name the key and the source.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace ew {

enum class FsyncMode { kNever, kInterval, kAlways };

struct Config {
  std::string data_dir = "./data";
  std::string otlp_addr = "127.0.0.1:4318";
  std::string http_addr = "127.0.0.1:8080";
  std::string otlp_grpc_addr = "127.0.0.1:4317";  // "off": no OTLP/gRPC listener
  int64_t pair_wait_ms = 10'000;
  int64_t flush_interval_ms = 5'000;
  int64_t max_span_age_ms = 24 * 3600'000LL;
  int64_t max_span_future_ms = 10 * 60'000LL;
  uint64_t max_pending = 4'000'000;
  FsyncMode fsync = FsyncMode::kInterval;
  int64_t fsync_interval_ms = 1'000;
  int64_t retention_1m_ms = 14LL * 86400'000;
  int64_t retention_1h_ms = 180LL * 86400'000;
  int64_t retention_1d_ms = 5LL * 365 * 86400'000;
  int64_t exemplar_minutes_retention_ms = 2LL * 86400'000;  // then per hour (storage.md)
  uint64_t max_body_bytes = 20ULL << 20;
  uint64_t max_decompressed_bytes = 64ULL << 20;
  uint32_t max_paths_per_edge = 200;
  uint64_t tenant_spans_per_second = 0;  // 0: no limit
  uint64_t tenant_bytes_per_second = 0;  // 0: no limit
  uint64_t tenant_max_pending = 0;       // waiting halves per tenant; 0: no limit
  uint64_t tenant_max_edges = 0;         // distinct edges per tenant; 0: no limit
  bool memory_budget_auto = true;        // 75% of the machine (MemoryGuard::DefaultBudget)
  uint64_t memory_budget_bytes = 0;      // when not auto; 0: no budget
  std::string auth_token;                // empty: no auth
  // Lines `TOKEN TENANT SCOPES` (server/auth.h); re-read on SIGHUP. Empty: none.
  std::string tokens_file;
  // Without a tokens file: the tenant comes from the X-Scope-OrgID header (a trusted proxy).
  bool tenant_header = false;
  // TLS on every listener when tls_cert is set (PEM files); tls_client_ca: mutual TLS, clients
  // must present a certificate signed by one of these CAs.
  std::string tls_cert, tls_key, tls_client_ca;
  std::string log_level = "info";
  uint32_t io_threads = 2;
  uint32_t ingest_shards = 2;
  uint32_t query_threads = 0;  // 0: hardware threads, at most 4
  uint32_t query_workers = 2;  // fixed pool that runs /api/ requests
  uint32_t query_queue = 16;   // queries waiting for a worker; more are answered 429
  int64_t query_timeout_ms = 30'000;
  uint64_t query_max_edges = 1'000'000;  // edges one scan table may hold (422 above)
  uint32_t query_nice = 19;              // nice increment of the query and scan threads
  bool query_sched_idle = false;         // --query-sched idle: SCHED_IDLE query and scan threads
  uint32_t query_slice_us = 100;         // --query-slice: their scheduler time slice (0: default)
  std::string web_dir;                   // empty: next to the binary / source tree (see server)
  std::string trace_url;                 // empty: none; else an http(s) URL containing {trace_id}
  std::string cors_origin;  // empty: no CORS headers; else "*" or one origin (scheme://host[:port])
  std::string config_file;
};

struct ConfigKeyInfo {
  std::string key;
  std::string default_value;
  std::string help;
};

// All keys with their defaults and help, in --help order.
const std::vector<ConfigKeyInfo>& ConfigKeys();

// Parses argv (argv[0] is skipped). Sets *help when --help/-h was given (then nothing else is
// validated). Reads the --config file first, then applies the flags over it.
Result<Config> ParseConfig(int argc, const char* const* argv, bool* help);

// Applies one key=value to cfg; `source` names where it came from for error messages.
Status ApplyConfigValue(Config* cfg, const std::string& key, const std::string& value,
                        const std::string& source);

// Parses "20MiB", "64MB", "512KiB", "1048576".
Result<uint64_t> ParseByteSize(const std::string& text);

std::string ConfigHelpText(const std::string& program);

}  // namespace ew
