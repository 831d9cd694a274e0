// Fuzz target: the OTLP protobuf decoder (ingest/otlp_proto.cc, otlp_proto_fast.cc) on any bytes.
//
// Beyond "no crash, no UB, no leak": the two walkers are held to their contract on every input
// (ingest/otlp_proto_walkers.h, the same relations as
// tests/ingest_decode/decode_fast_path_test.cc): DecodeOtlpProtobuf gives the precise walker's
// status and spans; the fast walker alone delivers a prefix of the precise walker's spans, and all
// of them with the same status when it finishes. Every string a span views is copied out
// (OwnedSpan, in the shared driver's Sink: fuzz/span_decoder_fuzz.h), so ASan sees each view read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "fuzz/span_decoder_fuzz.h"
#include "ingest/decoders/otlp_proto_walkers.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest {
namespace {

using fuzz::Sink;
using fuzz::SpanDiff;

void CheckWalkersAgree(std::string_view body, int fail_at) {
  Sink precise_sink(fail_at);
  const Status precise = internal::DecodeOtlpProtobufPrecise(body, precise_sink);

  Sink sink(fail_at);
  const Status s = DecodeOtlpProtobuf(body, sink);
  FUZZ_CHECK(s.code() == precise.code() && s.message() == precise.message(),
             s.ToString() + " vs precise " + precise.ToString());
  FUZZ_CHECK(sink.spans == precise_sink.spans, SpanDiff(sink.spans, precise_sink.spans));

  Sink fast_sink(fail_at);
  Status sink_status;
  size_t delivered = 0;
  const bool complete =
      internal::DecodeOtlpProtobufFastOnly(body, fast_sink, &sink_status, &delivered);
  FUZZ_CHECK(delivered == fast_sink.spans.size(), "delivered count");
  FUZZ_CHECK(delivered <= precise_sink.spans.size(), SpanDiff(fast_sink.spans, precise_sink.spans));
  FUZZ_CHECK(std::equal(fast_sink.spans.begin(), fast_sink.spans.end(), precise_sink.spans.begin()),
             SpanDiff(fast_sink.spans, precise_sink.spans));
  if (complete) {  // it finished, or the sink stopped it: the precise walker agrees in full
    FUZZ_CHECK(sink_status.code() == precise.code() && sink_status.message() == precise.message(),
               sink_status.ToString() + " vs precise " + precise.ToString());
    FUZZ_CHECK(delivered == precise_sink.spans.size(),
               SpanDiff(fast_sink.spans, precise_sink.spans));
  }
  if (!precise.ok()) {
    FUZZ_CHECK(precise.code() == StatusCode::kInvalidArgument ||
                   (fail_at >= 0 && precise.code() == StatusCode::kResourceExhausted),
               precise.ToString());
  }
}

}  // namespace
}  // namespace ew::ingest

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ew::ingest::CheckWalkersAgree(body, -1);
  // Again with a sink that stops the walk halfway (the server's full pending table): a count taken
  // from the body, so the corpus keeps inputs that reach each case.
  const int fail_at = size == 0 ? 0 : data[size - 1] % 8;
  ew::ingest::CheckWalkersAgree(body, fail_at);
  return 0;
}
