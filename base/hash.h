// Hashing for interning and sharding (xxHash XXH3). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ew {

uint64_t Hash64(std::string_view data, uint64_t seed = 0);
uint64_t Hash64(const void* data, size_t size, uint64_t seed = 0);
// Hash64 of the concatenation a + b, without concatenating (XXH3's streaming form).
uint64_t Hash64Concat(std::string_view a, std::string_view b, uint64_t seed = 0);
// Hash64 of the concatenation a + b + every piece of more (empty pieces change nothing).
uint64_t Hash64Concat(std::string_view a, std::string_view b,
                      std::span<const std::string_view> more, uint64_t seed = 0);

// A cheap, well-mixed 64-bit finalizer for integer keys (splitmix64).
constexpr uint64_t MixHash(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace ew
