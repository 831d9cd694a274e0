#include "query/capacity_scan.h"

#include <string>

#include "base/time.h"

namespace ew::query {

CapacityScan::CapacityScan(int64_t start, int64_t step, size_t steps, int64_t block,
                           uint64_t max_cells)
    : start_(start), step_(step), steps_(steps), block_len_(block), max_cells_(max_cells) {}

Result<CapacityScan::Open*> CapacityScan::OpenFor(storage::NodeId client, storage::NodeId server) {
  auto [it, fresh] = open_index_.try_emplace(client, open_used_);
  if (!fresh) return &open_[it->second];
  if (open_used_ == open_.size()) open_.emplace_back();
  Open& o = open_[open_used_++];
  o.in_block = false;
  o.stats.clear();
  auto [g, new_group] = group_index_.try_emplace(EdgeKey(client, server), groups_.size());
  if (new_group) {
    if ((groups_.size() + 1) * steps_ > max_cells_) {
      return Status::ResourceExhausted("the answer would hold more than " +
                                       std::to_string(max_cells_) +
                                       " figures (services and edges times steps)");
    }
    groups_.push_back({client, server, std::vector<CapacityCell>(steps_)});
  }
  o.group = g->second;
  return &o;
}

EdgeStats& CapacityScan::StatsFor(Open& o, size_t step) {
  for (auto it = o.stats.rbegin(); it != o.stats.rend(); ++it) {
    if (it->step == step) return it->stats;
  }
  OpenStats& s = o.stats.emplace_back();
  s.step = step;
  if (!spare_.empty()) {
    s.stats = std::move(spare_.back());
    spare_.pop_back();
    s.stats.Clear();
  }
  return s.stats;
}

Status CapacityScan::Add(int64_t unit_start, const storage::EdgeDims& d,
                         const storage::RollupValue& v, uint64_t requests, uint64_t errors) {
  const int64_t block = FloorDiv(unit_start, block_len_);
  if (!have_server_ || d.server != server_) {
    if (have_server_) FinishServer();
    if (!done_servers_.insert(d.server).second) {
      return Status::Internal("capacity: the records of one server came in two runs");
    }
    have_server_ = true;
    server_ = d.server;
    block_ = block;
  } else if (block != block_) {
    if (block < block_) return Status::Internal("capacity: records went back in time");
    FinishBlock(false, block * block_len_);
    block_ = block;
  }
  const int64_t offset = unit_start - start_;
  if (offset < 0 || offset / step_ >= static_cast<int64_t>(steps_)) {
    return Status::Internal("capacity: a record outside the range");
  }
  const auto step = static_cast<size_t>(offset / step_);
  for (storage::NodeId client : {storage::NodeId{0}, d.client}) {
    EW_ASSIGN_OR_RETURN(Open * o, OpenFor(client, d.server));
    if (!o->in_block) {
      o->window.Reset(block_ * block_len_, block_len_);
      o->in_block = true;
      o->records = o->uncounted = 0;
    }
    ++o->records;
    if (v.minute_counts.empty()) {
      ++o->uncounted;
      o->uncounted_peak = {v.peak_requests, v.peak_minute};
      o->uncounted_step = step;
    } else {
      o->window.AddCounts(unit_start, v.minute_counts);
    }
    EW_RETURN_IF_ERROR(StatsFor(*o, step).Add(v, d.protocol, requests, errors));
  }
  return Status::Ok();
}

void CapacityScan::FinishBlock(bool all, int64_t next_start) {
  for (size_t i = 0; i < open_used_; ++i) {
    Open& o = open_[i];
    std::vector<CapacityCell>& cells = groups_[o.group].cells;
    if (o.in_block) {
      o.window.ForEach([&](int64_t minute, uint64_t sum) {
        cells[static_cast<size_t>((minute - start_) / step_)].peak.Take(sum, minute);
      });
      if (o.uncounted > 0) {  // blocks of hour and day records are their units
        CapacityCell& c = cells[o.uncounted_step];
        if (o.records == 1 && o.uncounted_peak.requests > 0) {
          c.peak.Take(o.uncounted_peak.requests, o.uncounted_peak.minute);
        } else {
          c.peak_known = false;
        }
      }
      o.in_block = false;
    }
    size_t kept = 0;
    for (size_t k = 0; k < o.stats.size(); ++k) {
      OpenStats& s = o.stats[k];
      const int64_t step_end = start_ + static_cast<int64_t>(s.step + 1) * step_;
      if (!all && step_end > next_start) {
        if (kept != k) std::swap(o.stats[kept], s);
        ++kept;
        continue;
      }
      CapacityCell& c = cells[s.step];
      c.requests += s.stats.requests;
      c.errors += s.stats.errors;
      c.p99_us = s.stats.Latency().p99;
      spare_.push_back(std::move(s.stats));
    }
    o.stats.resize(kept);
  }
}

void CapacityScan::FinishServer() {
  FinishBlock(true, 0);
  open_index_.clear();
  open_used_ = 0;
}

void CapacityScan::Finish() {
  if (have_server_) FinishServer();
  have_server_ = false;
}

}  // namespace ew::query
