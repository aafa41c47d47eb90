// k8i-bench-correlation-quality: the labelled scenarios (services/correlation/core/scenarios.h)
// through the correlation engine: per scenario the alerts (firings), the incidents, noise
// reduction (1 - incidents/alerts), pairwise grouping precision and recall, and the state
// changes that would page (notify = true). `--dump FILE` also writes every scenario's alert
// stream as JSON lines for bench/correlation_alertmanager.py, which feeds the same streams to
// Prometheus' Alertmanager and prints its notification count beside ours.
#include <cstdio>
#include <fstream>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/correlation/core/scenarios.h"

int main(int argc, char** argv) {
  using namespace k8i::correlation;
  CLI::App app{"k8i-bench-correlation-quality: grouping quality on the labelled scenarios"};
  std::string dump;
  app.add_option("--dump", dump, "write the scenarios' alert streams as JSON lines");
  CLI11_PARSE(app, argc, argv);
  const absl::Time start = absl::FromUnixSeconds(1'780'000'000);
  std::ofstream out;
  if (!dump.empty()) out.open(dump);
  std::vector<Quality> all;
  std::printf("%-28s %7s %9s %7s %9s %7s %8s\n", "scenario", "alerts", "incidents", "noise-",
              "precision", "recall", "pages");
  int pages_total = 0;
  for (const Scenario& s : LabelledScenarios()) {
    ClusterCorrelator c("bench", "c1");
    const Quality q = Evaluate(s, c, start);
    int pages = 0;
    for (const Change& ch : c.TakeChanges()) pages += ch.change.notify();
    pages_total += pages;
    all.push_back(q);
    std::printf("%-28s %7d %9d %6.1f%% %9.3f %7.3f %8d\n", s.name.c_str(), q.alerts, q.incidents,
                100 * q.noise_reduction, q.precision, q.recall, pages);
    if (!dump.empty()) {
      for (const ScenarioAlert& a : s.alerts) {
        nlohmann::json labels = {{"alertname", a.name}, {"kind", a.kind}, {"name", a.object},
                                 {"scenario", s.name}};
        if (!a.ns.empty()) labels["namespace"] = a.ns;
        if (!a.node.empty()) labels["node"] = a.node;
        if (!a.workload.empty()) labels["workload"] = a.workload;
        if (a.kind == "Pod") labels["pod"] = a.object;
        out << nlohmann::json{{"scenario", s.name},
                              {"at_seconds", absl::ToDoubleSeconds(a.at)},
                              {"resolved", a.resolved},
                              {"group", a.group},
                              {"labels", labels}}
                   .dump()
            << "\n";
      }
    }
  }
  const Quality q = Combine(all);
  std::printf("%-28s %7d %9d %6.1f%% %9.3f %7.3f %8d\n", "all", q.alerts, q.incidents,
              100 * q.noise_reduction, q.precision, q.recall, pages_total);
  return 0;
}
