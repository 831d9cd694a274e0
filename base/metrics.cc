#include "base/metrics.h"

#include <cmath>
#include <cstdio>

namespace ew {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    snprintf(buf, sizeof(buf), "%.9g", v);
  }
  return buf;
}

}  // namespace

MetricsRegistry::Series* MetricsRegistry::FindOrAdd(const std::string& name,
                                                    const std::string& help, bool is_counter,
                                                    const MetricLabels& labels) {
  Family& f = families_[name];
  if (f.help.empty()) f.help = help;
  f.is_counter = is_counter;
  for (Series& s : f.series) {
    if (s.labels == labels) return &s;
  }
  f.series.push_back(Series{labels, nullptr, nullptr, nullptr});
  return &f.series.back();
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  MutexLock lock(&mu_);
  Series* s = FindOrAdd(name, help, true, labels);
  if (!s->counter) s->counter = std::make_unique<Counter>();
  return s->counter.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  MutexLock lock(&mu_);
  Series* s = FindOrAdd(name, help, false, labels);
  if (!s->gauge) s->gauge = std::make_unique<Gauge>();
  return s->gauge.get();
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       std::function<double()> fn, const MetricLabels& labels) {
  MutexLock lock(&mu_);
  Series* s = FindOrAdd(name, help, false, labels);
  s->fn = std::move(fn);
}

std::string MetricsRegistry::RenderPrometheus() const {
  MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + (f.is_counter ? " counter\n" : " gauge\n");
    for (const Series& s : f.series) {
      out += name;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          if (!first) out += ',';
          first = false;
          out += k + "=\"" + EscapeLabel(v) + "\"";
        }
        out += '}';
      }
      double v = 0;
      if (s.counter)
        v = static_cast<double>(s.counter->Value());
      else if (s.gauge)
        v = s.gauge->Value();
      else if (s.fn)
        v = s.fn();
      out += ' ' + FormatValue(v) + '\n';
    }
  }
  return out;
}

}  // namespace ew
