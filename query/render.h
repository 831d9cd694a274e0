// Rendering of query results: JSON (by hand, query/json_writer.h) and FlatBuffers
// (schemas/query.fbs). Internal to the query module.
//
// Thread-safety: functions over values.
#pragma once

#include <cstdint>
#include <string>

#include "query/json_writer.h"
#include "query/map_builder.h"
#include "query/planner.h"

namespace ew::query {

// Seconds of a minute range (never 0).
double RangeSeconds(int64_t start_minute, int64_t end_minute);
std::string MinuteToRfc3339(int64_t minute);

// {"p50": .., "p90": .., "p95": .., "p99": ..} in milliseconds.
void WriteLatency(JsonWriter& w, const LatencyQuantiles& q);
// One node / edge object; with `compared`, also "previous", "change" (and "delta" for edges).
void WriteNode(JsonWriter& w, const MapNode& n, bool compared);
// prev_seconds: the length of the previous range (used only with `compared`).
void WriteEdge(JsonWriter& w, const MapEdge& e, double seconds, bool compared,
               double prev_seconds = 0);
// {"family":..,"why":..,"ranges":[..],"prefixes":[..],"nothing_matches":..,"scans":N}
void WritePlan(JsonWriter& w, const Plan& plan);

// The whole map response. With plan, also "query" and "plan" (and "compare_plan").
std::string RenderMapJson(const ServiceMap& map, int64_t start_minute, int64_t end_minute,
                          const std::string& query_text, const Plan* plan,
                          const Plan* compare_plan);
// The map as Grafana Node Graph frames: {"nodes": [...], "edges": [...]} (docs/api.md).
std::string RenderMapNodeGraph(const ServiceMap& map, int64_t start_minute, int64_t end_minute);
// An edge's Node Graph thickness, 1..5: 1 + 4 * log(1 + requests) / log(1 + max_requests),
// rounded (max_requests: the busiest edge of the map).
uint64_t NodeGraphThickness(uint64_t requests, uint64_t max_requests);
// A rate as the Node Graph stats show it: three significant digits, whole numbers from 1000 on.
std::string NodeGraphRate(double per_second);
std::string RenderMapFlatbuffers(const ServiceMap& map, int64_t start_minute, int64_t end_minute);

// {"error": message[, "position": N]} (position only when >= 0).
std::string RenderError(std::string_view message, int64_t position);

}  // namespace ew::query
