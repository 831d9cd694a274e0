// Per-tenant token buckets (tenant_limiter.h).
#include "ingest/pipeline/tenant_limiter.h"

#include <algorithm>
#include <cmath>

namespace ew::ingest {

TokenBucket::TokenBucket(double rate, double capacity, int64_t now_ns)
    : rate_(rate), capacity_(capacity), tokens_(capacity), last_ns_(now_ns) {}

void TokenBucket::Refill(int64_t now_ns) {
  if (now_ns > last_ns_) {
    tokens_ = std::min(capacity_, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) / 1e9);
    last_ns_ = now_ns;
  }
}

int64_t TokenBucket::TryTake(double n, int64_t now_ns) {
  if (rate_ <= 0) return 0;  // unlimited
  Refill(now_ns);
  const double need = std::min(n, capacity_);
  if (tokens_ >= need) {
    tokens_ -= n;  // may go into debt: the long-run rate stays at most rate_
    return 0;
  }
  const double wait_s = (need - tokens_) / rate_;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s)));
}

TenantLimiter::TenantLimiter(TenantRateLimits limits, MetricsRegistry* metrics)
    : limits_(limits), metrics_(metrics) {}

TenantLimiter::Buckets& TenantLimiter::BucketsOf(std::string_view tenant, int64_t now_ns) {
  auto it = buckets_.find(std::string(tenant));
  if (it == buckets_.end()) {
    const double burst = std::max(limits_.burst_s, 0.001);
    it =
        buckets_
            .emplace(std::string(tenant),
                     Buckets{TokenBucket(limits_.spans_per_s, limits_.spans_per_s * burst, now_ns),
                             TokenBucket(limits_.bytes_per_s, limits_.bytes_per_s * burst, now_ns)})
            .first;
  }
  return it->second;
}

TenantLimiter::Decision TenantLimiter::Admit(std::string_view tenant, double n, bool spans,
                                             int64_t now_ns) {
  if ((spans ? limits_.spans_per_s : limits_.bytes_per_s) <= 0) return {};
  int64_t wait;
  {
    MutexLock lock(&mu_);
    Buckets& b = BucketsOf(tenant, now_ns);
    wait = (spans ? b.spans : b.bytes).TryTake(n, now_ns);
  }
  if (wait == 0) return {};
  Decision d{false, static_cast<int>(std::min<int64_t>(wait, 3600)),
             spans ? "spans_per_second" : "bytes_per_second"};
  CountRefusal(tenant, d.reason);
  return d;
}

TenantLimiter::Decision TenantLimiter::AdmitBytes(std::string_view tenant, uint64_t bytes,
                                                  int64_t now_ns) {
  return Admit(tenant, static_cast<double>(bytes), false, now_ns);
}

TenantLimiter::Decision TenantLimiter::AdmitSpans(std::string_view tenant, uint64_t spans,
                                                  int64_t now_ns) {
  return Admit(tenant, static_cast<double>(spans), true, now_ns);
}

void TenantLimiter::CountRefusal(std::string_view tenant, std::string_view reason, uint64_t n) {
  if (metrics_ == nullptr || n == 0) return;
  std::string key = std::string(tenant) + '\0' + std::string(reason);
  Counter* c;
  {
    MutexLock lock(&mu_);
    auto& slot = refusals_[key];
    if (slot == nullptr) {
      slot = metrics_->GetCounter(
          "ew_ingest_refused_total",
          "Ingest refused or cut by a per-tenant limit or the memory budget (requests; halves for "
          "pending and max_pending)",
          {{"tenant", std::string(tenant)}, {"reason", std::string(reason)}});
    }
    c = slot;
  }
  c->Add(n);
}

}  // namespace ew::ingest
