// Encoding of the storage values (FlatBuffers tables of schemas/rollup.fbs): rollups, exemplar
// lists and dictionary nodes. Every decode verifies the buffer first and returns Corruption on
// failure; decoders write into caller-owned objects so a scan reuses their memory.
//
// Thread-safety: RollupEncoder is single-threaded (one per writer); the free functions are pure.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "storage/edge_store.h"

namespace ew::storage {

class RollupEncoder {
 public:
  // Replaces *out with the Rollup table of v (exemplars are not part of it). Without
  // client_sketch, v.client_latency is left out.
  void Encode(const RollupValue& v, std::string* out, bool client_sketch = true);

 private:
  flatbuffers::FlatBufferBuilder fbb_{256};
  std::string server_, client_;
};

// How DecodeRollup treats the latency sketches.
enum class SketchDecode : uint8_t {
  kSkip,     // left empty
  kDecode,   // decoded into out->server_latency / client_latency
  kEncoded,  // left empty; out->encoded views their encodings (in data, or in a per-thread copy
             // of data that the next DecodeRollup on this thread overwrites)
};
// Decodes a Rollup table into *out (exemplars cleared, out->encoded reset unless kEncoded).
Status DecodeRollup(std::string_view data, RollupValue* out,
                    SketchDecode sketches = SketchDecode::kDecode);

void EncodeExemplars(const std::vector<Exemplar>& exemplars, std::string* out);
Status DecodeExemplars(std::string_view data, std::vector<Exemplar>* out);

void EncodeDictNode(TenantId tenant, NodeKind kind, StringId ns_id, std::string_view name,
                    std::string* out);
Status DecodeDictNode(std::string_view data, TenantId* tenant, NodeKind* kind, StringId* ns_id,
                      std::string* name);

}  // namespace ew::storage
