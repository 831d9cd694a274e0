// edgewise: the server binary. See server/app.h for the start-up and shutdown order.
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "server/app.h"

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // glibc's defaults move the mmap threshold up to 32 MiB after large frees, after which big
  // transient blocks (RocksDB memtable arena blocks, write batches) come from the per-thread
  // arenas and stay there once freed. A fixed 1 MiB threshold returns blocks of 1 MiB and more to
  // the kernel when they are freed; request bodies (up to a few hundred KiB) stay in the arenas.
  // Automatic top-of-heap trimming starts at 8 MiB of free top (not 128 KiB) so the request
  // path does not give pages back and fault them in again on every request; the ingest flusher
  // hands free pages back once per flush instead (malloc_trim, which does not shrink the tops of
  // the per-thread arenas: hence a threshold, not "never"). Measured: docs/ingest.md, "Pending
  // memory".
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
  return ew::server::RunEdgewise(argc, argv);
}
