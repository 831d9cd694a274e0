// EdgeStore: day blocks — aggregates of the edge family's day tier over aligned power-of-two
// ranges of closed days, so a map over D days reads at most ~2 log2(D) records per edge
// (docs/format/storage.md "Day blocks"). Building (CloseDays, on the flush thread between
// flushes), late operands of a flush into closed blocks, and the scan that reads them.
#include <rocksdb/iterator.h>
#include <rocksdb/snapshot.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "base/log.h"
#include "base/time.h"
#include "storage/coding.h"
#include "storage/edge_store_impl.h"
#include "storage/keys.h"
#include "storage/record_codec.h"
#include "storage/tier_scan.h"

namespace ew::storage {
namespace {

constexpr char kMetaDayBlocks[] = "day_blocks";
// Day d is closed once a flush carried a minute of day d + kCloseAfterDays (and the clock is
// there too): late data after that still arrives, as merge operands into the closed blocks.
constexpr int64_t kCloseAfterDays = 2;
constexpr size_t kBuildBatchBytes = 4 << 20;
// A scan uses blocks only when at least this many of its days are closed: over fewer, a few day
// records per edge cost less than the extra seeks and table blocks of edge_blk (a 7-day map was
// ~1.4x slower with blocks, benchmarks/RESULTS.md).
constexpr int64_t kMinBlockScanDays = 16;

rocksdb::Slice ToSlice(const std::string& s) { return {s.data(), s.size()}; }

bool SameNode(const rocksdb::Slice& key, const std::string& node) {
  return key.size() >= keys::kNodePrefixSize && node.size() == keys::kNodePrefixSize &&
         std::memcmp(key.data(), node.data(), keys::kNodePrefixSize) == 0;
}

// The block record of a (merged) day or block record: its one entry, no busiest minute.
Status BlockValueOf(std::string_view merged, RecordView* view, std::string* out) {
  EW_RETURN_IF_ERROR(ParseRecord(merged, LimitsOf(Tier::kDay), view));
  if (view->entries.size() != 1 || view->entries[0].offset != 0) {
    return Status::Corruption("day blocks: a child record is not one entry at offset 0");
  }
  EncodeRecord(view->entries, PeakForm::kNone, {}, 0, 0, out);
  return Status::Ok();
}

// Collects the children of one level's blocks, node by node and block by block (the source is
// read in key order: per node by time), and Puts each block once its children are all seen.
class LevelWriter {
 public:
  LevelWriter(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, int level)
      : db_(db), cf_(cf), level_(level) {}

  Status Add(const rocksdb::Slice& key, uint32_t block_start, const rocksdb::Slice& value) {
    if (!SameNode(key, node_) || block_start != block_) {
      EW_RETURN_IF_ERROR(Emit());
      node_.assign(key.data(), keys::kNodePrefixSize);
      block_ = block_start;
    }
    acc_[std::string(key.data() + keys::kTimeOffset + 4, keys::kEdgeKeySize - 16)].emplace_back(
        value.data(), value.size());
    return Status::Ok();
  }

  Status Finish() {
    EW_RETURN_IF_ERROR(Emit());
    return Write();
  }

 private:
  Status Emit() {
    for (const auto& [suffix, children] : acc_) {
      std::string_view merged = children[0];
      if (children.size() > 1) {
        inputs_.assign(children.begin(), children.end());
        EW_RETURN_IF_ERROR(merger_.Merge(inputs_, LimitsOf(Tier::kDay), &merged_));
        merged = merged_;
      }
      EW_RETURN_IF_ERROR(BlockValueOf(merged, &view_, &value_).WithContext("day blocks"));
      key_.assign(node_);
      key_.resize(keys::kNodePrefixSize + 4);
      coding::PutBE32(key_.data() + keys::kTimeOffset, keys::BlockTime(level_, block_));
      key_.append(suffix);
      wb_.Put(cf_, key_, value_).PermitUncheckedError();
      if (wb_.GetDataSize() >= kBuildBatchBytes) EW_RETURN_IF_ERROR(Write());
    }
    acc_.clear();
    return Status::Ok();
  }

  Status Write() {
    if (wb_.Count() == 0) return Status::Ok();
    rocksdb::Status s = db_->Write(rocksdb::WriteOptions(), &wb_);
    wb_.Clear();
    return FromRocks(s, "writing day blocks");
  }

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  int level_;
  std::string node_;
  uint32_t block_ = 0;
  std::map<std::string, std::vector<std::string>> acc_;  // peer|protocol -> child records
  std::vector<std::string_view> inputs_;
  RecordMerger merger_;
  RecordView view_;
  std::string merged_, value_, key_;
  rocksdb::WriteBatch wb_;
};

}  // namespace

int64_t EdgeStoreImpl::NowMs() const {
  return options_.fixed_now_ms != 0 ? options_.fixed_now_ms : WallNowMs();
}

int64_t EdgeStoreImpl::DayHorizon() const {
  return FloorDiv(NowMs() - options_.retention_ms[2], kMsPerDay);
}

Status EdgeStoreImpl::ReadDayBlocks(const rocksdb::ReadOptions& ro, int64_t* closed,
                                    int64_t* first) const {
  *closed = -1;
  *first = 0;
  std::string v;
  rocksdb::Status s = db_->Get(ro, handles_[kCfMeta], kMetaDayBlocks, &v);
  if (s.IsNotFound()) return Status::Ok();
  if (!s.ok()) return FromRocks(s, "reading meta/day_blocks");
  if (v.size() != 16) return Status::Corruption("storage: malformed meta/day_blocks");
  *closed = static_cast<int64_t>(coding::GetFixed64LE(v.data()));
  *first = static_cast<int64_t>(coding::GetFixed64LE(v.data() + 8));
  return Status::Ok();
}

Status EdgeStoreImpl::LoadBlocksClosed() {
  MutexLock lock(&flush_mu_);
  return ReadDayBlocks(rocksdb::ReadOptions(), &blocks_closed_, &blocks_first_);
}

// The level's blocks starting in [first_start, last_start], from their two children each: day
// records (level 1) or the blocks of the level below, read per leading node over their range.
Status EdgeStoreImpl::BuildBlockLevel(int level, int64_t first_start, int64_t last_start) {
  const int64_t size = int64_t{1} << level;
  const bool from_days = level == 1;
  rocksdb::ColumnFamilyHandle* src =
      from_days ? handles_[TierCf(Family::kEdge, Tier::kDay)] : handles_[kCfEdgeBlocks];
  const auto time_of = [&](int64_t day) {
    return from_days ? static_cast<uint32_t>(day)
                     : keys::BlockTime(level - 1, static_cast<uint32_t>(day));
  };
  const uint32_t t_lo = time_of(first_start), t_hi = time_of(last_start + size);  // [lo, hi)
  LevelWriter out(db_, handles_[kCfEdgeBlocks], level);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), src));
  std::string seek;
  it->SeekToFirst();
  while (it->Valid()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != keys::kEdgeKeySize) return Status::Corruption("day blocks: malformed key");
    const uint32_t time = coding::GetBE32(key.data() + keys::kTimeOffset);
    if (time < t_lo || time >= t_hi) {
      // Jump to t_lo within this node (too early) or within the next node (too late).
      seek.assign(key.data(), keys::kNodePrefixSize);
      if (time >= t_hi && !keys::IncrementFixedWidth(&seek)) break;
      seek.resize(keys::kNodePrefixSize + 4);
      coding::PutBE32(seek.data() + keys::kTimeOffset, t_lo);
      it->Seek(ToSlice(seek));
      continue;
    }
    const int64_t day = from_days ? time : keys::BlockStartOf(time);
    EW_RETURN_IF_ERROR(out.Add(key, static_cast<uint32_t>(day / size * size), it->value()));
    it->Next();
  }
  EW_RETURN_IF_ERROR(FromRocks(it->status(), "reading the children of day blocks"));
  return out.Finish();
}

Status EdgeStoreImpl::CloseDaysLocked(int64_t through) {
  through = std::min(through, keys::kMaxBlockDay);
  if (through <= blocks_closed_) return Status::Ok();
  // Blocks that start before the day tier's horizon are never read (their first day is gone),
  // nor those before the first day of an earlier build (a horizon that moved back: a longer
  // retention than before).
  int64_t floor_day = std::max<int64_t>(DayHorizon(), 0);
  if (blocks_closed_ >= 0) floor_day = std::max(floor_day, blocks_first_);
  const int64_t first = std::max(blocks_closed_ + 1, floor_day);  // the first day to close
  for (int level = 1; level <= keys::kMaxBlockLevel; ++level) {
    const int64_t size = int64_t{1} << level;
    // Blocks whose last day is in [first, through] and that start at floor_day or later; each
    // level's children are complete before it is built.
    const int64_t lo = std::max(first / size * size, (floor_day + size - 1) / size * size);
    const int64_t hi = (through + 1) / size * size - size;
    if (lo > hi) continue;
    EW_RETURN_IF_ERROR(BuildBlockLevel(level, lo, hi));
  }
  std::string enc;
  coding::PutFixed64LE(&enc, static_cast<uint64_t>(through));
  coding::PutFixed64LE(&enc, static_cast<uint64_t>(floor_day));
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  EW_RETURN_IF_ERROR(
      FromRocks(db_->Put(wo, handles_[kCfMeta], kMetaDayBlocks, enc), "writing meta/day_blocks"));
  blocks_closed_ = through;
  blocks_first_ = floor_day;
  return Status::Ok();
}

Status EdgeStoreImpl::CloseDays(int64_t through_day) {
  if (options_.read_only) return Status::FailedPrecondition("storage: opened read-only");
  MutexLock lock(&flush_mu_);
  return CloseDaysLocked(through_day);
}

void EdgeStoreImpl::MaybeCloseDays(int64_t max_day) {
  max_flush_day_ = std::max(max_flush_day_, max_day);
  if (!options_.close_days) return;
  const int64_t target = std::min(max_flush_day_, FloorDiv(NowMs(), kMsPerDay)) - kCloseAfterDays;
  if (target <= blocks_closed_) return;
  // The flush itself is written: a failure here only delays the blocks to a later flush.
  if (Status s = CloseDaysLocked(target); !s.ok()) {
    EW_LOG(kWarn) << "storage: building day blocks through day " << target << ": " << s.ToString();
  }
}

void EdgeStoreImpl::AddLateBlockOperands(const std::string& day_key, const RecordEntry& entry,
                                         rocksdb::WriteBatch* wb) {
  const int64_t day = coding::GetBE32(day_key.data() + keys::kTimeOffset);
  if (day > blocks_closed_) return;
  std::string value, key = day_key;
  EncodeRecord({&entry, 1}, PeakForm::kNone, {}, 0, 0, &value);
  for (int level = 1; level <= keys::kMaxBlockLevel; ++level) {
    const int64_t size = int64_t{1} << level;
    const int64_t start = day / size * size;
    if (start + size - 1 > blocks_closed_) break;  // not built yet (nor any larger one)
    if (start < late_horizon_ || start < blocks_first_) continue;  // never built, never read
    coding::PutBE32(key.data() + keys::kTimeOffset,
                    keys::BlockTime(level, static_cast<uint32_t>(start)));
    wb->Merge(handles_[kCfEdgeBlocks], key, value).PermitUncheckedError();
  }
}

Status EdgeStoreImpl::UpgradeToV3() {
  EW_LOG(kInfo) << "storage: upgrading " << options_.dir << " to schema " << kSchemaVersion
                << " (day blocks)";
  {
    MutexLock lock(&flush_mu_);
    EW_RETURN_IF_ERROR(CloseDaysLocked(FloorDiv(NowMs(), kMsPerDay) - kCloseAfterDays));
  }
  return WriteSchemaVersion();
}

// A kEdge day scan as the fewest closed blocks inside the day tier's horizon, plus day records
// for the rest, all under one snapshot.
Status EdgeStoreImpl::ScanCoarseDays(const ScanSpec& spec, const ScanVisitor& visit) const {
  rocksdb::ManagedSnapshot snapshot(db_);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  int64_t closed = -1, first = 0;
  EW_RETURN_IF_ERROR(ReadDayBlocks(ro, &closed, &first));
  const int64_t lo = std::max({spec.start, DayHorizon(), first, int64_t{0}});
  const int64_t hi = std::min(spec.end, closed + 1);
  std::vector<std::pair<int64_t, int64_t>> days;
  std::vector<uint32_t> blocks;
  const auto add_days = [&](int64_t a, int64_t b) {
    if (a >= b) return;
    if (!days.empty() && days.back().second == a) {
      days.back().second = b;
    } else {
      days.emplace_back(a, b);
    }
  };
  if (hi - lo >= kMinBlockScanDays) {
    add_days(spec.start, lo);
    for (int64_t d = lo; d < hi;) {
      int level = keys::kMaxBlockLevel;
      while (level > 0 && (d % (int64_t{1} << level) != 0 || d + (int64_t{1} << level) > hi)) {
        --level;
      }
      if (level == 0) {
        add_days(d, d + 1);
      } else {
        blocks.push_back(keys::BlockTime(level, static_cast<uint32_t>(d)));
      }
      d += int64_t{1} << level;
    }
    add_days(hi, spec.end);
  } else {
    add_days(spec.start, spec.end);
  }
  bool stopped = false;
  const ScanVisitor watch = [&](int64_t t, const EdgeDims& d, const RollupValue& r) {
    stopped = !visit(t, d, r);
    return !stopped;
  };
  for (const auto& [a, b] : days) {
    ScanSpec part = spec;
    part.start = a;
    part.end = b;
    EW_RETURN_IF_ERROR(ScanTier(part, snapshot.snapshot(), watch));
    if (stopped) return Status::Ok();
  }
  std::sort(blocks.begin(), blocks.end());
  return blocks.empty() ? Status::Ok() : ScanBlocks(spec, blocks, snapshot.snapshot(), visit);
}

// The blocks `times` (ascending) of every leading node of the scan: per node one seek per block
// at most (none when the next key already is that block's first).
Status EdgeStoreImpl::ScanBlocks(const ScanSpec& spec, const std::vector<uint32_t>& times,
                                 const rocksdb::Snapshot* snapshot,
                                 const ScanVisitor& visit) const {
  std::string prefix, upper, lead_lower;
  ScanBounds(spec, &prefix, &upper, &lead_lower);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  rocksdb::Slice upper_slice = ToSlice(upper);
  if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[kCfEdgeBlocks]));
  const SketchDecode mode = !spec.need_sketches     ? SketchDecode::kSkip
                            : spec.encoded_sketches ? SketchDecode::kEncoded
                                                    : SketchDecode::kDecode;
  RecordView rec;
  RollupValue value;
  keys::TierKey k;
  std::string node, seek = std::max(prefix, lead_lower);
  if (!upper.empty() && seek >= upper) return Status::Ok();
  it->Seek(ToSlice(seek));
  while (it->Valid()) {
    if (it->key().size() != keys::kEdgeKeySize) return Status::Corruption("edge_blk: bad key");
    node.assign(it->key().data(), keys::kNodePrefixSize);
    for (uint32_t t : times) {
      if (!it->Valid() || !SameNode(it->key(), node)) break;
      if (coding::GetBE32(it->key().data() + keys::kTimeOffset) < t) {
        seek.assign(node);
        seek.resize(keys::kNodePrefixSize + 4);
        coding::PutBE32(seek.data() + keys::kTimeOffset, t);
        it->Seek(ToSlice(seek));
      }
      for (; it->Valid(); it->Next()) {
        const rocksdb::Slice key = it->key();
        if (key.size() != keys::kEdgeKeySize) return Status::Corruption("edge_blk: bad key");
        if (!SameNode(key, node) || coding::GetBE32(key.data() + keys::kTimeOffset) != t) break;
        keys::DecodeTierKey(Family::kEdge, {key.data(), key.size()}, &k);
        EW_RETURN_IF_ERROR(
            ParseRecord({it->value().data(), it->value().size()}, LimitsOf(Tier::kDay), &rec)
                .WithContext("edge_blk"));
        if (rec.entries.size() != 1) return Status::Corruption("edge_blk: not one entry");
        EW_RETURN_IF_ERROR(FillFromEntry(rec.entries[0], mode, &value).WithContext("edge_blk"));
        value.peak_requests = 0;
        value.peak_minute = 0;
        value.minute_counts.clear();
        if (!visit(keys::BlockStartOf(t), keys::DimsOf(Family::kEdge, k), value)) {
          return Status::Ok();
        }
      }
    }
    if (it->Valid() && SameNode(it->key(), node)) {
      seek.assign(node);
      if (!keys::IncrementFixedWidth(&seek)) break;  // the last node
      it->Seek(ToSlice(seek));
    }
  }
  return FromRocks(it->status(), "scanning edge_blk");
}

}  // namespace ew::storage
