// Fuzz target: the decoders of stored values (storage/rollup_codec.cc, storage/record_codec.cc):
// schema-1 rollups (FlatBuffers table with two latency sketches), schema-2 tier records and
// their merge, exemplar lists of both schemas and dictionary nodes, on any bytes, at an
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
#include "storage/record_codec.h"
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
  TenantId tenant = 0;
  NodeKind kind{};
  StringId ns_id = 0;
  std::string name;
  const Status s = DecodeDictNode(data, &tenant, &kind, &ns_id, &name);
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == StatusCode::kCorruption, s.ToString());
    return;
  }
  std::string encoded;
  EncodeDictNode(tenant, kind, ns_id, name, &encoded);
  TenantId tenant2 = 0;
  NodeKind kind2{};
  StringId ns_id2 = 0;
  std::string name2;
  FUZZ_CHECK(DecodeDictNode(encoded, &tenant2, &kind2, &ns_id2, &name2).ok() && tenant2 == tenant &&
                 kind2 == kind && ns_id2 == ns_id && name2 == name,
             "re-encoded dictionary node decodes to another value");
}

// Schema-2 tier records (storage/record_codec.cc) under each tier's limits: a record that parses
// re-encodes to one that parses to the same entries and peak, and merging it with itself gives
// a record that parses (or a Corruption when its sketches do not decode).
void CheckRecord(std::string_view data) {
  for (Tier tier : {Tier::kMinute, Tier::kHour, Tier::kDay}) {
    const RecordLimits limits = LimitsOf(tier);
    RecordView view;
    const Status s = ParseRecord(data, limits, &view);
    if (!s.ok()) {
      FUZZ_CHECK(s.code() == StatusCode::kCorruption, s.ToString());
      continue;
    }
    std::string encoded;
    EncodeRecord(view.entries, view.peak_form, view.minute_counts, view.peak, view.peak_offset,
                 &encoded);
    RecordView again;
    const Status a = ParseRecord(encoded, limits, &again);
    FUZZ_CHECK(a.ok(), "re-encoded record: " + a.ToString());
    bool same = again.entries.size() == view.entries.size() && again.peak_form == view.peak_form &&
                again.minute_counts == view.minute_counts && PeakOf(again) == PeakOf(view);
    for (size_t i = 0; same && i < view.entries.size(); ++i) {
      const RecordEntry &x = view.entries[i], &y = again.entries[i];
      same = x.offset == y.offset && x.requests == y.requests && x.errors == y.errors &&
             x.request_bytes == y.request_bytes && x.response_bytes == y.response_bytes &&
             x.server == y.server && x.client == y.client;
    }
    FUZZ_CHECK(same, "re-encoded record parses to another value");
    RecordMerger merger;
    const std::string_view inputs[2] = {data, data};
    std::string merged;
    const Status m = merger.Merge(inputs, limits, &merged);
    if (!m.ok()) {
      FUZZ_CHECK(m.code() == StatusCode::kCorruption, m.ToString());
      continue;
    }
    RecordView mv;
    const Status p = ParseRecord(merged, limits, &mv);
    FUZZ_CHECK(p.ok(), "merged record: " + p.ToString());
  }
  std::vector<Exemplar> list;
  if (DecodeExemplarList(data, 1'000'000, &list).ok()) {
    std::string encoded;
    EncodeExemplarList(list, 1'000'000, &encoded);
    std::vector<Exemplar> again;
    FUZZ_CHECK(DecodeExemplarList(encoded, 1'000'000, &again).ok() && again == list,
               "re-encoded exemplar list decodes to other values");
  }
}

void CheckAll(std::string_view data) {
  CheckRollup(data);
  CheckExemplars(data);
  CheckDictNode(data);
  CheckRecord(data);
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
