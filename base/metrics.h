// Metrics: counters and gauges that render as Prometheus text (format 0.0.4).
//
// Thread-safety: Counter::Add / Gauge::Set are lock-free (relaxed atomics: each value is
// independent and only read by the scraper). Registration and rendering take mu_ (the family
// map is GUARDED_BY it); register once at start-up and keep the returned pointer (it lives as
// long as the registry). Gauge callbacks run under mu_, so they must not call the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/mutex.h"

namespace ew {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double cur = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class MetricsRegistry {
 public:
  // Returns the counter for (name, labels), creating it on first use. name should end in _total.
  Counter* GetCounter(const std::string& name, const std::string& help,
                      const MetricLabels& labels = {}) EXCLUDES(mu_);
  Gauge* GetGauge(const std::string& name, const std::string& help, const MetricLabels& labels = {})
      EXCLUDES(mu_);
  // A gauge computed at scrape time. The callback must be thread-safe and must not call back into
  // the registry.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> fn, const MetricLabels& labels = {}) EXCLUDES(mu_);

  std::string RenderPrometheus() const EXCLUDES(mu_);

 private:
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::function<double()> fn;
  };
  struct Family {
    std::string help;
    bool is_counter = false;
    std::vector<Series> series;
  };
  Series* FindOrAdd(const std::string& name, const std::string& help, bool is_counter,
                    const MetricLabels& labels) REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family> families_ GUARDED_BY(mu_);
};

}  // namespace ew
