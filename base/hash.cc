#include "base/hash.h"

// The installed header's implementation, compiled into this file (XXH_INLINE_ALL): short keys
// (interning, the derive cache) skip the call into the shared library and its generic entry,
// and the streaming state lives on the stack. Same algorithm, so the same hashes as the library.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ew {

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}
uint64_t Hash64(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}
namespace {
// The hash of the pieces' concatenation, streamed.
uint64_t StreamedHash(std::string_view a, std::string_view b,
                      std::span<const std::string_view> more, uint64_t seed) {
  // A state on the stack must be initialized first (XXH3_INITSTATE): reset_withSeed reads the old
  // seed to decide whether to derive the secret, and stale stack bytes could skip that.
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  for (std::string_view p : more) XXH3_64bits_update(&state, p.data(), p.size());
  return XXH3_64bits_digest(&state);
}
}  // namespace

uint64_t Hash64Concat(std::string_view a, std::string_view b, uint64_t seed) {
  if (b.empty()) return Hash64(a, seed);
  if (a.empty()) return Hash64(b, seed);
  return StreamedHash(a, b, {}, seed);
}

uint64_t Hash64Concat(std::string_view a, std::string_view b,
                      std::span<const std::string_view> more, uint64_t seed) {
  if (more.empty()) return Hash64Concat(a, b, seed);
  return StreamedHash(a, b, more, seed);
}

}  // namespace ew
