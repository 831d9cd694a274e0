// TempDir: a fresh directory under $TMPDIR (or /tmp) removed with its contents on destruction.
// Thread-safety: a value owned by one test; not shared.
#pragma once

#include <string>

namespace ew::testing {

class TempDir {
 public:
  // Creates <tmp>/<prefix>XXXXXX. Aborts the test binary if the directory cannot be made.
  explicit TempDir(const std::string& prefix = "ew-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }
  // Keeps the directory on destruction (to inspect after a failure).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Reads a whole file; empty when missing.
std::string ReadFileOrEmpty(const std::string& path);
// Writes a whole file; returns false on error.
bool WriteFile(const std::string& path, const std::string& contents);

}  // namespace ew::testing
