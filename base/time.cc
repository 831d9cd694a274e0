#include "base/time.h"

#include <chrono>
#include <cmath>
#include <limits>

namespace ew {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Parses digits at text[*pos]; returns false when there are none or they overflow.
bool ParseDigits(std::string_view text, size_t* pos, int64_t* out, size_t max_digits = 18) {
  size_t start = *pos;
  int64_t v = 0;
  while (*pos < text.size() && IsDigit(text[*pos])) {
    if (*pos - start >= max_digits) return false;
    v = v * 10 + (text[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return false;
  *out = v;
  return true;
}

bool ParseFixed(std::string_view text, size_t* pos, size_t n, int64_t* out) {
  if (*pos + n > text.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

Result<int64_t> UnitMs(std::string_view unit, std::string_view text) {
  if (unit == "ms") return int64_t{1};
  if (unit == "s") return kMsPerSecond;
  if (unit == "m") return kMsPerMinute;
  if (unit == "h") return kMsPerHour;
  if (unit == "d") return kMsPerDay;
  if (unit == "w") return 7 * kMsPerDay;
  return Status::InvalidArgument("bad duration '" + std::string(text) + "': unknown unit '" +
                                 std::string(unit) + "' (use ms, s, m, h, d or w)");
}

Result<int64_t> ParseRfc3339(std::string_view t) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("bad timestamp '" + std::string(t) + "': " + why +
                                   " (expected RFC 3339 like 2026-11-25T01:00:00Z)");
  };
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ParseFixed(t, &p, 4, &y) || p >= t.size() || t[p++] != '-') return bad("bad year");
  if (!ParseFixed(t, &p, 2, &mo) || p >= t.size() || t[p++] != '-') return bad("bad month");
  if (!ParseFixed(t, &p, 2, &d)) return bad("bad day");
  if (p >= t.size() || (t[p] != 'T' && t[p] != 't' && t[p] != ' ')) return bad("missing 'T'");
  ++p;
  if (!ParseFixed(t, &p, 2, &h) || p >= t.size() || t[p++] != ':') return bad("bad hour");
  if (!ParseFixed(t, &p, 2, &mi) || p >= t.size() || t[p++] != ':') return bad("bad minute");
  if (!ParseFixed(t, &p, 2, &s)) return bad("bad second");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return bad("field out of range");
  }
  int64_t frac_ms = 0;
  if (p < t.size() && t[p] == '.') {
    ++p;
    size_t start = p;
    int64_t scale = 100;
    while (p < t.size() && IsDigit(t[p])) {
      frac_ms += (t[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == start) return bad("empty fraction");
  }
  int64_t offset_min = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    int sign = t[p] == '-' ? -1 : 1;
    ++p;
    int64_t oh, om;
    if (!ParseFixed(t, &p, 2, &oh) || p >= t.size() || t[p++] != ':' ||
        !ParseFixed(t, &p, 2, &om)) {
      return bad("bad offset");
    }
    offset_min = sign * (oh * 60 + om);
  } else {
    return bad("missing time zone (Z or +HH:MM)");
  }
  if (p != t.size()) return bad("trailing characters");
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_min * 60;
  return secs * kMsPerSecond + frac_ms;
}

}  // namespace

Result<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  size_t p = 0;
  int sign = 1;
  if (text[0] == '-' || text[0] == '+') {
    sign = text[0] == '-' ? -1 : 1;
    p = 1;
    if (text.size() == 1)
      return Status::InvalidArgument("bad duration '" + std::string(text) + "'");
  }
  if (text.substr(p) == "0") return int64_t{0};
  int64_t total = 0;
  while (p < text.size()) {
    int64_t n;
    if (!ParseDigits(text, &p, &n, 12)) {
      return Status::InvalidArgument("bad duration '" + std::string(text) +
                                     "': expected a number (like 10s, 5m, 1h, 7d)");
    }
    size_t u = p;
    while (p < text.size() && !IsDigit(text[p])) ++p;
    if (u == p) {
      return Status::InvalidArgument("bad duration '" + std::string(text) +
                                     "': missing unit (use ms, s, m, h, d or w)");
    }
    EW_ASSIGN_OR_RETURN(int64_t unit, UnitMs(text.substr(u, p - u), text));
    if (n > std::numeric_limits<int64_t>::max() / unit / 2) {
      return Status::InvalidArgument("bad duration '" + std::string(text) + "': too large");
    }
    total += n * unit;
  }
  return sign * total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string sign = ms < 0 ? "-" : "";
  int64_t a = ms < 0 ? -ms : ms;
  struct U {
    int64_t ms;
    const char* name;
  };
  for (U u : {U{7 * kMsPerDay, "w"}, U{kMsPerDay, "d"}, U{kMsPerHour, "h"}, U{kMsPerMinute, "m"},
              U{kMsPerSecond, "s"}}) {
    if (a % u.ms == 0) return sign + std::to_string(a / u.ms) + u.name;
  }
  return sign + std::to_string(a) + "ms";
}

Result<int64_t> ParseTimestampMs(std::string_view text, int64_t now_ms) {
  if (text.empty()) return Status::InvalidArgument("empty timestamp");
  if (text.substr(0, 3) == "now") {
    std::string_view rest = text.substr(3);
    if (rest.empty()) return now_ms;
    if (rest[0] != '-' && rest[0] != '+') {
      return Status::InvalidArgument("bad timestamp '" + std::string(text) +
                                     "': expected now, now-15m or now+5m");
    }
    auto d = ParseDurationMs(rest);
    if (!d.ok())
      return Status::InvalidArgument("bad timestamp '" + std::string(text) +
                                     "': " + d.status().message());
    return now_ms + *d;
  }
  bool all_digits = true;
  size_t dots = 0;
  for (char c : text) {
    if (c == '.')
      ++dots;
    else if (!IsDigit(c))
      all_digits = false;
  }
  if (all_digits && dots <= 1 && text[0] != '.') {
    size_t p = 0;
    int64_t secs;
    if (!ParseDigits(text, &p, &secs, 12)) {
      return Status::InvalidArgument("bad timestamp '" + std::string(text) + "': too large");
    }
    int64_t frac_ms = 0;
    if (p < text.size()) {
      ++p;
      int64_t scale = 100;
      while (p < text.size()) {
        frac_ms += (text[p] - '0') * scale;
        scale /= 10;
        ++p;
      }
    }
    return secs * kMsPerSecond + frac_ms;
  }
  return ParseRfc3339(text);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string FormatRfc3339(int64_t unix_seconds) {
  int64_t days = FloorDiv(unix_seconds, 86400);
  int64_t sod = unix_seconds - days * 86400;
  // civil_from_days (Howard Hinnant).
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m,
           d, static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
           static_cast<long long>(sod % 60));
  return buf;
}

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t MonoNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ew
