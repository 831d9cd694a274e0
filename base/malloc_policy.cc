#include "base/malloc_policy.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ew {

void ConfigureMalloc() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

}  // namespace ew
