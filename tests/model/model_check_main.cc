// edgewise-model-check: the differential test, run for as long as asked.
//
//   edgewise-model-check --seed S [--questions N] [--services N]   one seed (a reproducer)
//   edgewise-model-check --random --seconds T [--services N]       random seeds until T passes
//
// Prints one summary line per seed and a reproducer (seed, question, both answers' differences)
// for every difference; exits 1 when any was found. The report of every seed with a difference
// or an error (a run that could not load or ask: a server that did not start, an export that
// failed) is also appended to a file (--keep FILE; by default
// /tmp/edgewise-model-failures-PID.txt), named on the total line, so that a long run's
// reproducers survive a terminal that kept only its tail. See tests/model/README.md.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "base/time.h"
#include "tests/model/check.h"

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: edgewise-model-check [--seed S | --random] [--seconds T] "
               "[--questions N] [--services N] [--short-retention] [--check-known] "
               "[--keep FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ew::model::CheckOptions o;
  o.questions = 1000;
  bool random = false;
  double seconds = 0;
  uint64_t seed = 1;
  std::string keep = "/tmp/edgewise-model-failures-" + std::to_string(getpid()) + ".txt";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--random") {
      random = true;
    } else if (a == "--short-retention") {
      o.gen.short_retention = true;
    } else if (a == "--check-known") {  // every check (the default since they all landed)
      o.known = {true, true, true, true};
    } else if ((a == "--seed") && (v = next())) {
      seed = std::stoull(v);
    } else if (a == "--seconds" && (v = next())) {
      seconds = std::stod(v);
    } else if (a == "--questions" && (v = next())) {
      o.questions = std::stoi(v);
    } else if (a == "--keep" && (v = next())) {
      keep = v;
    } else if (a == "--services" && (v = next())) {
      o.gen.services = std::stoi(v);
    } else {
      return Usage();
    }
  }
  std::random_device rd;
  const int64_t t0 = ew::MonoNowNs();
  uint64_t total_questions = 0, total_relations = 0, total_failures = 0, total_errors = 0,
           seeds = 0;
  bool kept = false;
  for (;;) {
    o.gen.seed = random ? (static_cast<uint64_t>(rd()) << 32 | rd()) : seed;
    if (random) o.gen.short_retention = (o.gen.seed & 1) != 0;
    if (seconds > 0) {
      const double left = seconds - static_cast<double>(ew::MonoNowNs() - t0) / 1e9;
      if (left <= 0) break;
      o.max_seconds = left;
    }
    ew::model::CheckResult r = ew::model::RunSeed(o);
    const std::string report = r.Report();
    std::fputs(report.c_str(), stdout);
    std::fflush(stdout);
    if (!r.failures.empty() || !r.error.empty()) {
      if (FILE* f = std::fopen(keep.c_str(), "a")) {
        std::fputs(report.c_str(), f);
        std::fclose(f);
        kept = true;
      }
    }
    ++seeds;
    total_questions += r.questions;
    total_relations += r.relations;
    total_failures += r.failures.size();
    total_errors += r.error.empty() ? 0 : 1;
    if (!random) break;
  }
  std::printf(
      "total: %llu seeds, %llu questions, %llu relations, %llu failures, %llu seed errors, %.0f "
      "s%s%s\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(total_questions),
      static_cast<unsigned long long>(total_relations),
      static_cast<unsigned long long>(total_failures),
      static_cast<unsigned long long>(total_errors),
      static_cast<double>(ew::MonoNowNs() - t0) / 1e9, kept ? "; reports kept in " : "",
      kept ? keep.c_str() : "");
  return total_failures + total_errors == 0 ? 0 : 1;
}
