// Fuzz target: the Zipkin v2 JSON decoder (ingest/decoders/zipkin_json.cc) on any bytes.
//
// The same driver as otlp_json_fuzzer (fuzz/span_decoder_fuzz.h, CheckJsonDecoder): both
// decoders read simdjson On-Demand from a body followed by exactly kJsonPadding bytes; a stopped
// decode gives a prefix of the spans and the sink's error; a body that decodes gives the same
// spans after simdjson::minify.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/span_decoder_fuzz.h"
#include "ingest/decoders/span_view.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fail_at = size == 0 ? 0 : data[size - 1] % 4;
  ew::ingest::fuzz::CheckJsonDecoder(&ew::ingest::DecodeZipkinJson,
                                     std::string_view(reinterpret_cast<const char*>(data), size),
                                     fail_at);
  return 0;
}
