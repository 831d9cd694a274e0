#include "base/hash.h"

// XXH3_state_t on the stack (its layout is that of the installed header and library).
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

namespace ew {

uint64_t Hash64(std::string_view data, uint64_t seed) {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}
uint64_t Hash64(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}
uint64_t Hash64Concat(std::string_view a, std::string_view b, uint64_t seed) {
  if (b.empty()) return Hash64(a, seed);
  if (a.empty()) return Hash64(b, seed);
  XXH3_state_t state;
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  return XXH3_64bits_digest(&state);
}

uint64_t Hash64Concat(std::string_view a, std::string_view b,
                      std::span<const std::string_view> more, uint64_t seed) {
  if (more.empty()) return Hash64Concat(a, b, seed);
  XXH3_state_t state;
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, a.data(), a.size());
  XXH3_64bits_update(&state, b.data(), b.size());
  for (std::string_view p : more) XXH3_64bits_update(&state, p.data(), p.size());
  return XXH3_64bits_digest(&state);
}

}  // namespace ew
