// ConfigureMalloc must change glibc's behaviour, not just compile (it was an empty function while
// its platform test ran before any system header had defined __GLIBC__).
#include "base/malloc_policy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ew {
namespace {

#if defined(__GLIBC__)
TEST(MallocPolicy, BlocksBelow64MiBComeFromTheHeapAndThreadsShareOneArena) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "the sanitizers replace glibc's malloc";
#endif
  ConfigureMalloc();
  // glibc's default threshold (128 KiB, adapting up to 32 MiB) would map 40 MiB directly.
  const size_t mapped_before = mallinfo2().hblkhd;
  void* p = std::malloc(40 << 20);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before) << "a 40 MiB block was mmapped";
  std::free(p);
  // A new thread allocates from the main arena: malloc_info lists one heap.
  std::thread t([] {
    void* q = std::malloc(1 << 20);
    std::free(q);
  });
  t.join();
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(malloc_info(0, f), 0);
  std::fclose(f);
  std::string xml(buf, len);
  std::free(buf);
  size_t heaps = 0;
  for (size_t at = xml.find("<heap nr="); at != std::string::npos;
       at = xml.find("<heap nr=", at + 1)) {
    ++heaps;
  }
  EXPECT_EQ(heaps, 1u) << xml;
}
#endif

}  // namespace
}  // namespace ew
