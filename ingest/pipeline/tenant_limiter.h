// Per-tenant ingest rate limits (docs/operations.md "Limits and their defaults"): spans per
// second and bytes per second, each a token bucket per tenant. A request is admitted when its
// tenant's bucket holds what it needs (or, for a request larger than the whole bucket, when the
// bucket is full); the bucket may then go into debt, so the long-run rate never exceeds the
// limit. A refused request takes nothing and learns how many seconds until it would pass
// (Retry-After). Every refusal is counted on /metrics as
// ew_ingest_refused_total{tenant,reason}.
//
// Thread-safety: all methods may be called from any thread (one mutex; a few map lookups and
// arithmetic under it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/metrics.h"
#include "base/mutex.h"

namespace ew::ingest {

struct TenantRateLimits {
  double spans_per_s = 0;  // 0: unlimited
  double bytes_per_s = 0;  // 0: unlimited (bytes as received, before decompression)
  double burst_s = 2;      // bucket capacity in seconds of the rate
};

// A token bucket with debt: tokens refill at `rate` per second up to `capacity`.
class TokenBucket {
 public:
  TokenBucket(double rate, double capacity, int64_t now_ns);
  // Takes n tokens and returns 0 when at least min(n, capacity) are there; otherwise takes
  // nothing and returns the whole seconds (at least 1) until they would be.
  int64_t TryTake(double n, int64_t now_ns);
  double tokens() const { return tokens_; }

 private:
  void Refill(int64_t now_ns);
  double rate_;
  double capacity_;
  double tokens_;
  int64_t last_ns_;
};

class TenantLimiter {
 public:
  TenantLimiter(TenantRateLimits limits, MetricsRegistry* metrics);

  struct Decision {
    bool ok = true;
    int retry_after_s = 0;
    std::string_view reason;  // "spans_per_second" or "bytes_per_second" when refused
  };
  // A request of `bytes` (before decoding). Refusals are counted.
  Decision AdmitBytes(std::string_view tenant, uint64_t bytes, int64_t now_ns) EXCLUDES(mu_);
  // A decoded request of `spans`. Refusals are counted.
  Decision AdmitSpans(std::string_view tenant, uint64_t spans, int64_t now_ns) EXCLUDES(mu_);
  // Counts n refusals decided elsewhere (waiting halves, edges, paths, memory) under the same
  // metric.
  void CountRefusal(std::string_view tenant, std::string_view reason, uint64_t n = 1) EXCLUDES(mu_);

  const TenantRateLimits& limits() const { return limits_; }

 private:
  struct Buckets {
    TokenBucket spans;
    TokenBucket bytes;
  };
  Buckets& BucketsOf(std::string_view tenant, int64_t now_ns) REQUIRES(mu_);
  Decision Admit(std::string_view tenant, double n, bool spans, int64_t now_ns) EXCLUDES(mu_);

  const TenantRateLimits limits_;
  MetricsRegistry* metrics_;
  Mutex mu_;
  std::unordered_map<std::string, Buckets> buckets_ GUARDED_BY(mu_);
  std::unordered_map<std::string, Counter*> refusals_ GUARDED_BY(mu_);
};

}  // namespace ew::ingest
