// edgewise: the server binary. See server/app.h for the start-up and shutdown order.
#include "base/malloc_policy.h"
#include "server/app.h"

int main(int argc, char** argv) {
  // The server's malloc policy (base/malloc_policy.h): blocks below 64 MiB from the heap, heap
  // tops trimmed past 8 MiB; the ingest flusher calls malloc_trim after each flush, and ingest's
  // big allocations (pending table slots) are mapped directly.
  ew::ConfigureMalloc();
  return ew::server::RunEdgewise(argc, argv);
}
