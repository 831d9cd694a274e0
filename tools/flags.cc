#include "tools/flags.h"

#include <charconv>
#include <cstdlib>

#include "base/time.h"

namespace ew::tools {

Status Flags::Parse(int argc, const char* const* argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" && booleans_.count("help")) {
      values_["help"] = "true";
      continue;
    }
    if (a.size() < 3 || a.substr(0, 2) != "--") {
      positional_.push_back(a);
      continue;
    }
    std::string key = a.substr(2), value;
    bool has_value = false;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
      has_value = true;
    }
    if (booleans_.count(key)) {
      values_[key] = has_value ? value : "true";
    } else if (valued_.count(key)) {
      if (!has_value) {
        if (i + 1 >= argc) return Status::InvalidArgument("--" + key + " needs a value");
        value = argv[++i];
      }
      values_[key] = value;
    } else {
      return Status::InvalidArgument("unknown flag --" + key);
    }
  }
  return Status::Ok();
}

std::string Flags::Str(const std::string& key, const std::string& def) const {
  auto it = values_.find(key);
  return it == values_.end() ? def : it->second;
}

Result<int64_t> Flags::Int(const std::string& key, int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return Status::InvalidArgument("--" + key + ": not an integer: '" + s + "'");
  }
  return v;
}

Result<double> Flags::Double(const std::string& key, double def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0') {
    return Status::InvalidArgument("--" + key + ": not a number: '" + it->second + "'");
  }
  return v;
}

Result<int64_t> Flags::DurationMs(const std::string& key, int64_t def) const {
  auto it = values_.find(key);
  if (it == values_.end()) return def;
  Result<int64_t> r = ParseDurationMs(it->second);
  if (!r.ok()) return r.status().WithContext("--" + key);
  return r;
}

}  // namespace ew::tools
