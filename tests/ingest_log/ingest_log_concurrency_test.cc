// Concurrency test of the ingest log (run under TSan): one writer appends and rolls segments
// while other threads read EndPosition and call TruncateBefore, as the flusher does.
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "storage/ingest_log.h"

namespace ew::storage {
namespace {

TEST(IngestLogConcurrency, TruncateAndEndPositionWhileAppending) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ew-ingest-log-c-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  auto opened = IngestLog::Open({.dir = tmpl, .segment_bytes = 4096});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<IngestLog> log = std::move(opened).value();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> flushed{0};  // what a flusher would have recorded
  std::thread truncator([&] {
    uint64_t last = 0;
    while (!done.load()) {
      const uint64_t end = log->EndPosition();
      EXPECT_GE(end, last) << "positions never decrease";
      last = end;
      EXPECT_TRUE(log->TruncateBefore(flushed.load()).ok());
      std::this_thread::yield();
    }
  });
  const std::string payload(100, 'p');
  uint64_t prev = 0;
  for (int i = 0; i < 3000; ++i) {
    auto end = log->Append({payload, payload});
    ASSERT_TRUE(end.ok()) << end.status().ToString();
    EXPECT_EQ(*end, prev + 216);
    prev = *end;
    if (i % 50 == 0) flushed.store(prev - 1000);
  }
  done.store(true);
  truncator.join();
  // Everything after the last "flushed" position replays intact.
  uint64_t count = 0;
  ASSERT_TRUE(log->Replay(flushed.load(),
                          [&](uint64_t, std::string_view r) {
                            EXPECT_EQ(r, payload);
                            ++count;
                            return Status::Ok();
                          })
                  .ok());
  EXPECT_GT(count, 0u);
  log.reset();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace ew::storage
