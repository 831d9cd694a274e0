// FUZZ_CHECK: the fuzz targets' assertion. A broken property prints what broke and aborts, which
// libFuzzer reports as a crash and saves the input; unlike assert() it holds in every build type.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ew::fuzz {

[[noreturn]] inline void CheckFailed(const char* expr, const char* file, int line,
                                     const std::string& detail) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n%s\n", file, line, expr, detail.c_str());
  std::abort();
}

}  // namespace ew::fuzz

// FUZZ_CHECK(cond, detail): detail (anything a std::string is made from) is built only on failure.
#define FUZZ_CHECK(cond, detail)                                                          \
  do {                                                                                    \
    if (!(cond)) ::ew::fuzz::CheckFailed(#cond, __FILE__, __LINE__, std::string(detail)); \
  } while (0)
