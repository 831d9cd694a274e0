// Fuzz target: the OTLP JSON decoder (ingest/decoders/otlp_json.cc) on any bytes.
//
// The body sits in a buffer of exactly size + kJsonPadding bytes (the decoder's documented need),
// so ASan catches a read past the padding. The relations checked on every input are
// CheckJsonDecoder's (fuzz/span_decoder_fuzz.h): a stopped decode gives a prefix of the spans and
// the sink's error; a body that decodes gives the same spans after simdjson::minify.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/span_decoder_fuzz.h"
#include "ingest/decoders/span_view.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fail_at = size == 0 ? 0 : data[size - 1] % 4;
  ew::ingest::fuzz::CheckJsonDecoder(&ew::ingest::DecodeOtlpJson,
                                     std::string_view(reinterpret_cast<const char*>(data), size),
                                     fail_at);
  return 0;
}
