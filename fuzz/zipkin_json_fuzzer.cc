// Fuzz target: the Zipkin v2 JSON decoder (ingest/decoders/zipkin_json.cc) on any bytes.
// (The same harness as otlp_json_fuzzer: both decoders read simdjson On-Demand from a padded body.)
//
// The body sits in a buffer of exactly size + kJsonPadding bytes (the decoder's documented need),
// so ASan catches a read past the padding. Relations checked on every input:
// - a sink that stops the walk at span k sees the first k spans of the full decode, and its error
//   is returned;
// - a body that decodes decodes to the same spans after simdjson::minify (whitespace between
//   tokens carries no meaning).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "ingest/decoders/otlp_json.h"
#include "ingest/decoders/span_view.h"
#include "tests/ingest_decode/owned_span.h"

namespace ew::ingest {
namespace {

using testing::OwnedSpan;

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

// Decodes text from a buffer with exactly kJsonPadding bytes after it (filled with '"', so
// reading padding as JSON would change the result).
Status Decode(std::string_view text, Sink& sink) {
  std::unique_ptr<char[]> buffer(new char[text.size() + kJsonPadding]);
  if (!text.empty()) std::memcpy(buffer.get(), text.data(), text.size());
  std::memset(buffer.get() + text.size(), '"', kJsonPadding);
  return DecodeZipkinJson(std::string_view(buffer.get(), text.size()), sink);
}

void CheckJson(std::string_view text, int fail_at) {
  Sink sink(-1);
  const Status s = Decode(text, sink);
  if (!s.ok()) FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.ToString());

  Sink stopping(fail_at);
  const Status stopped = Decode(text, stopping);
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
  std::string minified(text.size(), '\0');
  size_t minified_size = 0;
  if (simdjson::minify(text.data(), text.size(), minified.data(), minified_size) !=
      simdjson::SUCCESS) {
    return;
  }
  minified.resize(minified_size);
  Sink again(-1);
  const Status m = Decode(minified, again);
  FUZZ_CHECK(m.ok(), "minified: " + m.ToString());
  FUZZ_CHECK(again.spans == sink.spans, "minified body decodes to other spans");
}

}  // namespace
}  // namespace ew::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fail_at = size == 0 ? 0 : data[size - 1] % 4;
  ew::ingest::CheckJson(std::string_view(reinterpret_cast<const char*>(data), size), fail_at);
  return 0;
}
