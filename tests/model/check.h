// The differential check: generates a data set from a seed, loads it into a real server, asks
// random questions of both the server and the model and compares the answers; plus metamorphic
// relations that need no model (map(A or B) = map(A) + map(B) - map(A and B); a range split in
// two adds up). Every difference is reported with the seed and the question, so that
// `edgewise-model-check --seed S` reproduces it (tests/model/README.md).
//
// Thread-safety: one ModelCheck per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/model/compare.h"
#include "tests/model/load.h"
#include "tests/model/model.h"

namespace ew::model {

// Checks that can be turned off one by one (`edgewise-model-check --check-known` turns all on);
// all are on by default since the exemplar and group=namespace work landed (KNOWN.md).
struct KnownIssues {
  bool check_exemplar_presence = true;    // every edge-minute shows a trace (also expiry)
  bool check_exemplar_start = true;       // start_ms per the documented rule
  bool check_traces_errors_false = true;  // errors=true/false return only errors/successes
  bool check_group_self_edges = true;     // group=namespace: self-edge ns:X -> ns:X, node sums
};

struct CheckOptions {
  GenOptions gen;
  int questions = 300;     // per seed (model questions; metamorphic ones come on top)
  double max_seconds = 0;  // > 0: stop asking once this much time has passed (per seed)
  KnownIssues known;
  bool verbose = false;
};

struct Failure {
  std::string question;  // the URL (path and query) asked
  std::vector<std::string> diffs;
};

struct CheckResult {
  uint64_t seed = 0;
  uint64_t questions = 0;  // model questions compared
  uint64_t relations = 0;  // metamorphic relations checked
  uint64_t requests = 0, nodes = 0, edges = 0;
  LoadStats load;
  double seconds = 0;
  std::vector<Failure> failures;
  std::string error;      // set when the run itself failed (load, HTTP)
  std::string reproduce;  // the command line that runs this seed again
  // A reproducer block for every failure (seed, question, differences).
  std::string Report() const;
};

CheckResult RunSeed(const CheckOptions& options);

}  // namespace ew::model
