// The process-wide glibc malloc policy of the server (and of the benchmarks that stand in for
// it): blocks up to 64 MiB come from the heap instead of fresh mmaps, and a heap's top is trimmed
// only past 8 MiB of free space, so a query's transient working memory (edge tables, latency
// counters, the response buffer: tens of MiB for a 10,000-edge map) is reused by the next query
// instead of being faulted in again page by page — measured at about half the time of a full-map
// query on this kind of VM. Free memory goes back to the kernel explicitly (malloc_trim) where a
// caller decides it should, e.g. once per ingest flush. All threads share one arena, so that
// trim reaches every free block.
//
// Thread-safety: call once at start-up, before threads start.
#pragma once

namespace ew {

void ConfigureMalloc();

}  // namespace ew
