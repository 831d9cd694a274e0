#include "base/thread_name.h"

#if defined(__linux__)
#include <pthread.h>
#endif

namespace ew {

void SetThreadName(const std::string& name) {
#if defined(__linux__)
  (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
#else
  (void)name;
#endif
}

}  // namespace ew
