// Fuzz target: the decoders of stored values (storage/rollup_codec.cc): rollups (FlatBuffers
// table with two latency sketches), exemplar lists and dictionary nodes, on any bytes, at an
// aligned and at a misaligned address (RocksDB values are not aligned; the decoders copy them).
//
// Relations checked: a value that decodes re-encodes to a value that decodes to the same thing;
// the three sketch modes agree (kSkip and kEncoded accept whatever passes verification, kDecode
// additionally the sketches, which then equal those decoded from kEncoded's views).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "storage/latency_sketch.h"
#include "storage/rollup_codec.h"

namespace ew::storage {
namespace {

bool SameCounts(const RollupValue& a, const RollupValue& b) {
  return a.requests == b.requests && a.errors == b.errors && a.request_bytes == b.request_bytes &&
         a.response_bytes == b.response_bytes;
}

void CheckRollup(std::string_view data) {
  RollupValue decoded;
  const Status s = DecodeRollup(data, &decoded, SketchDecode::kDecode);
  RollupValue skipped;
  const Status skip = DecodeRollup(data, &skipped, SketchDecode::kSkip);
  RollupValue viewed;
  const Status view = DecodeRollup(data, &viewed, SketchDecode::kEncoded);
  FUZZ_CHECK(skip.ok() == view.ok(), skip.ToString() + " vs " + view.ToString());
  if (!skip.ok()) {
    FUZZ_CHECK(!s.ok() && skip.code() == StatusCode::kCorruption, s.ToString());
    return;
  }
  FUZZ_CHECK(SameCounts(skipped, viewed) && skipped.server_latency.Empty() &&
                 viewed.client_latency.Empty(),
             "kSkip and kEncoded differ");
  // The views of kEncoded decode exactly when kDecode succeeds, to the same sketches.
  LatencySketch server, client;
  const bool views_ok = LatencySketch::DecodeInto(viewed.encoded.server, &server).ok() &&
                        LatencySketch::DecodeInto(viewed.encoded.client, &client).ok();
  FUZZ_CHECK(views_ok == s.ok(), "kDecode: " + s.ToString());
  if (!s.ok()) return;
  FUZZ_CHECK(SameCounts(decoded, skipped), "kDecode and kSkip counts differ");
  FUZZ_CHECK(decoded.server_latency == server && decoded.client_latency == client,
             "kDecode and kEncoded sketches differ");

  RollupEncoder encoder;
  std::string encoded;
  encoder.Encode(decoded, &encoded);
  RollupValue again;
  const Status a = DecodeRollup(encoded, &again);
  FUZZ_CHECK(a.ok(), "re-encoded rollup: " + a.ToString());
  FUZZ_CHECK(SameCounts(again, decoded) && again.server_latency == decoded.server_latency &&
                 again.client_latency == decoded.client_latency,
             "re-encoded rollup decodes to another value");
}

void CheckExemplars(std::string_view data) {
  std::vector<Exemplar> decoded;
  const Status s = DecodeExemplars(data, &decoded);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == StatusCode::kCorruption && decoded.empty(), s.ToString());
    return;
  }
  std::string encoded;
  EncodeExemplars(decoded, &encoded);
  std::vector<Exemplar> again;
  FUZZ_CHECK(DecodeExemplars(encoded, &again).ok() && again == decoded,
             "re-encoded exemplars decode to other values");
}

void CheckDictNode(std::string_view data) {
  NodeKind kind{};
  StringId ns_id = 0;
  std::string name;
  const Status s = DecodeDictNode(data, &kind, &ns_id, &name);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == StatusCode::kCorruption, s.ToString());
    return;
  }
  std::string encoded;
  EncodeDictNode(kind, ns_id, name, &encoded);
  NodeKind kind2{};
  StringId ns_id2 = 0;
  std::string name2;
  FUZZ_CHECK(DecodeDictNode(encoded, &kind2, &ns_id2, &name2).ok() && kind2 == kind &&
                 ns_id2 == ns_id && name2 == name,
             "re-encoded dictionary node decodes to another value");
}

void CheckAll(std::string_view data) {
  CheckRollup(data);
  CheckExemplars(data);
  CheckDictNode(data);
}

}  // namespace
}  // namespace ew::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libFuzzer's copy of the input is a heap block of its own (aligned); a second copy one byte
  // into a block that ends with the value takes the decoders' misaligned path.
  ew::storage::CheckAll(std::string_view(reinterpret_cast<const char*>(data), size));
  std::unique_ptr<char[]> shifted(new char[size + 1]);
  if (size > 0) std::memcpy(shifted.get() + 1, data, size);
  ew::storage::CheckAll(std::string_view(shifted.get() + 1, size));
  return 0;
}
