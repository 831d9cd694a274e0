#include "base/malloc_policy.h"

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
#endif
}

}  // namespace ew
