// Flags: the command-line parser of the Edgewise tools. "--key value", "--key=value" and bare
// boolean "--key"; positional words are collected in order. Unknown keys are errors. "-h" is
// "--help" when "help" is one of the booleans.
// Thread-safety: none.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"

namespace ew::tools {

class Flags {
 public:
  // `valued`: keys that take a value; `booleans`: keys that do not.
  Flags(std::set<std::string> valued, std::set<std::string> booleans)
      : valued_(std::move(valued)), booleans_(std::move(booleans)) {}
  // Parses argv[first..argc).
  Status Parse(int argc, const char* const* argv, int first);

  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  std::string Str(const std::string& key, const std::string& def = "") const;
  Result<int64_t> Int(const std::string& key, int64_t def) const;
  Result<double> Double(const std::string& key, double def) const;
  Result<int64_t> DurationMs(const std::string& key, int64_t def) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::set<std::string> valued_, booleans_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

}  // namespace ew::tools
