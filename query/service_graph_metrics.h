// The service graph as Prometheus text exposition (format 0.0.4) under Grafana Tempo's metric
// names (its metrics-generator's service-graphs processor), so that a Prometheus scraping
// /metrics/servicegraph feeds Grafana's service-graph view unchanged:
//   traces_service_graph_request_total, traces_service_graph_request_failed_total (counters),
//   traces_service_graph_request_server_seconds, traces_service_graph_request_client_seconds
//   (histograms: _bucket{le=...}, _sum, _count),
// labelled client, server, connection_type, client_service_namespace, server_service_namespace.
// The values are the store's EdgeTotals (storage/edge_totals.h): everything stored since the
// server started. Entries whose labels come out equal (two nodes of different kinds with the
// same name and connection type) are added into one series; a histogram is written only for a
// side that has observations.
//
// Label values are node names, i.e. hostile input: backslash, double quote and line feed are
// escaped as the format requires, and bytes that are not valid UTF-8 become U+FFFD (Prometheus
// refuses a whole scrape with an invalid UTF-8 label value).
//
// Thread-safety: functions over values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/edge_store.h"
#include "storage/edge_totals.h"

namespace ew::query {

// Tempo's connection_type of an edge: "database" (a database node or protocol), then
// "messaging_system" (a messaging node or protocol), then "virtual_node" (from External Client
// or to an external service: one side was not instrumented), else "".
std::string_view ConnectionType(storage::NodeKind client, storage::NodeKind server,
                                storage::Protocol protocol);

// Appends v as the inside of a label value: escaped, invalid UTF-8 replaced by U+FFFD.
void AppendLabelValue(std::string_view v, std::string* out);

using NodeLookup = std::function<std::optional<storage::NodeInfo>(storage::NodeId)>;

// The whole exposition of the entries (bounds: the histograms' upper bounds in seconds). Series
// are sorted by their label text, so equal inputs give equal bytes.
std::string RenderServiceGraphMetrics(const std::vector<storage::EdgeTotals::Entry>& entries,
                                      const std::vector<double>& bounds_seconds,
                                      const NodeLookup& node);

// gzip (libdeflate, level 1: the exposition repeats its labels on every line, so even the
// fastest level shrinks it many times) for scrapers that send Accept-Encoding: gzip.
std::string GzipForScrape(std::string_view text);

}  // namespace ew::query
