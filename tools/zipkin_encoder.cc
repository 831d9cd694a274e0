#include "tools/zipkin_encoder.h"

#include <string_view>

#include "base/json_escape.h"

namespace ew::tools {
namespace {

constexpr std::string_view kKinds[] = {"", "", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"};

// A tag's string form (Zipkin tags are strings); false for values the exporter would not write
// as a plain string here (arrays, maps, bytes).
bool TagText(const Attr& a, std::string* out) {
  switch (a.type) {
    case Attr::Type::kString:
      *out = a.s;
      return true;
    case Attr::Type::kInt:
      *out = std::to_string(a.i);
      return true;
    case Attr::Type::kBool:
      *out = a.b ? "true" : "false";
      return true;
    case Attr::Type::kDouble:
      *out = std::to_string(a.d);
      return true;
    default:
      return false;
  }
}

class Writer {
 public:
  explicit Writer(std::string* out) : o_(*out) {}

  void Span(const OtlpSpan& s, const std::vector<Attr>& resource, TraceIdSlot* slot) {
    slot->span_begin = o_.size();
    o_.append("{\"traceId\":");
    slot->offset = Id(s.trace_id.data(), 16);
    o_.append(",\"id\":");
    slot->span_offset = Id(s.span_id.data(), 8);
    if (s.has_parent) {
      o_.append(",\"parentId\":");
      slot->parent_offset = Id(s.parent_span_id.data(), 8);
    }
    if (s.kind >= 2 && s.kind <= 5) {
      o_.append(",\"kind\":\"").append(kKinds[s.kind]).append("\"");
    }
    o_.append(",\"name\":");
    AppendJsonString(s.name, &o_);
    o_.append(",\"timestamp\":").append(std::to_string(s.start_ns / 1000));
    const uint64_t duration_ns = s.end_ns > s.start_ns ? s.end_ns - s.start_ns : 0;
    o_.append(",\"duration\":").append(std::to_string((duration_ns + 500) / 1000));
    std::string_view service;
    for (const Attr& a : resource) {
      if (a.key == "service.name" && a.type == Attr::Type::kString) service = a.s;
    }
    o_.append(",\"localEndpoint\":{\"serviceName\":");
    AppendJsonString(service, &o_);
    o_.append("},\"tags\":{");
    first_tag_ = true;
    for (const Attr& a : s.attrs) Tag(a.key, a);
    if (s.status_code == 1) Tag("otel.status_code", Attr::Str("", "OK"));
    if (s.status_code == 2) {
      Tag("otel.status_code", Attr::Str("", "ERROR"));
      if (!s.status_message.empty()) Tag("error", Attr::Str("", s.status_message));
    }
    for (const Attr& a : resource) Tag(a.key, a);
    o_.append("}}");
    slot->span_end = o_.size();
    slot->resource_end = o_.size();
  }

 private:
  size_t Id(const uint8_t* data, size_t n) {
    o_.push_back('"');
    const size_t at = o_.size();
    o_.append(Hex(data, n)).push_back('"');
    return at;
  }

  void Tag(std::string_view key, const Attr& a) {
    std::string text;
    if (!TagText(a, &text)) return;
    if (!first_tag_) o_.push_back(',');
    first_tag_ = false;
    AppendJsonString(key, &o_);
    o_.push_back(':');
    AppendJsonString(text, &o_);
  }

  std::string& o_;
  bool first_tag_ = true;
};

}  // namespace

std::string EncodeBody(const std::vector<const OtlpSpan*>& spans,
                       const std::vector<std::vector<Attr>>& resources, Encoding encoding,
                       std::vector<TraceIdSlot>* slots) {
  if (!IsZipkin(encoding)) return EncodeTraces(spans, resources, encoding, slots);
  if (!IsGzip(encoding)) return EncodeZipkinSpans(spans, resources, slots);
  if (slots) slots->clear();
  return Gzip(EncodeZipkinSpans(spans, resources, nullptr));
}

std::string EncodeZipkinSpans(const std::vector<const OtlpSpan*>& spans,
                              const std::vector<std::vector<Attr>>& resources,
                              std::vector<TraceIdSlot>* slots) {
  std::string out = "[";
  if (slots) slots->assign(spans.size(), {});
  static const std::vector<Attr> kNoResource;
  Writer w(&out);
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) out.push_back(',');
    const OtlpSpan& s = *spans[i];
    TraceIdSlot slot;
    w.Span(s, s.resource < resources.size() ? resources[s.resource] : kNoResource, &slot);
    if (slots) (*slots)[i] = slot;
  }
  out.push_back(']');
  return out;
}

}  // namespace ew::tools
