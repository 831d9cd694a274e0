// Leveled one-line logging to stderr: "2026-11-25T01:00:00.123Z INFO  storage: message".
// Thread-safe: each line is written with one write(2).
#pragma once

#include <sstream>
#include <string_view>

namespace ew {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets the minimum level that is printed (default kInfo).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses debug|info|warn|error; returns false when unknown.
bool ParseLogLevel(std::string_view text, LogLevel* out);

void LogLine(LogLevel level, std::string_view message);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { LogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace ew

// EW_LOG(kInfo) << "opened " << path;
#define EW_LOG(level)                                \
  if (::ew::LogLevel::level < ::ew::GetLogLevel()) { \
  } else                                             \
    ::ew::LogMessage(::ew::LogLevel::level).stream()
