// IngestLog implementation: segment files of framed records (docs/format/ingest-log.md).
#include "storage/ingest_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "base/log.h"
#include "base/mutex.h"
#include "storage/ingest_log_format.h"

namespace ew::storage {
namespace {

// Append's framing buffer is kept between appends up to this size (a burst's group of
// requests can be MiBs; it is released after such an append).
constexpr size_t kMaxKeptScratch = size_t{1} << 20;
// Flushed segments kept for reuse, at most (docs/format/ingest-log.md, "Truncation").
constexpr size_t kMaxFreeSegments = 4;

namespace fmt = ingest_log_format;

std::string ErrnoText(int err) { return std::strerror(err); }

// ENOSPC and its relatives are "full", everything else an I/O error.
Status WriteError(std::string_view what, const std::string& path, int err) {
  std::string m = std::string(what) + " " + path + ": " + ErrnoText(err);
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) return Status::ResourceExhausted(m);
  return Status::IOError(m);
}

// Closes the descriptor it holds.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// A read-only mapping of a whole file (empty files map to an empty view).
class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Status::IOError("open " + path + ": " + ErrnoText(errno));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0)
      return Status::IOError("stat " + path + ": " + ErrnoText(errno));
    auto m = std::unique_ptr<MappedFile>(new MappedFile());
    m->size_ = static_cast<size_t>(st.st_size);
    if (m->size_ == 0) return m;
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return Status::IOError("mmap " + path + ": " + ErrnoText(errno));
    m->data_ = static_cast<const char*>(p);
    return m;
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  }
  std::string_view view() const { return {data_ == nullptr ? "" : data_, size_}; }

 private:
  MappedFile() = default;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return Status::IOError("open dir " + dir + ": " + ErrnoText(errno));
  if (::fsync(fd.get()) != 0) return WriteError("fsync dir", dir, errno);
  return Status::Ok();
}

// One segment file: its start position and its format.
struct Segment {
  uint64_t start = 0;
  bool legacy = false;  // checksums without the position (".log"); read, never written
  bool operator<(const Segment& o) const { return start < o.start; }
};

struct Listing {
  std::vector<Segment> segments;  // ascending
  std::vector<uint64_t> free;     // the old starts of segments kept for reuse
  std::vector<uint64_t> reused;   // the starts named by reused-segment markers
};

Result<Listing> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::IOError("opendir " + dir + ": " + ErrnoText(errno));
  Listing out;
  while (struct dirent* e = ::readdir(d)) {
    Segment seg;
    uint64_t free_start = 0;
    if (fmt::ParseSegmentFileName(e->d_name, &seg.start, &seg.legacy)) {
      out.segments.push_back(seg);
    } else if (fmt::ParseFreeFileName(e->d_name, &free_start)) {
      out.free.push_back(free_start);
    } else if (fmt::ParseReusedMarkerName(e->d_name, &free_start)) {
      out.reused.push_back(free_start);
    }
  }
  ::closedir(d);
  std::sort(out.segments.begin(), out.segments.end());
  return out;
}

// Writes all of the buffers at offset with pwritev (at most IOV_MAX at a time), continuing after
// short writes; returns 0 or the errno. The iovecs are consumed (advanced) as they are written.
int PwritevAll(int fd, std::vector<struct iovec>& iov, uint64_t offset) {
  size_t first = 0;
  while (first < iov.size()) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    const ssize_t n = ::pwritev(fd, &iov[first], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    offset += static_cast<uint64_t>(n);
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      struct iovec& v = iov[first];
      const size_t take = std::min(left, v.iov_len);
      v.iov_base = static_cast<char*>(v.iov_base) + take;
      v.iov_len -= take;
      left -= take;
      if (v.iov_len == 0) ++first;
    }
  }
  return 0;
}

class IngestLogImpl final : public IngestLog {
 public:
  explicit IngestLogImpl(const IngestLogOptions& options) : options_(options) {
    if (options_.metrics != nullptr) {
      torn_tails_ = options_.metrics->GetCounter(
          "ew_ingest_log_torn_tails_total",
          "Torn or corrupt tails cut off the ingest log when it was opened");
      reused_tails_ = options_.metrics->GetCounter(
          "ew_ingest_log_reused_tails_total",
          "Former contents of a reused segment file removed past its records at open");
      replay_corruptions_ =
          options_.metrics->GetCounter("ew_ingest_log_replay_corruptions_total",
                                       "Corrupt records or gaps that stopped an ingest log replay");
      append_errors_ = options_.metrics->GetCounter(
          "ew_ingest_log_append_errors_total", "Ingest log appends that failed (nothing acked)");
    }
  }

  // A reused segment holds its former bytes past the records of this one: they are cut here, so
  // that a clean restart finds no tail to cut (after a crash Open cuts them: they never check
  // out as records of this segment).
  ~IngestLogImpl() override {
    struct stat st;
    if (fd_.get() >= 0 && ::fstat(fd_.get(), &st) == 0 &&
        static_cast<uint64_t>(st.st_size) > active_size_) {
      if (::ftruncate(fd_.get(), static_cast<off_t>(active_size_)) == 0) ::fdatasync(fd_.get());
    }
    // Nothing of its former contents is left: what a later crash leaves past its records is a
    // torn write.
    if (fd_.get() >= 0) ::unlink(MarkerPathOf(active_start_).c_str());
  }

  Status Init();

  Result<uint64_t> Append(const std::vector<std::string_view>& records) override;
  Result<uint64_t> AppendParts(const std::vector<RecordParts>& records) override;
  Status Sync() override;
  Status Replay(uint64_t from,
                const std::function<Status(uint64_t end, std::string_view record)>& fn) override;
  Status TruncateBefore(uint64_t position) override;
  uint64_t EndPosition() const override { return end_.load(std::memory_order_acquire); }

 private:
  std::string PathOf(uint64_t start) const {
    return options_.dir + "/" + fmt::SegmentFileName(start);
  }
  std::string PathOf(const Segment& seg) const {
    return options_.dir + "/" +
           (seg.legacy ? fmt::LegacySegmentFileName(seg.start) : fmt::SegmentFileName(seg.start));
  }
  std::string MarkerPathOf(uint64_t start) const {
    return options_.dir + "/" + fmt::ReusedMarkerName(start);
  }
  std::string FreePathOf(uint64_t start) const {
    return options_.dir + "/" + fmt::FreeFileName(start);
  }
  Status OpenActive(const Segment& seg, uint64_t size);
  Status CutTornTail(const Segment& seg);
  void ReportCut(const std::string& path, const Segment& seg, const fmt::ParseOutcome& outcome,
                 uint64_t file_size, bool damage);
  Status StartSegment(uint64_t start);
  // Opens a free segment renamed to `path` (the former bytes stay until overwritten), or returns
  // an invalid Fd when none is left or the rename fails.
  Fd ReuseFreeSegment(const std::string& path);
  Status FailAppend(Status s);
  Status ReplaySegment(const Segment& seg, uint64_t limit, uint64_t from,
                       const std::function<Status(uint64_t, std::string_view)>& fn,
                       uint64_t* valid_end);
  Status ReportCorruption(std::string message) {
    if (replay_corruptions_ != nullptr) replay_corruptions_->Add();
    EW_LOG(kError) << "ingest log: " << message;
    return Status::Corruption("ingest log: " + message);
  }

  const IngestLogOptions options_;
  Counter* torn_tails_ = nullptr;
  Counter* reused_tails_ = nullptr;
  Counter* replay_corruptions_ = nullptr;
  Counter* append_errors_ = nullptr;

  // Writer state: Append/Sync (serialized by the caller), and Open before the log is shared.
  Fd fd_;                           // the active (newest) segment
  uint64_t active_start_ = 0;       // its start position
  uint64_t active_size_ = 0;        // bytes of whole records in it
  bool needs_repair_ = false;       // a failed append left bytes past active_size_
  std::string scratch_;             // the record headers of one Append
  std::vector<struct iovec> iov_;   // headers and payload pieces of one Append
  std::vector<RecordParts> parts_;  // Append's records as parts

  // Release-stored after the bytes are written, so a reader that sees a position also sees the
  // segment list that holds it.
  std::atomic<uint64_t> end_{0};

  mutable Mutex mu_;
  std::vector<Segment> segments_ GUARDED_BY(mu_);  // ascending
  std::vector<uint64_t> free_ GUARDED_BY(mu_);     // segments kept for reuse (old starts)
};

Status IngestLogImpl::OpenActive(const Segment& seg, uint64_t size) {
  const std::string path = PathOf(seg);
  const uint64_t start = seg.start;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0) return WriteError("open", path, errno);
  fd_ = std::move(fd);
  active_start_ = start;
  active_size_ = size;
  end_.store(start + size, std::memory_order_release);
  return Status::Ok();
}

// Says why the newest segment is cut where its valid records end: damage in the middle of valid
// records (a warning), the former contents of a reused file (info: nothing written by this
// segment is lost), or a torn write (a warning, as the cause is not known for sure).
void IngestLogImpl::ReportCut(const std::string& path, const Segment& seg,
                              const fmt::ParseOutcome& outcome, uint64_t file_size, bool damage) {
  const uint64_t dropped = file_size - outcome.valid_end;
  const uint64_t position = seg.start + outcome.valid_end;
  if (damage) {
    EW_LOG(kWarn) << "ingest log: damaged record in " << path << " at byte " << outcome.valid_end
                  << " (position " << position << "): " << outcome.problem
                  << ", and a valid record follows it; cutting there drops " << dropped
                  << " bytes, records that were acknowledged among them";
    if (torn_tails_ != nullptr) torn_tails_->Add();
    return;
  }
  struct stat st;
  if (!seg.legacy && ::stat(MarkerPathOf(seg.start).c_str(), &st) == 0) {
    EW_LOG(kInfo) << "ingest log: " << path << " is a reused segment file; its records end at byte "
                  << outcome.valid_end << " (position " << position << "), the " << dropped
                  << " bytes after them are its former contents (they never check out as "
                     "records here) and are removed; nothing is lost";
    if (reused_tails_ != nullptr) reused_tails_->Add();
    return;
  }
  EW_LOG(kWarn) << "ingest log: cutting the tail of " << path << " at byte " << outcome.valid_end
                << " (position " << position << "): " << outcome.problem << "; " << dropped
                << " bytes dropped (a torn write: a batch that was never acknowledged)";
  if (torn_tails_ != nullptr) torn_tails_->Add();
}

// Scans the newest segment and cuts whatever follows its last whole, valid record. A legacy
// newest segment is not appended to: a current one is started where it ends.
Status IngestLogImpl::CutTornTail(const Segment& seg) {
  const std::string path = PathOf(seg);
  uint64_t file_size = 0;
  fmt::ParseOutcome outcome;
  bool damage = false;
  {
    EW_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
    file_size = mapped->view().size();
    Status unused;
    outcome = fmt::ParseRecords(mapped->view(), {seg.start, seg.legacy}, nullptr, &unused);
    damage = !outcome.problem.empty() &&
             fmt::ValidRecordFollows(mapped->view(), outcome.valid_end, {seg.start, seg.legacy});
  }
  const uint64_t start = seg.start;
  if (outcome.problem.empty()) {
    EW_RETURN_IF_ERROR(OpenActive(seg, file_size));
  } else {
    ReportCut(path, seg, outcome, file_size, damage);
    EW_RETURN_IF_ERROR(OpenActive(seg, outcome.valid_end));
    if (::ftruncate(fd_.get(), static_cast<off_t>(outcome.valid_end)) != 0) {
      return WriteError("truncate", path, errno);
    }
    if (::fdatasync(fd_.get()) != 0) return WriteError("fdatasync", path, errno);
  }
  if (!seg.legacy) return Status::Ok();
  if (active_size_ == 0) {
    // Empty: replaced by a current segment under the same start (which then carries the end).
    fd_.Reset();
    if (::unlink(path.c_str()) != 0) return WriteError("unlink", path, errno);
    {
      MutexLock lock(&mu_);
      segments_.pop_back();
    }
    return StartSegment(start);
  }
  if (::fdatasync(fd_.get()) != 0) return WriteError("fdatasync", path, errno);
  return StartSegment(start + active_size_);
}

Fd IngestLogImpl::ReuseFreeSegment(const std::string& path) {
  uint64_t old_start = 0;
  {
    MutexLock lock(&mu_);
    if (free_.empty()) return Fd();
    old_start = free_.back();
    free_.pop_back();
  }
  const std::string from = FreePathOf(old_start);
  if (::rename(from.c_str(), path.c_str()) != 0) {
    EW_LOG(kWarn) << "ingest log: reusing " << from << ": " << ErrnoText(errno);
    ::unlink(from.c_str());
    return Fd();
  }
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) ::unlink(path.c_str());  // created afresh by the caller
  return fd;
}

// Makes the segment file starting at `start` the active one: a free segment renamed (its pages
// are likely still cached, and overwriting them costs ~40 % of appending to a new file), else a
// new empty file.
Status IngestLogImpl::StartSegment(uint64_t start) {
  const std::string path = PathOf(start);
  Fd fd = ReuseFreeSegment(path);
  const std::string marker = MarkerPathOf(start);
  if (fd.get() >= 0) {
    // Marks the file as reused, so that after a crash its former bytes past the new records are
    // told from a torn write (made durable by the directory sync below). Best effort: without
    // the marker they are cut all the same, only reported as a torn tail.
    Fd m(::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  } else {
    ::unlink(marker.c_str());
    fd = Fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  }
  if (fd.get() < 0) return WriteError("create", path, errno);
  Status s = SyncDir(options_.dir);
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  fd_ = std::move(fd);
  active_start_ = start;
  active_size_ = 0;
  needs_repair_ = false;
  {
    MutexLock lock(&mu_);
    if (segments_.empty() || segments_.back().start != start) segments_.push_back({start, false});
  }
  end_.store(start, std::memory_order_release);
  return Status::Ok();
}

Status IngestLogImpl::Init() {
  std::error_code ec;
  std::filesystem::create_directories(options_.dir, ec);
  if (ec) return Status::IOError("creating " + options_.dir + ": " + ec.message());
  EW_ASSIGN_OR_RETURN(Listing listing, ListSegments(options_.dir));
  while (listing.free.size() > kMaxFreeSegments) {
    ::unlink(FreePathOf(listing.free.back()).c_str());
    listing.free.pop_back();
  }
  {
    MutexLock lock(&mu_);
    segments_ = listing.segments;
    free_ = listing.free;
  }
  for (uint64_t start : listing.reused) {  // markers whose segment is gone (a crash between)
    bool found = false;
    for (const Segment& seg : listing.segments) found = found || seg.start == start;
    if (!found) ::unlink(MarkerPathOf(start).c_str());
  }
  if (listing.segments.empty()) return StartSegment(options_.min_position);
  EW_RETURN_IF_ERROR(CutTornTail(listing.segments.back()));
  const uint64_t end = EndPosition();
  if (end < options_.min_position) {
    EW_LOG(kWarn) << "ingest log: ends at position " << end << ", before the flushed position "
                  << options_.min_position << "; continuing at the flushed position";
    EW_RETURN_IF_ERROR(StartSegment(options_.min_position));
  }
  return Status::Ok();
}

// Cuts what a failed append may have left behind; the log stays appendable at active_size_.
Status IngestLogImpl::FailAppend(Status s) {
  if (append_errors_ != nullptr) append_errors_->Add();
  if (::ftruncate(fd_.get(), static_cast<off_t>(active_size_)) != 0) needs_repair_ = true;
  EW_LOG(kWarn) << "ingest log: append failed: " << s.message();
  return s;
}

Result<uint64_t> IngestLogImpl::Append(const std::vector<std::string_view>& records) {
  parts_.clear();
  for (std::string_view r : records) parts_.push_back({r, {}});
  return AppendParts(parts_);
}

Result<uint64_t> IngestLogImpl::AppendParts(const std::vector<RecordParts>& records) {
  uint64_t total = 0;
  size_t pieces = 0;
  for (const RecordParts& r : records) {
    uint64_t size = r.head.size() + r.body.size();
    for (std::string_view p : r.more) size += p.size();
    pieces += 3 + r.more.size();
    if (size > fmt::kMaxRecordBytes) {
      return Status::InvalidArgument("ingest log record of " + std::to_string(size) +
                                     " bytes is over the limit");
    }
    total += fmt::kHeaderBytes + size;
  }
  if (total == 0) return EndPosition();
  if (needs_repair_) {
    if (::ftruncate(fd_.get(), static_cast<off_t>(active_size_)) != 0) {
      return FailAppend(WriteError("truncate", PathOf(active_start_), errno));
    }
    needs_repair_ = false;
  }
  if (active_size_ > 0 && active_size_ + total > options_.segment_bytes) {
    // The old segment is made durable before the log moves on; Sync() only covers the newest.
    if (::fdatasync(fd_.get()) != 0) {
      return FailAppend(WriteError("fdatasync", PathOf(active_start_), errno));
    }
    Status s = StartSegment(active_start_ + active_size_);
    if (!s.ok()) return FailAppend(s);
  }
  // Headers go into scratch_ (sized first: the iovecs point into it); the payload pieces are
  // written from the caller's memory.
  scratch_.resize(records.size() * fmt::kHeaderBytes);
  iov_.clear();
  iov_.reserve(pieces);
  uint64_t position = active_start_ + active_size_;
  for (size_t i = 0; i < records.size(); ++i) {
    char* header = scratch_.data() + i * fmt::kHeaderBytes;
    fmt::FrameHeader(records[i].head, records[i].body, header, records[i].more,
                     fmt::PositionSeed(position));
    position += fmt::kHeaderBytes + records[i].head.size() + records[i].body.size();
    for (std::string_view p : records[i].more) position += p.size();
    iov_.push_back({header, fmt::kHeaderBytes});
    for (std::string_view piece : {records[i].head, records[i].body}) {
      if (!piece.empty()) iov_.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
    for (std::string_view piece : records[i].more) {
      if (!piece.empty()) iov_.push_back({const_cast<char*>(piece.data()), piece.size()});
    }
  }
  if (int err = PwritevAll(fd_.get(), iov_, active_size_); err != 0) {
    return FailAppend(WriteError("write", PathOf(active_start_), err));
  }
  if (options_.sync_each_append && ::fdatasync(fd_.get()) != 0) {
    return FailAppend(WriteError("fdatasync", PathOf(active_start_), errno));
  }
  active_size_ += total;
  // A burst's group can be MiBs; keep only a small buffer between appends (RSS).
  if (scratch_.capacity() > kMaxKeptScratch) std::string().swap(scratch_);
  if (iov_.capacity() > kMaxKeptScratch / sizeof(struct iovec))
    std::vector<struct iovec>().swap(iov_);
  const uint64_t end = active_start_ + active_size_;
  end_.store(end, std::memory_order_release);
  return end;
}

Status IngestLogImpl::Sync() {
  if (::fdatasync(fd_.get()) != 0) return WriteError("fdatasync", PathOf(active_start_), errno);
  return Status::Ok();
}

// Replays the records of one segment (at most `limit` bytes of it) that start at or after
// `from`; *valid_end is the segment offset where its whole records end.
Status IngestLogImpl::ReplaySegment(const Segment& seg, uint64_t limit, uint64_t from,
                                    const std::function<Status(uint64_t, std::string_view)>& fn,
                                    uint64_t* valid_end) {
  const std::string path = PathOf(seg);
  const uint64_t start = seg.start;
  EW_ASSIGN_OR_RETURN(auto mapped, MappedFile::Open(path));
  std::string_view data = mapped->view();
  if (data.size() > limit) data = data.substr(0, limit);
  Status fn_status;
  fmt::ParseOutcome outcome = fmt::ParseRecords(
      data, {seg.start, seg.legacy},
      [&](uint64_t off, uint64_t end, std::string_view payload) -> Status {
        if (start + off < from) return Status::Ok();
        return fn(start + end, payload);
      },
      &fn_status);
  EW_RETURN_IF_ERROR(fn_status);
  *valid_end = outcome.valid_end;
  if (!outcome.problem.empty()) {
    return ReportCorruption("replay stopped in " + path + " at position " +
                            std::to_string(start + outcome.valid_end) + ": " + outcome.problem);
  }
  return Status::Ok();
}

Status IngestLogImpl::Replay(
    uint64_t from, const std::function<Status(uint64_t end, std::string_view record)>& fn) {
  std::vector<Segment> segments;
  {
    MutexLock lock(&mu_);
    segments = segments_;
  }
  const uint64_t log_end = EndPosition();
  if (segments.empty() || from >= log_end) {
    if (from > log_end) {
      EW_LOG(kWarn) << "ingest log: replay from " << from << " is past the log end " << log_end;
    }
    return Status::Ok();
  }
  if (from < segments.front().start) {
    return ReportCorruption("replay from position " + std::to_string(from) +
                            " but the oldest segment starts at " +
                            std::to_string(segments.front().start) + " (records are missing)");
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t seg_start = segments[i].start;
    const bool last = i + 1 == segments.size();
    const uint64_t seg_end = last ? log_end : segments[i + 1].start;
    if (seg_end <= from) continue;  // wholly before from (the last segment never is)
    uint64_t valid_end = 0;
    EW_RETURN_IF_ERROR(ReplaySegment(segments[i], seg_end - seg_start, from, fn, &valid_end));
    if (seg_start + valid_end != seg_end) {
      return ReportCorruption("segment " + PathOf(segments[i]) + " ends at position " +
                              std::to_string(seg_start + valid_end) + " but the next starts at " +
                              std::to_string(seg_end));
    }
  }
  return Status::Ok();
}

Status IngestLogImpl::TruncateBefore(uint64_t position) {
  MutexLock lock(&mu_);
  size_t removed = 0;
  // The newest segment always stays: its name carries the log's end across restarts. Up to
  // kMaxFreeSegments flushed ones are kept for reuse (renamed, so no listing takes them for
  // segments), the others deleted.
  while (removed + 1 < segments_.size() && segments_[removed + 1].start <= position) {
    const Segment& seg = segments_[removed];
    const std::string path = PathOf(seg);
    ::unlink(MarkerPathOf(seg.start).c_str());
    if (!seg.legacy && free_.size() < kMaxFreeSegments) {
      if (::rename(path.c_str(), FreePathOf(seg.start).c_str()) == 0) {
        free_.push_back(seg.start);
        ++removed;
        continue;
      }
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      const int err = errno;
      segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
      return Status::IOError("unlink " + path + ": " + ErrnoText(err));
    }
    ++removed;
  }
  segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(removed));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<IngestLog>> IngestLog::Open(const IngestLogOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("ingest log: no directory given");
  if (options.segment_bytes == 0) return Status::InvalidArgument("ingest log: segment_bytes 0");
  auto log = std::make_unique<IngestLogImpl>(options);
  Status s = log->Init();
  if (!s.ok()) return s.WithContext("opening ingest log " + options.dir);
  return std::unique_ptr<IngestLog>(std::move(log));
}

}  // namespace ew::storage
