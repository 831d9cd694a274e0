// The differential check driver (see check.h): a seed's data set, its server, the questions
// (checker.h; check_questions.cc, check_relations.cc, check_ranges.cc) and the report.
#include "tests/model/check.h"

#include <sstream>

#include "base/time.h"
#include "tests/model/checker.h"

namespace ew::model {

using internal::Checker;

std::string CheckResult::Report() const {
  std::ostringstream s;
  s << "seed " << seed << ": " << questions << " questions, " << relations << " relations, "
    << nodes << " nodes, " << edges << " edges, " << requests << " requests ("
    << load.history_requests << " history in " << load.history_rollups << " rollups, "
    << load.otlp_requests << " over OTLP in " << load.otlp_spans << " spans"
    << (load.killed ? ", killed -9 and restarted" : "") << "), load " << load.seconds
    << " s, total " << seconds << " s, " << failures.size() << " failures\n";
  if (!error.empty()) s << "  RUN FAILED (" << reproduce << "): " << error << "\n";
  for (const Failure& f : failures) {
    s << "  DIFFERENCE (reproduce: " << reproduce << ")\n    GET " << f.question << "\n";
    for (const auto& d : f.diffs) s << "    " << d << "\n";
  }
  return s.str();
}

CheckResult RunSeed(const CheckOptions& options) {
  CheckResult result;
  result.seed = options.gen.seed;
  result.reproduce = "edgewise-model-check --seed " + std::to_string(options.gen.seed) +
                     " --questions " + std::to_string(options.questions) + " --services " +
                     std::to_string(options.gen.services) +
                     (options.gen.short_retention ? " --short-retention" : "");
  const int64_t t0 = MonoNowNs();
  const Dataset d = Generate(options.gen, WallNowMs());
  result.requests = d.requests.size();
  result.nodes = d.nodes.size();
  result.edges = d.edges.size();
  auto server = LoadedServer::Load(d, &result.load);
  if (!server.ok()) {
    result.error = server.status().ToString();
    return result;
  }
  Checker checker(options, d, server->get(), &result);
  for (int i = 0; i < options.questions; ++i) {
    if (options.max_seconds > 0 &&
        static_cast<double>(MonoNowNs() - t0) / 1e9 > options.max_seconds) {
      break;
    }
    checker.AskOne();
  }
  if (!(*server)->process().Running())
    result.error = "the server died: " + (*server)->process().Stderr();
  result.seconds = static_cast<double>(MonoNowNs() - t0) / 1e9;
  return result;
}

}  // namespace ew::model
