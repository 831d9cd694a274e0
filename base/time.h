// Time in Edgewise: durations ("10s", "5m"), timestamps (RFC 3339, unix seconds, "now-1h"),
// and the clock. All functions are pure and thread-safe except the clock reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ew {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kMsPerMinute = 60 * kMsPerSecond;
constexpr int64_t kMsPerHour = 60 * kMsPerMinute;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;

// Parses a duration: an integer followed by a unit (ms, s, m, h, d, w); several terms may be
// concatenated ("1h30m"). A leading '-' or '+' is accepted. "0" alone means zero.
Result<int64_t> ParseDurationMs(std::string_view text);

// Formats a duration in the largest exact unit ("90s" -> "90s", 3600000 -> "1h").
std::string FormatDurationMs(int64_t ms);

// Parses a point in time: RFC 3339 ("2026-11-25T01:00:00Z", fractions and offsets allowed),
// unix seconds ("1764032400", fractions allowed), or relative to now_ms ("now", "now-15m",
// "now+5m", units s m h d w). Returns milliseconds since the unix epoch.
Result<int64_t> ParseTimestampMs(std::string_view text, int64_t now_ms);

// "2026-11-25T01:00:00Z" (whole seconds, UTC).
std::string FormatRfc3339(int64_t unix_seconds);

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// Wall clock and monotonic clock.
int64_t WallNowMs();
int64_t WallNowNs();
int64_t MonoNowNs();

// Floor division that rounds toward negative infinity.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

}  // namespace ew
