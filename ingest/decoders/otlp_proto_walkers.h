// Internal to ingest: the two walkers behind DecodeOtlpProtobuf (otlp_proto.cc), each on its own,
// for the decoder and its tests (tests/ingest_decode/decode_fast_path_test.cc).
//
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "ingest/decoders/span_view.h"

namespace ew::ingest::internal {

namespace proto_wire {
enum WireType : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kSGroup = 3, kEGroup = 4, kI32 = 5 };
}  // namespace proto_wire

// The precise walker alone: every span to the sink, the exact error message.
Status DecodeOtlpProtobufPrecise(std::string_view body, SpanSink& sink);
// The fast walker alone: false when it gave up. *delivered spans went to the sink; *sink_status is
// the sink's error when the sink stopped the walk (true is returned then), else Ok.
bool DecodeOtlpProtobufFastOnly(std::string_view body, SpanSink& sink, Status* sink_status,
                                size_t* delivered);

}  // namespace ew::ingest::internal
