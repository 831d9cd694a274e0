#include "tools/loadgen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <queue>
#include <thread>
#include <unordered_map>

#include "base/mutex.h"
#include "base/time.h"
#include "tools/ledger.h"
#include "tools/loadgen_post.h"
#include "tools/zipkin_encoder.h"

namespace ew::tools {

std::atomic<bool> g_stop_requested{false};

namespace {

struct ReqState {
  GenRequest req;
  uint8_t acked = 0;  // bit i: halves[i] acknowledged
  bool ambiguous = false;
  int outstanding = 0;
};

struct Batch {
  std::string body;
  std::vector<std::pair<ReqState*, uint8_t>> refs;  // request, half index
};

class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  void Push(Batch b) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (q_.size() >= capacity_) not_full_.Wait(mu_);
    q_.push_back(std::move(b));
    not_empty_.NotifyOne();
  }
  bool Pop(Batch* b) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (q_.empty() && !closed_) not_empty_.Wait(mu_);
    if (q_.empty()) return false;
    *b = std::move(q_.front());
    q_.pop_front();
    not_full_.NotifyOne();
    return true;
  }
  void Close() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    closed_ = true;
    not_empty_.NotifyAll();
  }

 private:
  Mutex mu_;
  CondVar not_empty_, not_full_;
  std::deque<Batch> q_ GUARDED_BY(mu_);
  size_t capacity_;
  bool closed_ GUARDED_BY(mu_) = false;
};

struct Held {
  int64_t release_ns;
  ReqState* state;
  uint8_t half;
  bool operator>(const Held& o) const { return release_ns > o.release_ns; }
};

class Run {
 public:
  Run(const LoadgenOptions& o, LoadgenSummary* s)
      : o_(o),
        sum_(s),
        topo_(Topology::Build(o.topology)),
        gen_(&topo_, o.topology.seed),
        queue_(static_cast<size_t>(std::max(2, 2 * o.connections))) {}

  int Execute();

 private:
  void Drive();
  void Sender();
  void Resolve(const Batch& b, PostOutcome outcome) EXCLUDES(mu_);
  void Finalize(ReqState* st) REQUIRES(mu_);
  void Generate(int64_t mono_ns, double elapsed_s);
  void FormBatch(size_t max_spans);
  void Progress();

  const LoadgenOptions& o_;
  LoadgenSummary* sum_;
  Topology topo_;
  TraceGenerator gen_;
  BatchQueue queue_;
  // Generator-thread state.
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held_;
  std::vector<Held> ready_;
  int64_t oldest_ready_ns_ = 0;
  uint64_t spans_generated_ = 0;
  uint64_t batches_formed_ = 0;

  // Guards table_, ledger_ and the mutable fields of the ReqStates in table_ (acked,
  // ambiguous, outstanding); ReqState::req is immutable once queued.
  Mutex mu_;
  std::unordered_map<ReqState*, std::unique_ptr<ReqState>> table_ GUARDED_BY(mu_);
  Ledger ledger_ GUARDED_BY(mu_);

  std::atomic<uint64_t> spans_sent_{0}, spans_acked_{0}, http_requests_{0}, http_failures_{0},
      rejected_{0}, body_bytes_{0}, requests_counted_{0};
  std::atomic<bool> unreachable_{false}, done_{false};
  std::atomic<int> failure_messages_{0};
};

void Run::Generate(int64_t mono_ns, double elapsed_s) {
  double eb = 1, lb = 1;
  if (o_.demo) {  // a slowly moving picture: error waves and latency swings
    eb = 1 + 4 * std::max(0.0, std::sin(elapsed_s / 40));
    lb = 1 + 0.6 * std::sin(elapsed_s / 25 + 1);
  }
  std::vector<GenRequest> reqs;
  gen_.Generate(static_cast<uint64_t>(WallNowNs()), &reqs, eb, lb);
  MutexLock lock(&mu_);
  for (GenRequest& r : reqs) {
    auto st = std::make_unique<ReqState>();
    st->req = std::move(r);
    ReqState* p = st.get();
    p->outstanding = static_cast<int>(p->req.halves.size());
    spans_generated_ += p->req.halves.size();
    if (p->req.halves.size() == 2) {
      uint8_t first = gen_.rng()() & 1;
      int64_t skew = 0;
      if (o_.max_skew_ms > 0) {
        skew =
            static_cast<int64_t>(gen_.rng()() % static_cast<uint64_t>(o_.max_skew_ms * 1'000'000));
      }
      held_.push({mono_ns, p, first});
      held_.push({mono_ns + skew, p, static_cast<uint8_t>(1 - first)});
    } else {
      held_.push({mono_ns, p, 0});
    }
    table_.emplace(p, std::move(st));
  }
}

void Run::FormBatch(size_t max_spans) {
  size_t n = std::min(max_spans, ready_.size());
  std::shuffle(ready_.begin(), ready_.end(), gen_.rng());
  Batch b;
  std::vector<const OtlpSpan*> spans;
  for (size_t i = 0; i < n; ++i) {
    spans.push_back(&ready_[i].state->req.halves[ready_[i].half]);
    b.refs.emplace_back(ready_[i].state, ready_[i].half);
  }
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<ptrdiff_t>(n));
  b.body = EncodeBody(spans, topo_.resources(), o_.encoding);
  ++batches_formed_;
  queue_.Push(std::move(b));
  oldest_ready_ns_ = MonoNowNs();
}

void Run::Sender() {
  HttpConnection conn(o_.otlp, 30'000);
  Batch b;
  while (queue_.Pop(&b)) {
    PostResult pr = PostTraces(&conn, b.body, o_.encoding, &g_stop_requested);
    http_requests_.fetch_add(1, std::memory_order_relaxed);
    body_bytes_.fetch_add(b.body.size(), std::memory_order_relaxed);
    spans_sent_.fetch_add(b.refs.size(), std::memory_order_relaxed);
    if (pr.outcome == PostOutcome::kAcked) {
      spans_acked_.fetch_add(b.refs.size(), std::memory_order_relaxed);
    } else {
      http_failures_.fetch_add(1, std::memory_order_relaxed);
      if (pr.outcome == PostOutcome::kUnreachable) unreachable_ = true;
      if (pr.outcome == PostOutcome::kPartial) {
        rejected_.fetch_add(static_cast<uint64_t>(pr.rejected));
      }
      if (failure_messages_.fetch_add(1) < 5) {
        std::fprintf(stderr, "loadgen: POST %s: HTTP %d: %s\n",
                     std::string(IngestPath(o_.encoding)).c_str(), pr.http_status,
                     pr.message.c_str());
      }
    }
    Resolve(b, pr.outcome);
  }
}

void Run::Resolve(const Batch& b, PostOutcome outcome) {
  MutexLock lock(&mu_);
  for (auto [st, half] : b.refs) {
    if (outcome == PostOutcome::kAcked) st->acked |= static_cast<uint8_t>(1u << half);
    if (outcome == PostOutcome::kPartial || outcome == PostOutcome::kAmbiguous) {
      st->ambiguous = true;
    }
    if (--st->outstanding == 0) Finalize(st);
  }
}

// The ledger rule: a request counts for the edge its acknowledged halves make — both halves:
// the paired edge; only the client half: the edge its expiry makes (external service or
// messaging node); only the server half: from External Client. A request with a half whose fate
// is unknown (broken connection, partial refusal) is not counted but tallied as ambiguous.
void Run::Finalize(ReqState* st) {
  const GenRequest& r = st->req;
  if (st->ambiguous) {
    ++ledger_.requests_ambiguous;
  } else if (r.halves.size() == 1) {
    if (st->acked) {
      ledger_.Add(r.minute, r.both);
    } else {
      ++ledger_.requests_unacknowledged;
    }
  } else if (st->acked == 3) {
    ledger_.Add(r.minute, r.both);
  } else if (st->acked == 1) {
    ledger_.Add(r.minute, r.client_only);
  } else if (st->acked == 2) {
    ledger_.Add(r.minute, r.server_only);
  } else {
    ++ledger_.requests_unacknowledged;
  }
  requests_counted_.store(ledger_.requests_counted, std::memory_order_relaxed);
  table_.erase(st);
}

void Run::Progress() {
  const int64_t start = MonoNowNs();
  uint64_t last_acked = 0;
  int64_t last_ns = start;
  while (!done_.load()) {
    for (int i = 0; i < 10 && !done_.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    int64_t now = MonoNowNs();
    uint64_t acked = spans_acked_.load();
    double rate =
        static_cast<double>(acked - last_acked) * 1e9 / static_cast<double>(now - last_ns);
    std::fprintf(stderr,
                 "loadgen: %5.0fs  rate=%.0f spans/s  acked=%llu spans  requests counted=%llu  "
                 "http failures=%llu  refused spans=%llu\n",
                 static_cast<double>(now - start) / 1e9, rate,
                 static_cast<unsigned long long>(acked),
                 static_cast<unsigned long long>(requests_counted_.load()),
                 static_cast<unsigned long long>(http_failures_.load()),
                 static_cast<unsigned long long>(rejected_.load()));
    last_acked = acked;
    last_ns = now;
  }
}

void Run::Drive() {
  const int64_t start = MonoNowNs();
  oldest_ready_ns_ = start;
  const size_t batch = static_cast<size_t>(std::max(1, o_.batch));
  while (!g_stop_requested.load() && !unreachable_.load()) {
    int64_t now = MonoNowNs();
    double elapsed = static_cast<double>(now - start) / 1e9;
    if (o_.duration_ms > 0 && now - start >= o_.duration_ms * 1'000'000) break;
    if (o_.requests > 0 && batches_formed_ >= o_.requests) break;
    bool busy = false;
    if (o_.rate <= 0) {
      if (ready_.size() < batch) {
        Generate(now, elapsed);
        busy = true;
      }
    } else {
      // No further ahead than a few batches: a loadgen that falls behind its rate (a busy
      // machine, a slow server) sends late rather than holding ever more spans in memory.
      for (int k = 0; k < 64 && static_cast<double>(spans_generated_) < o_.rate * elapsed &&
                      ready_.size() < 4 * batch;
           ++k) {
        Generate(now, elapsed);
        busy = true;
      }
    }
    while (!held_.empty() && held_.top().release_ns <= now) {
      if (ready_.empty()) oldest_ready_ns_ = now;
      ready_.push_back(held_.top());
      held_.pop();
    }
    if (ready_.size() >= batch ||
        (!ready_.empty() && now - oldest_ready_ns_ >= o_.batch_wait_ms * 1'000'000)) {
      FormBatch(batch);
      busy = true;
    }
    if (!busy) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  // Send what is still held back, then stop.
  while (!held_.empty()) {
    ready_.push_back(held_.top());
    held_.pop();
  }
  while (!ready_.empty()) FormBatch(batch);
}

int Run::Execute() {
  {
    MutexLock lock(&mu_);
    ledger_.seed = o_.topology.seed;
    ledger_.encoding = std::string(EncodingName(o_.encoding));
    ledger_.started_ms = WallNowMs();
  }
  const int64_t start = MonoNowNs();
  std::vector<std::thread> senders;
  for (int i = 0; i < std::max(1, o_.connections); ++i) senders.emplace_back([this] { Sender(); });
  std::thread progress;
  if (o_.progress) progress = std::thread([this] { Progress(); });
  Drive();
  queue_.Close();
  for (auto& t : senders) t.join();
  done_ = true;
  if (progress.joinable()) progress.join();
  MutexLock lock(&mu_);  // the threads are joined: uncontended
  ledger_.ended_ms = WallNowMs();
  ledger_.rejected_spans = rejected_.load();
  ledger_.spans_acknowledged = spans_acked_.load();
  sum_->spans_sent = spans_sent_.load();
  sum_->spans_acked = spans_acked_.load();
  sum_->http_requests = http_requests_.load();
  sum_->http_failures = http_failures_.load();
  sum_->rejected_spans = rejected_.load();
  sum_->body_bytes = body_bytes_.load();
  sum_->elapsed_s = static_cast<double>(MonoNowNs() - start) / 1e9;
  if (!o_.ledger_path.empty()) {
    Status st = ledger_.Write(o_.ledger_path);
    if (!st.ok()) {
      std::fprintf(stderr, "loadgen: %s\n", st.ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "loadgen: ledger %s: %zu rows, %llu requests counted\n",
                 o_.ledger_path.c_str(), ledger_.rows.size(),
                 static_cast<unsigned long long>(ledger_.requests_counted));
  }
  if (unreachable_.load() && sum_->spans_acked == 0) return 3;
  return sum_->http_failures > 0 ? 1 : 0;
}

}  // namespace

std::string LoadgenSummary::ToJson(const LoadgenOptions& o) const {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"encoding\":\"%s\",\"batch\":%d,\"connections\":%d,\"spans_sent\":%llu,"
      "\"spans_acked\":%llu,\"http_requests\":%llu,\"http_failures\":%llu,"
      "\"rejected_spans\":%llu,\"body_bytes\":%llu,\"elapsed_s\":%.3f,"
      "\"spans_per_s\":%.1f}\n",
      std::string(EncodingName(o.encoding)).c_str(), o.batch, o.connections,
      static_cast<unsigned long long>(spans_sent), static_cast<unsigned long long>(spans_acked),
      static_cast<unsigned long long>(http_requests),
      static_cast<unsigned long long>(http_failures),
      static_cast<unsigned long long>(rejected_spans), static_cast<unsigned long long>(body_bytes),
      elapsed_s, elapsed_s > 0 ? static_cast<double>(spans_acked) / elapsed_s : 0.0);
  return buf;
}

int RunLoadgen(const LoadgenOptions& options, LoadgenSummary* summary) {
  Run run(options, summary);
  return run.Execute();
}

}  // namespace ew::tools
