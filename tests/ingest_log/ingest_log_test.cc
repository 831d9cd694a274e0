// Unit tests of the ingest log: framing, positions across restarts, torn and corrupt tails,
// segment rolling, truncation, replay from any position, and write failures (EFBIG through
// RLIMIT_FSIZE everywhere; ENOSPC on a small tmpfs where mounting is permitted).
#include "storage/ingest_log.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/metrics.h"
#include "gtest/gtest.h"
#include "storage/ingest_log_format.h"

namespace ew::storage {
namespace {

namespace fs = std::filesystem;
namespace fmt = ingest_log_format;
using Records = std::vector<std::pair<uint64_t, std::string>>;  // (end position, payload)

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "ew-ingest-log-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) std::abort();
    path_ = p;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<IngestLog> OpenLog(const IngestLogOptions& options) {
  auto log = IngestLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  if (!log.ok()) return nullptr;
  return std::move(log).value();
}

Records ReplayAll(IngestLog* log, uint64_t from, Status* status = nullptr) {
  Records out;
  Status s = log->Replay(from, [&](uint64_t end, std::string_view rec) {
    out.emplace_back(end, std::string(rec));
    return Status::Ok();
  });
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return out;
}

std::string Payload(int i, size_t size = 0) {
  std::string s = "record-" + std::to_string(i) + ":";
  if (size == 0) size = 5 + static_cast<size_t>(i % 23);
  while (s.size() < size) s.push_back(static_cast<char>('a' + (s.size() * 7 + i) % 26));
  return s;
}

// Appends records one batch at a time (batch sizes 1, 2, 3, 1, 2, 3...), returning the ledger.
Records AppendMany(IngestLog* log, int n, int first = 0, size_t size = 0) {
  Records ledger;
  int i = first;
  int batch = 1;
  while (i < first + n) {
    std::vector<std::string> payloads;
    for (int k = 0; k < batch && i < first + n; ++k) payloads.push_back(Payload(i++, size));
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    const uint64_t before = log->EndPosition();
    auto end = log->Append(views);
    EXPECT_TRUE(end.ok()) << end.status().ToString();
    if (!end.ok()) return ledger;
    uint64_t pos = before;
    for (const std::string& p : payloads) {
      pos += fmt::kHeaderBytes + p.size();
      ledger.emplace_back(pos, p);
    }
    EXPECT_EQ(*end, pos);
    EXPECT_EQ(log->EndPosition(), pos);
    batch = batch % 3 + 1;
  }
  return ledger;
}

// The names in dir that `parse` accepts, sorted.
std::vector<std::string> FilesNamed(const std::string& dir,
                                    bool (*parse)(std::string_view, uint64_t*)) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    uint64_t start = 0;
    const std::string name = e.path().filename().string();
    if (parse(name, &start)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The segment files in dir (free segments kept for reuse are not segments), and the free ones.
std::vector<std::string> SegmentFiles(const std::string& dir) {
  return FilesNamed(
      dir, [](std::string_view n, uint64_t* s) { return fmt::ParseSegmentFileName(n, s); });
}
std::vector<std::string> FreeFiles(const std::string& dir) {
  return FilesNamed(dir, fmt::ParseFreeFileName);
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Records given as (head, body, more...) pieces are the same records on disk as their
// concatenations, also for a batch of more pieces than one pwritev takes (IOV_MAX) and with
// empty pieces.
TEST(IngestLogTest, AppendPartsWritesTheSameBytesAsWholeRecords) {
  ScratchDir a, b;
  IngestLogOptions oa, ob;
  oa.dir = a.Sub("log");
  ob.dir = b.Sub("log");
  auto whole = OpenLog(oa);
  auto parts = OpenLog(ob);
  ASSERT_TRUE(whole && parts);
  std::vector<std::string> payloads;
  for (int i = 0; i < 1500; ++i) payloads.push_back(Payload(i, 1 + static_cast<size_t>(i % 97)));
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  std::vector<IngestLog::RecordParts> split;
  std::vector<std::vector<std::string_view>> more(payloads.size());
  for (size_t i = 0; i < payloads.size(); ++i) {
    std::string_view p = payloads[i];
    const size_t cut = i % 3 == 0 ? 0 : (i % 3 == 1 ? p.size() : p.size() / 2);
    if (i % 5 == 4) {  // the body in further pieces too: 1 byte, empty, then thirds of the rest
      std::string_view rest = p.substr(cut);
      const size_t first = std::min<size_t>(1, rest.size());
      more[i].push_back(rest.substr(first, rest.size() / 3));
      more[i].push_back({});
      more[i].push_back(rest.substr(first + rest.size() / 3));
      split.push_back({p.substr(0, cut), rest.substr(0, first), more[i]});
      continue;
    }
    split.push_back({p.substr(0, cut), p.substr(cut)});
  }
  auto end_whole = whole->Append(views);
  auto end_parts = parts->AppendParts(split);
  ASSERT_TRUE(end_whole.ok() && end_parts.ok());
  EXPECT_EQ(*end_whole, *end_parts);
  // A second, small append continues at the right offset.
  ASSERT_TRUE(whole->Append({"tail"}).ok());
  ASSERT_TRUE(parts->AppendParts({{"ta", "il"}}).ok());
  const auto files = SegmentFiles(oa.dir);
  ASSERT_EQ(files, SegmentFiles(ob.dir));
  ASSERT_EQ(files.size(), 1u);
  const std::string bytes = FileBytes(oa.dir + "/" + files[0]);
  EXPECT_EQ(bytes, FileBytes(ob.dir + "/" + files[0]));
  Records back = ReplayAll(parts.get(), 0);
  ASSERT_EQ(back.size(), payloads.size() + 1);
  for (size_t i = 0; i < payloads.size(); ++i) EXPECT_EQ(back[i].second, payloads[i]);
  EXPECT_EQ(back.back().second, "tail");
}

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(IngestLogFormat, SegmentNamesAreTwentyDigits) {
  EXPECT_EQ(fmt::SegmentFileName(0), "00000000000000000000.wal");
  EXPECT_EQ(fmt::SegmentFileName(1234), "00000000000000001234.wal");
  EXPECT_EQ(fmt::LegacySegmentFileName(1234), "00000000000000001234.log");
  EXPECT_EQ(fmt::FreeFileName(1234), "00000000000000001234.free");
  uint64_t v = 0;
  bool legacy = true;
  ASSERT_TRUE(fmt::ParseSegmentFileName("18446744073709551615.wal", &v, &legacy));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(legacy);
  ASSERT_TRUE(fmt::ParseSegmentFileName("00000000000000000012.log", &v, &legacy));
  EXPECT_EQ(v, 12u);
  EXPECT_TRUE(legacy);
  EXPECT_FALSE(fmt::ParseSegmentFileName("18446744073709551616.wal", &v));
  EXPECT_FALSE(fmt::ParseSegmentFileName("0000000000000000123.wal", &v));
  EXPECT_FALSE(fmt::ParseSegmentFileName("0000000000000000012a.wal", &v));
  EXPECT_FALSE(fmt::ParseSegmentFileName("00000000000000000123.tmp", &v));
  EXPECT_FALSE(fmt::ParseSegmentFileName("00000000000000000123.free", &v));
  ASSERT_TRUE(fmt::ParseFreeFileName("00000000000000000123.free", &v));
  EXPECT_EQ(v, 123u);
  EXPECT_FALSE(fmt::ParseFreeFileName("00000000000000000123.wal", &v));
}

TEST(IngestLogFormat, ChecksumCoversLengthPayloadAndPosition) {
  std::string a;
  fmt::AppendFramed("hello", 100, &a);
  ASSERT_EQ(a.size(), 13u);
  EXPECT_EQ(a.substr(0, 4), std::string("\x05\x00\x00\x00", 4));
  EXPECT_NE(fmt::RecordChecksum("hello"), fmt::RecordChecksum("hellp"));
  EXPECT_NE(fmt::RecordChecksum(""), 0u);  // an all-zero header is never a valid empty record
  EXPECT_NE(fmt::RecordChecksum("", fmt::PositionSeed(0)), 0u);
  EXPECT_NE(fmt::PositionSeed(0), 0u);
  EXPECT_NE(fmt::PositionSeed(1), fmt::PositionSeed(2));
  Status st;
  // A record checks out only at the position it was written for (a segment starting at 100,
  // the record at offset 0), and only in its format.
  EXPECT_TRUE(fmt::ParseRecords(a, {100, false}, nullptr, &st).problem.empty());
  EXPECT_FALSE(fmt::ParseRecords(a, {101, false}, nullptr, &st).problem.empty());
  EXPECT_FALSE(fmt::ParseRecords(a, {100, true}, nullptr, &st).problem.empty());
  std::string legacy;
  fmt::AppendFramedLegacy("hello", &legacy);
  EXPECT_TRUE(fmt::ParseRecords(legacy, {7, true}, nullptr, &st).problem.empty());
  EXPECT_FALSE(fmt::ParseRecords(legacy, {7, false}, nullptr, &st).problem.empty());
  EXPECT_FALSE(fmt::ParseRecords(std::string(8, '\0'), {0, false}, nullptr, &st).problem.empty());
  EXPECT_FALSE(fmt::ParseRecords(std::string(8, '\0'), {0, true}, nullptr, &st).problem.empty());
}

TEST(IngestLog, RoundTrip) {
  ScratchDir dir;
  auto log = OpenLog({.dir = dir.Sub("log")});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->EndPosition(), 0u);
  Records ledger = AppendMany(log.get(), 50);
  // Empty records are records; an empty batch changes nothing.
  auto end = log->Append({std::string_view()});
  ASSERT_TRUE(end.ok());
  ledger.emplace_back(*end, "");
  auto same = log->Append({});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *end);
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
  EXPECT_TRUE(log->Sync().ok());
  EXPECT_EQ(SegmentFiles(dir.Sub("log")), std::vector<std::string>{"00000000000000000000.wal"});
  EXPECT_EQ(fs::file_size(dir.Sub("log/00000000000000000000.wal")), *end);
}

TEST(IngestLog, RestartKeepsPositions) {
  ScratchDir dir;
  IngestLogOptions opts{.dir = dir.path(), .sync_each_append = true};
  Records ledger;
  {
    auto log = OpenLog(opts);
    ledger = AppendMany(log.get(), 10);
  }
  for (int round = 1; round <= 3; ++round) {
    auto log = OpenLog(opts);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->EndPosition(), ledger.back().first);
    EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
    Records more = AppendMany(log.get(), 7, round * 100);
    ledger.insert(ledger.end(), more.begin(), more.end());
  }
}

TEST(IngestLog, ReplayFromEveryRecordBoundary) {
  ScratchDir dir;
  auto log = OpenLog({.dir = dir.path(), .segment_bytes = 200});
  Records ledger = AppendMany(log.get(), 60);
  ASSERT_GT(SegmentFiles(dir.path()).size(), 3u);
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
  for (size_t i = 0; i < ledger.size(); ++i) {
    Records want(ledger.begin() + static_cast<ptrdiff_t>(i) + 1, ledger.end());
    EXPECT_EQ(ReplayAll(log.get(), ledger[i].first), want) << "from record " << i;
  }
  // A position inside a record replays from the next record that starts at or after it.
  Records want(ledger.begin() + 11, ledger.end());
  EXPECT_EQ(ReplayAll(log.get(), ledger[9].first + 1), want);
  EXPECT_TRUE(ReplayAll(log.get(), log->EndPosition() + 100).empty());
}

TEST(IngestLog, ReplayErrorFromCallbackStops) {
  ScratchDir dir;
  auto log = OpenLog({.dir = dir.path()});
  AppendMany(log.get(), 5);
  int calls = 0;
  Status s = log->Replay(0, [&](uint64_t, std::string_view) {
    return ++calls == 2 ? Status::Internal("stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(calls, 2);
}

TEST(IngestLog, SegmentsRollAtSegmentBytes) {
  ScratchDir dir;
  IngestLogOptions opts{.dir = dir.path(), .segment_bytes = 256};
  Records ledger;
  {
    auto log = OpenLog(opts);
    ledger = AppendMany(log.get(), 100, 0, 40);  // 48-byte framed records
  }
  std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_GT(files.size(), 10u);
  uint64_t expect_start = 0;
  for (const std::string& name : files) {
    uint64_t start = 0;
    ASSERT_TRUE(fmt::ParseSegmentFileName(name, &start)) << name;
    EXPECT_EQ(start, expect_start) << "segments are contiguous";
    const uint64_t size = fs::file_size(dir.Sub(name));
    EXPECT_LE(size, 256u) << name;
    EXPECT_GT(size, 0u) << name;
    expect_start = start + size;
  }
  EXPECT_EQ(expect_start, ledger.back().first);
  auto log = OpenLog(opts);
  EXPECT_EQ(log->EndPosition(), ledger.back().first);
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
  // One batch larger than a segment still goes into a single (new) segment.
  std::string big(1000, 'x');
  auto end = log->Append({big});
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(fs::file_size(dir.Sub(fmt::SegmentFileName(ledger.back().first))), 1008u);
}

TEST(IngestLog, TruncateBeforeKeepsNewestSegmentAndPositions) {
  ScratchDir dir;
  IngestLogOptions opts{.dir = dir.path(), .segment_bytes = 256};
  auto log = OpenLog(opts);
  Records ledger = AppendMany(log.get(), 100, 0, 40);
  const size_t files_before = SegmentFiles(dir.path()).size();
  // Truncating at a position inside the third segment deletes exactly the first two.
  std::vector<std::string> files = SegmentFiles(dir.path());
  uint64_t third = 0;
  ASSERT_TRUE(fmt::ParseSegmentFileName(files[2], &third));
  ASSERT_TRUE(log->TruncateBefore(third + 1).ok());
  EXPECT_EQ(SegmentFiles(dir.path()).size(), files_before - 2);
  EXPECT_EQ(SegmentFiles(dir.path()).front(), files[2]);
  // Replay from a mid position after truncation.
  const size_t mid = 60;
  ASSERT_GE(ledger[mid].first, third);
  Records want(ledger.begin() + mid + 1, ledger.end());
  EXPECT_EQ(ReplayAll(log.get(), ledger[mid].first), want);
  // From before the oldest remaining segment: records are missing, replay says so.
  Status s;
  ReplayAll(log.get(), 0, &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  // Everything flushed: only the newest segment stays, and the position survives a restart.
  const uint64_t end = log->EndPosition();
  ASSERT_TRUE(log->TruncateBefore(end).ok());
  EXPECT_EQ(SegmentFiles(dir.path()).size(), 1u);
  log.reset();
  log = OpenLog(opts);
  EXPECT_EQ(log->EndPosition(), end);
  EXPECT_TRUE(ReplayAll(log.get(), end).empty());
  Records more = AppendMany(log.get(), 3, 500);
  EXPECT_EQ(ReplayAll(log.get(), end), more);
}

TEST(IngestLog, MinPositionKeepsPositionsMonotonic) {
  ScratchDir dir;
  {
    auto log = OpenLog({.dir = dir.path(), .min_position = 5000});
    EXPECT_EQ(log->EndPosition(), 5000u);
    Records r = AppendMany(log.get(), 2);
    EXPECT_EQ(ReplayAll(log.get(), 5000), r);
  }
  // A log that ends before the store's flushed position continues at that position.
  auto log = OpenLog({.dir = dir.path(), .min_position = 9000});
  EXPECT_EQ(log->EndPosition(), 9000u);
  Records r = AppendMany(log.get(), 2, 10);
  EXPECT_EQ(ReplayAll(log.get(), 9000), r);
  EXPECT_EQ(SegmentFiles(dir.path()).back(), fmt::SegmentFileName(9000));
}

TEST(IngestLog, TornTailAtEveryByteOfTheLastRecordIsCut) {
  ScratchDir dir;
  const std::string src = dir.Sub("src");
  Records ledger;
  {
    auto log = OpenLog({.dir = src});
    ledger = AppendMany(log.get(), 6);
  }
  const std::string seg = fmt::SegmentFileName(0);
  const uint64_t whole = ledger.back().first;
  const uint64_t last_start = ledger[ledger.size() - 2].first;
  Records kept(ledger.begin(), ledger.end() - 1);
  for (uint64_t cut = last_start; cut < whole; ++cut) {
    const std::string d = dir.Sub("cut" + std::to_string(cut));
    fs::create_directories(d);
    fs::copy_file(src + "/" + seg, d + "/" + seg);
    fs::resize_file(d + "/" + seg, cut);
    MetricsRegistry metrics;
    auto log = OpenLog({.dir = d, .metrics = &metrics});
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->EndPosition(), last_start) << "cut at " << cut;
    EXPECT_EQ(fs::file_size(d + "/" + seg), last_start) << "cut at " << cut;
    const uint64_t torn = metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value();
    EXPECT_EQ(torn, cut == last_start ? 0u : 1u) << "cut at " << cut;
    EXPECT_EQ(ReplayAll(log.get(), 0), kept);
    Records more = AppendMany(log.get(), 1, 99);
    Records all = kept;
    all.insert(all.end(), more.begin(), more.end());
    EXPECT_EQ(ReplayAll(log.get(), 0), all);
    log.reset();
    fs::remove_all(d);
  }
}

TEST(IngestLog, ZeroFilledTailIsCut) {
  ScratchDir dir;
  Records ledger;
  {
    auto log = OpenLog({.dir = dir.path()});
    ledger = AppendMany(log.get(), 4);
  }
  // Some file systems show a crashed extension as zeros.
  fs::resize_file(dir.Sub(fmt::SegmentFileName(0)), ledger.back().first + 4096);
  auto log = OpenLog({.dir = dir.path()});
  EXPECT_EQ(log->EndPosition(), ledger.back().first);
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
}

TEST(IngestLog, CorruptChecksumInLastRecordIsCut) {
  ScratchDir dir;
  Records ledger;
  {
    auto log = OpenLog({.dir = dir.path()});
    ledger = AppendMany(log.get(), 5);
  }
  const uint64_t last_start = ledger[ledger.size() - 2].first;
  // Flip a payload byte, then (separately) the checksum, then the length.
  for (uint64_t at : {last_start + 10, last_start + 5, last_start + 1}) {
    ScratchDir copy;
    fs::copy_file(dir.Sub(fmt::SegmentFileName(0)), copy.Sub(fmt::SegmentFileName(0)));
    FlipByte(copy.Sub(fmt::SegmentFileName(0)), at);
    MetricsRegistry metrics;
    auto log = OpenLog({.dir = copy.path(), .metrics = &metrics});
    EXPECT_EQ(log->EndPosition(), last_start) << "flip at " << at;
    EXPECT_EQ(metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 1u);
    EXPECT_NE(metrics.RenderPrometheus().find("ew_ingest_log_torn_tails_total 1"),
              std::string::npos);
    EXPECT_EQ(ReplayAll(log.get(), 0), Records(ledger.begin(), ledger.end() - 1));
  }
}

TEST(IngestLog, CorruptionInAnOlderSegmentStopsReplay) {
  ScratchDir dir;
  IngestLogOptions opts{.dir = dir.path(), .segment_bytes = 256};
  Records ledger;
  {
    auto log = OpenLog(opts);
    ledger = AppendMany(log.get(), 40, 0, 40);
  }
  std::vector<std::string> files = SegmentFiles(dir.path());
  ASSERT_GT(files.size(), 3u);
  FlipByte(dir.Sub(files[1]), 20);
  MetricsRegistry metrics;
  opts.metrics = &metrics;
  auto log = OpenLog(opts);
  EXPECT_EQ(log->EndPosition(), ledger.back().first) << "only the newest segment is cut";
  Status s;
  Records got = ReplayAll(log.get(), 0, &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  uint64_t second = 0;
  ASSERT_TRUE(fmt::ParseSegmentFileName(files[1], &second));
  ASSERT_FALSE(got.empty());
  EXPECT_LE(got.back().first, second) << "nothing past the corrupt record is delivered";
  EXPECT_EQ(metrics.GetCounter("ew_ingest_log_replay_corruptions_total", "")->Value(), 1u);
  // A missing middle segment is a gap, also reported.
  fs::remove(dir.Sub(files[2]));
  log.reset();
  log = OpenLog(opts);
  uint64_t third = 0;
  ASSERT_TRUE(fmt::ParseSegmentFileName(files[3], &third));
  ReplayAll(log.get(), 0, &s);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  // Replay from past the damage still works.
  EXPECT_EQ(ReplayAll(log.get(), third).size(),
            static_cast<size_t>(std::count_if(ledger.begin(), ledger.end(),
                                              [&](const auto& r) { return r.first > third; })));
}

TEST(IngestLog, WriteFailureLeavesLogAppendable_FileSizeLimit) {
  ScratchDir dir;
  auto log = OpenLog({.dir = dir.path(), .sync_each_append = true});
  Records ledger = AppendMany(log.get(), 5);
  const uint64_t good_end = log->EndPosition();
  // RLIMIT_FSIZE makes the kernel refuse to grow the file (EFBIG) after a partial write.
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = good_end + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  std::string big(500, 'z');
  auto failed = log->Append({"small", big});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kResourceExhausted) << failed.status().ToString();
  EXPECT_EQ(log->EndPosition(), good_end);
  EXPECT_EQ(fs::file_size(dir.Sub(fmt::SegmentFileName(0))), good_end) << "partial write cut";
  Records more = AppendMany(log.get(), 3, 50);
  ledger.insert(ledger.end(), more.begin(), more.end());
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
  log.reset();
  log = OpenLog({.dir = dir.path()});
  EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
}

// A 1 MiB tmpfs: fill it through the log, expect ENOSPC without damage, free space, go on.
class IngestLogTmpfs : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_point_ = dir_.Sub("tmpfs");
    fs::create_directories(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=1m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno) << ")";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  ScratchDir dir_;
  std::string mount_point_;
  bool mounted_ = false;
};

TEST_F(IngestLogTmpfs, DiskFullFailsCleanlyAndRecovers) {
  for (bool sync_each : {false, true}) {
    SCOPED_TRACE(sync_each ? "sync_each_append" : "interval sync");
    const std::string filler = mount_point_ + "/filler";
    ASSERT_TRUE(std::ofstream(filler) << std::string(256 << 10, 'f'));
    IngestLogOptions opts{.dir = mount_point_ + "/log", .sync_each_append = sync_each};
    auto log = OpenLog(opts);
    ASSERT_NE(log, nullptr);
    Records ledger;
    Status failure;
    for (int i = 0; i < 1000 && failure.ok(); ++i) {
      std::string p = Payload(i, 30000);
      auto end = log->Append({p, p.substr(0, 1000)});
      if (!end.ok()) {
        failure = end.status();
        break;
      }
      ledger.emplace_back(*end - 1008, p);
      ledger.emplace_back(*end, p.substr(0, 1000));
    }
    ASSERT_FALSE(failure.ok()) << "the tmpfs never filled up";
    EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure.ToString();
    EXPECT_EQ(log->EndPosition(), ledger.back().first);
    EXPECT_EQ(fs::file_size(opts.dir + "/" + fmt::SegmentFileName(0)), ledger.back().first);
    // Still full: still failing, still clean.
    EXPECT_FALSE(log->Append({std::string(40000, 'q')}).ok());
    EXPECT_EQ(log->EndPosition(), ledger.back().first);
    fs::remove(filler);
    Records more = AppendMany(log.get(), 5, 7000, 20000);
    ledger.insert(ledger.end(), more.begin(), more.end());
    EXPECT_TRUE(log->Sync().ok());
    log.reset();
    log = OpenLog(opts);
    EXPECT_EQ(ReplayAll(log.get(), 0), ledger);
    log.reset();
    fs::remove_all(opts.dir);
  }
}

// Flushed segments are kept (up to 4) and reused when the log rolls: their former bytes stay
// past the new records until overwritten, and never come back as records — not at replay, not
// after a crash (the copy of the directory taken while the log is open), not after a clean
// restart (which finds no tail to cut).
TEST(IngestLog, FlushedSegmentsAreReusedAndTheirFormerBytesNeverReplayed) {
  ScratchDir dir;
  MetricsRegistry metrics;
  IngestLogOptions opts{.dir = dir.Sub("log"), .segment_bytes = 1000, .metrics = &metrics};
  auto log = OpenLog(opts);
  ASSERT_NE(log, nullptr);
  Records first = AppendMany(log.get(), 200, 0, 40);
  ASSERT_GE(SegmentFiles(opts.dir).size(), 6u);
  const uint64_t flushed = log->EndPosition();
  ASSERT_TRUE(log->TruncateBefore(flushed).ok());
  EXPECT_EQ(SegmentFiles(opts.dir).size(), 1u);
  EXPECT_EQ(FreeFiles(opts.dir).size(), 4u) << "at most 4 kept, the others deleted";
  // Enough to roll twice (two free segments reused), then a little: the active segment is a
  // reused one, with its former bytes past the end.
  Records second = AppendMany(log.get(), 25, 1000, 40);  // ~1,350 bytes
  Records tail = AppendMany(log.get(), 3, 2000, 40);
  second.insert(second.end(), tail.begin(), tail.end());
  EXPECT_EQ(FreeFiles(opts.dir).size(), 2u);
  const auto files = SegmentFiles(opts.dir);
  ASSERT_EQ(files.size(), 3u);
  uint64_t active_start = 0;
  ASSERT_TRUE(fmt::ParseSegmentFileName(files.back(), &active_start));
  const uint64_t end = log->EndPosition();
  ASSERT_GT(fs::file_size(opts.dir + "/" + files.back()), end - active_start)
      << "the active segment is a reused file";
  EXPECT_EQ(ReplayAll(log.get(), flushed), second);
  // A crash now: the copy has the reused segment's former bytes after the last record. They are
  // removed and said to be what they are, at info level — not a torn tail, not damage.
  ScratchDir crashed;
  fs::copy(opts.dir, crashed.Sub("log"));
  EXPECT_TRUE(fs::exists(crashed.Sub("log/" + fmt::ReusedMarkerName(active_start))));
  {
    MetricsRegistry m2;
    ::testing::internal::CaptureStderr();
    auto copy = OpenLog({.dir = crashed.Sub("log"), .segment_bytes = 1000, .metrics = &m2});
    const std::string said = ::testing::internal::GetCapturedStderr();
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->EndPosition(), end);
    EXPECT_EQ(ReplayAll(copy.get(), flushed), second);
    EXPECT_EQ(m2.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 0u);
    EXPECT_EQ(m2.GetCounter("ew_ingest_log_reused_tails_total", "")->Value(), 1u);
    EXPECT_NE(said.find("INFO  ingest log: "), std::string::npos) << said;
    EXPECT_NE(said.find("is a reused segment file"), std::string::npos) << said;
    EXPECT_EQ(said.find("WARN"), std::string::npos) << said;
  }
  // A clean close cuts them and drops the marker: the restart cuts nothing and replays the same
  // records.
  log.reset();
  EXPECT_EQ(fs::file_size(opts.dir + "/" + files.back()), end - active_start);
  EXPECT_FALSE(fs::exists(opts.dir + "/" + fmt::ReusedMarkerName(active_start)));
  log = OpenLog(opts);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 0u);
  EXPECT_EQ(log->EndPosition(), end);
  EXPECT_EQ(ReplayAll(log.get(), flushed), second);
  Records more = AppendMany(log.get(), 40, 3000, 40);
  second.insert(second.end(), more.begin(), more.end());
  EXPECT_EQ(ReplayAll(log.get(), flushed), second);
}

// Damage is told from the end of the written records: a record that fails its check while the
// record after it checks out is a warning (acknowledged records after it are cut), also in a
// reused segment file; the end of a fresh segment torn by a crash is a warning as before.
TEST(IngestLog, DamageInTheMiddleOfValidRecordsIsAWarningEvenInAReusedSegment) {
  ScratchDir dir;
  IngestLogOptions opts{.dir = dir.Sub("log"), .segment_bytes = 1000};
  auto log = OpenLog(opts);
  ASSERT_NE(log, nullptr);
  AppendMany(log.get(), 200, 0, 40);
  ASSERT_TRUE(log->TruncateBefore(log->EndPosition()).ok());
  const uint64_t flushed = log->EndPosition();
  Records second = AppendMany(log.get(), 25, 1000, 40);  // rolls into reused files
  const auto files = SegmentFiles(opts.dir);
  uint64_t active_start = 0;
  ASSERT_TRUE(fmt::ParseSegmentFileName(files.back(), &active_start));
  ASSERT_TRUE(fs::exists(opts.dir + "/" + fmt::ReusedMarkerName(active_start)));
  std::vector<uint64_t> starts;  // record starts in the active segment
  uint64_t at = flushed;
  for (const auto& [end, payload] : second) {
    if (at >= active_start) starts.push_back(at - active_start);
    at = end;
  }
  ASSERT_GE(starts.size(), 3u);
  struct Case {
    const char* name;
    bool reused;
  };
  for (const Case c : {Case{"reused", true}, Case{"fresh", false}}) {
    SCOPED_TRACE(c.name);
    ScratchDir crashed;
    fs::copy(opts.dir, crashed.Sub("log"));
    const std::string seg = crashed.Sub("log/" + files.back());
    if (!c.reused) fs::remove(crashed.Sub("log/" + fmt::ReusedMarkerName(active_start)));
    FlipByte(seg, starts[1] + fmt::kHeaderBytes + 3);  // a payload byte of the second record
    MetricsRegistry metrics;
    ::testing::internal::CaptureStderr();
    auto copy = OpenLog({.dir = crashed.Sub("log"), .segment_bytes = 1000, .metrics = &metrics});
    const std::string said = ::testing::internal::GetCapturedStderr();
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->EndPosition(), active_start + starts[1]);
    EXPECT_EQ(metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 1u);
    EXPECT_EQ(metrics.GetCounter("ew_ingest_log_reused_tails_total", "")->Value(), 0u);
    EXPECT_NE(said.find("WARN  ingest log: damaged record in "), std::string::npos) << said;
    EXPECT_NE(said.find("a valid record follows it"), std::string::npos) << said;
  }
  // A fresh segment whose last record is torn: a warning about a torn write.
  ScratchDir fresh;
  Records ledger;
  {
    auto small = OpenLog({.dir = fresh.path()});
    ledger = AppendMany(small.get(), 5);
  }
  fs::resize_file(fresh.Sub(fmt::SegmentFileName(0)), ledger.back().first - 3);
  MetricsRegistry metrics;
  ::testing::internal::CaptureStderr();
  auto reopened = OpenLog({.dir = fresh.path(), .metrics = &metrics});
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 1u);
  EXPECT_NE(said.find("WARN  ingest log: cutting the tail of "), std::string::npos) << said;
  EXPECT_NE(said.find("a torn write"), std::string::npos) << said;
}

// Segments of the first format (checksums without positions, ".log") are still replayed after
// an upgrade; appends continue in a current segment where they end, and truncation deletes them.
TEST(IngestLog, LegacySegmentsAreReplayedAndAppendsContinueInANewSegment) {
  ScratchDir dir;
  const std::string log_dir = dir.Sub("log");
  fs::create_directories(log_dir);
  Records ledger;
  std::string bytes;
  for (int i = 0; i < 20; ++i) {
    fmt::AppendFramedLegacy(Payload(i), &bytes);
    ledger.emplace_back(500 + bytes.size(), Payload(i));
  }
  {
    std::ofstream out(log_dir + "/" + fmt::LegacySegmentFileName(500), std::ios::binary);
    out << bytes;
  }
  MetricsRegistry metrics;
  IngestLogOptions opts{.dir = log_dir, .metrics = &metrics};
  auto log = OpenLog(opts);
  ASSERT_NE(log, nullptr);
  const uint64_t legacy_end = 500 + bytes.size();
  EXPECT_EQ(log->EndPosition(), legacy_end);
  EXPECT_EQ(ReplayAll(log.get(), 500), ledger);
  Records more = AppendMany(log.get(), 10, 100);
  ledger.insert(ledger.end(), more.begin(), more.end());
  EXPECT_EQ(SegmentFiles(log_dir), (std::vector<std::string>{fmt::LegacySegmentFileName(500),
                                                             fmt::SegmentFileName(legacy_end)}));
  EXPECT_EQ(ReplayAll(log.get(), 500), ledger);
  log.reset();
  log = OpenLog(opts);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(ReplayAll(log.get(), 500), ledger);
  EXPECT_EQ(metrics.GetCounter("ew_ingest_log_torn_tails_total", "")->Value(), 0u);
  ASSERT_TRUE(log->TruncateBefore(log->EndPosition()).ok());
  EXPECT_EQ(SegmentFiles(log_dir), std::vector<std::string>{fmt::SegmentFileName(legacy_end)});
  EXPECT_TRUE(FreeFiles(log_dir).empty()) << "a legacy segment is never reused";
}

// An empty legacy newest segment is replaced by a current one under the same start.
TEST(IngestLog, EmptyLegacySegmentBecomesACurrentOne) {
  ScratchDir dir;
  const std::string log_dir = dir.Sub("log");
  fs::create_directories(log_dir);
  { std::ofstream out(log_dir + "/" + fmt::LegacySegmentFileName(700)); }
  auto log = OpenLog({.dir = log_dir});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->EndPosition(), 700u);
  EXPECT_EQ(SegmentFiles(log_dir), std::vector<std::string>{fmt::SegmentFileName(700)});
  Records ledger = AppendMany(log.get(), 5);
  log.reset();
  log = OpenLog({.dir = log_dir});
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(ReplayAll(log.get(), 700), ledger);
}

}  // namespace
}  // namespace ew::storage
