// Zipkin v2 JSON encoding of the load generator's spans (Encoding::kZipkin, the body of
// POST /api/v2/spans): one list of span objects with 32-digit trace ids, µs times, the resource's
// service.name as localEndpoint.serviceName and every other resource and span attribute as a
// string tag (as @opentelemetry/exporter-zipkin writes them), status as otel.status_code/error.
// Slots are as for OTLP JSON (hex ids), so PatchTraceIds(json = true) replays a body.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "tools/otlp_encoder.h"

namespace ew::tools {

// The body of a request in any encoding: Zipkin ones here, OTLP ones by EncodeTraces. Slots as
// EncodeTraces gives them (none for gzip).
std::string EncodeBody(const std::vector<const OtlpSpan*>& spans,
                       const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                       std::vector<TraceIdSlot>* slots = nullptr);

std::string EncodeZipkinSpans(const std::vector<const OtlpSpan*>& spans,
                              const std::vector<std::vector<Attr>>& resources,
                              std::vector<TraceIdSlot>* slots);

}  // namespace ew::tools
