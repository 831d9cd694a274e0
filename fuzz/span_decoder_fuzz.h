// The shared driver of the span decoders' fuzz targets (otlp_proto_fuzzer, otlp_json_fuzzer,
// zipkin_json_fuzzer): a sink that keeps every span (copied out, so ASan sees each view read) and
// can fail at a given span, a readable difference of two span lists, and the JSON decoders' whole
// check.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fuzz/fuzz_check.h"
#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest::fuzz {

using testing::OwnedSpan;

// Keeps every span; fails at span `fail_at` (0-based; -1: never) as a full pending table would.
class Sink : public SpanSink {
 public:
  explicit Sink(int fail_at) : fail_at_(fail_at) {}
  Status OnSpan(const SpanView& span) override {
    if (static_cast<int>(spans.size()) == fail_at_) return Status::ResourceExhausted("sink full");
    spans.push_back(testing::Own(span));
    return Status::Ok();
  }
  std::vector<OwnedSpan> spans;

 private:
  int fail_at_;
};

inline std::string SpanDiff(const std::vector<OwnedSpan>& a, const std::vector<OwnedSpan>& b) {
  std::string out = std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " spans";
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (!(a[i] == b[i])) {
      out += "\nspan " + std::to_string(i) + ":\n" + testing::Describe(a[i]) + "\n" +
             testing::Describe(b[i]);
    }
  }
  return out;
}

// A JSON decoder: Status Decode(std::string_view body, SpanSink& sink), the body followed by
// kJsonPadding readable bytes.
using JsonDecoder = Status (*)(std::string_view, SpanSink&);

// Decodes text from a buffer with exactly kJsonPadding bytes after it (filled with '"', so
// reading padding as JSON would change the result).
inline Status DecodePadded(JsonDecoder decode, std::string_view text, Sink& sink) {
  std::unique_ptr<char[]> buffer(new char[text.size() + kJsonPadding]);
  if (!text.empty()) std::memcpy(buffer.get(), text.data(), text.size());
  std::memset(buffer.get() + text.size(), '"', kJsonPadding);
  return decode(std::string_view(buffer.get(), text.size()), sink);
}

// Relations checked on every input of a JSON decoder:
// - an error is InvalidArgument;
// - a sink that stops the walk at span fail_at sees the first fail_at spans of the full decode,
//   and its error is returned;
// - a body that decodes decodes to the same spans after simdjson::minify (whitespace between
//   tokens carries no meaning).
inline void CheckJsonDecoder(JsonDecoder decode, std::string_view text, int fail_at) {
  Sink sink(-1);
  const Status s = DecodePadded(decode, text, sink);
  if (!s.ok()) FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.ToString());

  Sink stopping(fail_at);
  const Status stopped = DecodePadded(decode, text, stopping);
  if (static_cast<size_t>(fail_at) < sink.spans.size()) {
    FUZZ_CHECK(stopped.code() == StatusCode::kResourceExhausted, stopped.ToString());
    FUZZ_CHECK(stopping.spans.size() == static_cast<size_t>(fail_at), stopped.ToString());
  } else {
    FUZZ_CHECK(stopped.code() == s.code() && stopped.message() == s.message(),
               stopped.ToString() + " vs " + s.ToString());
    FUZZ_CHECK(stopping.spans.size() == sink.spans.size(), stopped.ToString());
  }
  FUZZ_CHECK(std::equal(stopping.spans.begin(), stopping.spans.end(), sink.spans.begin()),
             "a stopped decode gave other spans");

  if (!s.ok()) return;
  // Only a valid JSON document minifies to the same document: the decoders read the values they
  // need and skip the rest without validating every escape in it (simdjson On-Demand), so an
  // accepted body may hold invalid JSON in a skipped value, which minify then reads otherwise.
  simdjson::dom::parser validator;
  simdjson::dom::element root;
  if (validator.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) return;
  std::string minified(text.size(), '\0');
  size_t minified_size = 0;
  if (simdjson::minify(text.data(), text.size(), minified.data(), minified_size) !=
      simdjson::SUCCESS) {
    return;
  }
  minified.resize(minified_size);
  Sink again(-1);
  const Status m = DecodePadded(decode, minified, again);
  FUZZ_CHECK(m.ok(), "minified: " + m.ToString());
  FUZZ_CHECK(again.spans == sink.spans, "minified body decodes to other spans");
}

}  // namespace ew::ingest::fuzz
