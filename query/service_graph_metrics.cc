#include "query/service_graph_metrics.h"

#include <libdeflate.h>

#include <charconv>
#include <map>
#include <memory>
#include <new>

namespace ew::query {
namespace {

using storage::EdgeTotals;
using storage::NodeKind;
using storage::Protocol;

// One output series (labels without le) and its values, after merging equal label sets.
struct Series {
  uint64_t requests = 0;
  uint64_t errors = 0;
  EdgeTotals::Histogram server, client;
};

void MergeHistogram(const EdgeTotals::Histogram& from, EdgeTotals::Histogram* to) {
  if (from.count == 0 && from.counts.empty()) return;
  if (to->counts.size() < from.counts.size()) to->counts.resize(from.counts.size(), 0);
  for (size_t i = 0; i < from.counts.size(); ++i) to->counts[i] += from.counts[i];
  to->sum_seconds += from.sum_seconds;
  to->count += from.count;
}

// Length of the valid UTF-8 sequence at s[i] (Go's utf8.ValidString rules: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 when the byte there does not start one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out->append(buf, end);
}

void AppendDouble(double v, std::string* out) {
  char buf[40];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  out->append(buf, end);
}

void AppendFamilyHeader(std::string_view name, std::string_view type, std::string_view help,
                        std::string* out) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// name{labels} value
void AppendSample(std::string_view name, const std::string& labels, uint64_t value,
                  std::string* out) {
  out->append(name).append("{").append(labels).append("} ");
  AppendUint(value, out);
  out->push_back('\n');
}

void AppendHistogram(std::string_view name, const std::vector<double>& bounds,
                     const std::map<std::string, Series>& series, bool server_side,
                     std::string* out) {
  const std::string base(name);
  for (const auto& [labels, s] : series) {
    const EdgeTotals::Histogram& h = server_side ? s.server : s.client;
    if (h.count == 0) continue;
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += i < h.counts.size() ? h.counts[i] : 0;
      out->append(base).append("_bucket{").append(labels).append(",le=\"");
      if (i < bounds.size()) {
        AppendDouble(bounds[i], out);
      } else {
        out->append("+Inf");
      }
      out->append("\"} ");
      AppendUint(cumulative, out);
      out->push_back('\n');
    }
    out->append(base).append("_sum{").append(labels).append("} ");
    AppendDouble(h.sum_seconds, out);
    out->push_back('\n');
    AppendSample(base + "_count", labels, h.count, out);
  }
}

}  // namespace

std::string_view ConnectionType(NodeKind client, NodeKind server, Protocol protocol) {
  if (server == NodeKind::kDatabase || protocol == Protocol::kDatabase) return "database";
  if (server == NodeKind::kMessaging || client == NodeKind::kMessaging ||
      protocol == Protocol::kMessaging) {
    return "messaging_system";
  }
  if (client == NodeKind::kExternalClient || server == NodeKind::kExternalService ||
      client == NodeKind::kExternalService || server == NodeKind::kExternalClient) {
    return "virtual_node";
  }
  return "";
}

void AppendLabelValue(std::string_view v, std::string* out) {
  for (size_t i = 0; i < v.size();) {
    const char c = v[i];
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '"') {
      out->append("\\\"");
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      const size_t n = Utf8SequenceLength(v, i);
      if (n == 0) {
        out->append("\xef\xbf\xbd");  // U+FFFD for one byte that starts no valid sequence
        ++i;
        continue;
      }
      out->append(v.substr(i, n));
      i += n;
      continue;
    }
    ++i;
  }
}

std::string RenderServiceGraphMetrics(const std::vector<EdgeTotals::Entry>& entries,
                                      const std::vector<double>& bounds_seconds,
                                      const NodeLookup& node) {
  std::map<std::string, Series> series;
  std::string labels;
  for (const EdgeTotals::Entry& e : entries) {
    const storage::NodeInfo client = node(e.client).value_or(storage::NodeInfo{});
    const storage::NodeInfo server = node(e.server).value_or(storage::NodeInfo{});
    labels.clear();
    labels.append("client=\"");
    AppendLabelValue(client.name, &labels);
    labels.append("\",server=\"");
    AppendLabelValue(server.name, &labels);
    labels.append("\",connection_type=\"");
    labels.append(ConnectionType(client.kind, server.kind, e.protocol));
    labels.append("\",client_service_namespace=\"");
    AppendLabelValue(client.ns, &labels);
    labels.append("\",server_service_namespace=\"");
    AppendLabelValue(server.ns, &labels);
    labels.append("\"");
    Series& s = series[labels];
    s.requests += e.requests;
    s.errors += e.errors;
    MergeHistogram(e.server_latency, &s.server);
    MergeHistogram(e.client_latency, &s.client);
  }
  std::string out;
  // About 1.6 KB per series with both histograms.
  out.reserve(1024 + series.size() * 1700);
  AppendFamilyHeader("traces_service_graph_request_total", "counter",
                     "Total count of requests between two nodes", &out);
  for (const auto& [l, s] : series) {
    AppendSample("traces_service_graph_request_total", l, s.requests, &out);
  }
  AppendFamilyHeader("traces_service_graph_request_failed_total", "counter",
                     "Total count of failed requests between two nodes", &out);
  for (const auto& [l, s] : series) {
    AppendSample("traces_service_graph_request_failed_total", l, s.errors, &out);
  }
  AppendFamilyHeader("traces_service_graph_request_server_seconds", "histogram",
                     "Time for a request between two nodes as seen from the server", &out);
  AppendHistogram("traces_service_graph_request_server_seconds", bounds_seconds, series, true,
                  &out);
  AppendFamilyHeader("traces_service_graph_request_client_seconds", "histogram",
                     "Time for a request between two nodes as seen from the client", &out);
  AppendHistogram("traces_service_graph_request_client_seconds", bounds_seconds, series, false,
                  &out);
  return out;
}

std::string GzipForScrape(std::string_view text) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  std::unique_ptr<libdeflate_compressor, Free> c(libdeflate_alloc_compressor(1));
  if (c == nullptr) throw std::bad_alloc();
  std::string out(libdeflate_gzip_compress_bound(c.get(), text.size()), '\0');
  const size_t n =
      libdeflate_gzip_compress(c.get(), text.data(), text.size(), out.data(), out.size());
  out.resize(n);  // n > 0: the buffer has the bound's size
  return out;
}

}  // namespace ew::query
