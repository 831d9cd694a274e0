#include "base/malloc_policy.h"

// <cstdlib> defines __GLIBC__ (through <features.h>); testing it before any system header was
// included made ConfigureMalloc an empty function until 2026-11-25.
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ew {

void ConfigureMalloc() {
#if defined(__GLIBC__)
  // Blocks below 64 MiB come from the heap: a fixed 1 MiB threshold (tried for ingest memory)
  // put a map query's edge table, edge list and response buffer on fresh mmaps, faulted in page
  // by page on every query: 1 h map 22 -> 47 ms, 7 d 40 -> 62 ms (query_bench, 2026-11-25).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  // The top of a heap is given back once 8 MiB of it are free (not at glibc's 128 KiB, which
  // would give pages back and fault them in again on every request; not "never", because
  // malloc_trim does not shrink the tops of per-thread arenas).
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  // One arena for all threads. With per-thread arenas, a burst of ingest requests (records
  // allocated by the I/O threads, freed by the shard workers) left ~36 MiB of free memory
  // resident in each I/O thread's arena that neither the heap-top trim nor malloc_trim gave back:
  // end to end, 2 M pending halves cost 49-85 B each in RSS instead of 46.6 B (e2e.py pending,
  // 2026-11-25). Small blocks still come from each thread's tcache without the arena lock; the
  // cost measured on protobuf ingest is ~3 % (946k vs 973k spans per server CPU-s, medians of
  // 6 interleaved runs), none on map queries.
  mallopt(M_ARENA_MAX, 1);
#endif
}

}  // namespace ew
