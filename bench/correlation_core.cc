// k8i-bench-correlation-core: the grouping engine alone (services/correlation/core), one
// thread. Streams synthetic alerts of a large cluster — W workloads of P pods on N nodes, a few
// alert names, every alert firing, repeating and resolving — through a ClusterCorrelator and
// prints alerts/s per core, then holds `--active` alerts firing at once and prints the memory
// per active alert. The in-run reference is the floor of any correlator: fingerprinting the
// same alerts and keeping them in a hash map (alerts/s and bytes per alert), so the ratio is
// the price of grouping, incidents and evidence over bare deduplication.
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/util.h"
#include "libs/common/ids.h"
#include "services/correlation/core/correlator.h"

namespace {

namespace v1 = ::k8intel::v1;
using k8i::bench::Fixed;
using k8i::bench::Thousands;

int64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * 4096;
}

struct Stream {
  int workloads, pods, nodes;
  std::vector<std::string> names = {"HighCPU", "HighMemory", "Unhealthy", "BackOff"};

  // Alert number i of the stream: pod i % (W*P) of its workload, name by i / (W*P).
  v1::Alert Make(int64_t i, bool firing, absl::Time at) const {
    const int64_t slot = i % (static_cast<int64_t>(workloads) * pods);
    const int w = static_cast<int>(slot / pods), p = static_cast<int>(slot % pods);
    v1::Alert a;
    a.set_name(names[(i / (static_cast<int64_t>(workloads) * pods)) % names.size()]);
    a.set_severity(v1::SEVERITY_WARNING);
    a.set_status(firing ? v1::ALERT_STATUS_FIRING : v1::ALERT_STATUS_RESOLVED);
    auto* r = a.mutable_resource();
    r->set_namespace_name(absl::StrCat("ns-", w % 50));
    r->set_pod_name(absl::StrCat("w", w, "-", p));
    r->set_node_name(absl::StrCat("node-", (w * 7 + p) % nodes));
    r->set_workload_kind("Deployment");
    r->set_workload_name(absl::StrCat("w", w));
    const int64_t s = absl::ToUnixSeconds(at);
    if (firing) {
      a.mutable_start_time()->set_seconds(s);
    } else {
      a.mutable_end_time()->set_seconds(s);
    }
    return a;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"k8i-bench-correlation-core: the grouping engine's throughput and memory"};
  int64_t alerts = 1'000'000, active = 1'000'000;
  int workloads = 2000, pods = 25, nodes = 500;
  app.add_option("--alerts", alerts, "alert reports streamed for the throughput figure");
  app.add_option("--active", active, "alerts held firing at once for the memory figure");
  app.add_option("--workloads", workloads);
  app.add_option("--pods", pods, "pods per workload");
  app.add_option("--nodes", nodes);
  CLI11_PARSE(app, argc, argv);
  Stream stream{workloads, pods, nodes};
  const absl::Time t0 = absl::FromUnixSeconds(1'780'000'000);

  // Pre-render the reports so that protobuf construction is not measured: firing, a repeat,
  // and a resolution 2 minutes later, over 200 ms of event time per report.
  std::vector<std::pair<v1::Alert, absl::Time>> reports;
  reports.reserve(alerts);
  for (int64_t i = 0; static_cast<int64_t>(reports.size()) < alerts; ++i) {
    const absl::Time at = t0 + absl::Milliseconds(200 * i);
    reports.push_back({stream.Make(i, true, at), at});
    if (i % 3 == 0) reports.push_back({stream.Make(i, true, at), at + absl::Seconds(30)});
    if (i % 2 == 0) reports.push_back({stream.Make(i, false, at + absl::Minutes(2)), at + absl::Minutes(2)});
  }
  reports.resize(alerts);

  // Reference: fingerprint + hash map (the floor of deduplication).
  absl::flat_hash_map<std::string, int64_t> seen;
  absl::Time start = absl::Now();
  for (const auto& [a, at] : reports) {
    const std::string fp = k8i::Sha256Hex(absl::StrCat(a.name(), "\x1f", a.resource().namespace_name(),
                                                        "\x1f", a.resource().pod_name()))
                               .substr(0, 32);
    ++seen[fp];
  }
  const double ref_s = absl::ToDoubleSeconds(absl::Now() - start);

  k8i::correlation::ClusterCorrelator c("bench", "c1");
  start = absl::Now();
  int64_t changes = 0;
  for (size_t i = 0; i < reports.size(); ++i) {
    c.OnAlert(reports[i].first, reports[i].second);
    if (i % 10'000 == 0) {
      changes += static_cast<int64_t>(c.TakeChanges().size());
      c.TakeDirtyIncidents();
      c.TakeDirtyMembers();
      c.TakeFirings();
      c.Forget(c.watermark() - absl::Hours(2));
    }
  }
  const double core_s = absl::ToDoubleSeconds(absl::Now() - start);
  changes += static_cast<int64_t>(c.TakeChanges().size());
  std::printf("throughput: %s alert reports (%d workloads x %d pods, %d nodes)\n",
              Thousands(static_cast<double>(alerts)).c_str(), workloads, pods, nodes);
  std::printf("  correlator          %12s reports/s  (%s incidents, %s changes)\n",
              Thousands(alerts / core_s).c_str(), Thousands(c.incidents().size()).c_str(),
              Thousands(static_cast<double>(changes)).c_str());
  std::printf("  reference (dedup)   %12s reports/s\n", Thousands(alerts / ref_s).c_str());
  std::printf("  ratio correlator / reference: %sx\n", Fixed(ref_s / core_s, 3).c_str());

  // Memory: `active` distinct alerts firing at once, one workload each 25 pods.
  reports.clear();
  reports.shrink_to_fit();
  seen.clear();
  const int64_t rss0 = RssBytes();
  {
    k8i::correlation::ClusterCorrelator held("bench", "c2");
    Stream wide{static_cast<int>((active + 24) / 25), 25, nodes};
    for (int64_t i = 0; i < active; ++i) {
      held.OnAlert(wide.Make(i, true, t0), t0);
      if (i % 100'000 == 0) {
        held.TakeChanges();
        held.TakeDirtyIncidents();
        held.TakeDirtyMembers();
        held.TakeFirings();
      }
    }
    held.TakeChanges();
    held.TakeDirtyIncidents();
    held.TakeDirtyMembers();
    held.TakeFirings();
    const int64_t rss1 = RssBytes();
    absl::flat_hash_map<std::string, int64_t> ref;
    for (int64_t i = 0; i < active; ++i) {
      ref[k8i::Sha256Hex(absl::StrCat(i)).substr(0, 32)] = i;
    }
    const int64_t rss2 = RssBytes();
    std::printf("memory: %s active alerts in %s incidents\n",
                Thousands(static_cast<double>(held.active_alerts())).c_str(),
                Thousands(held.incidents().size()).c_str());
    std::printf("  correlator          %8s bytes per active alert (RSS +%s MB)\n",
                Thousands(static_cast<double>(rss1 - rss0) / active).c_str(),
                Thousands((rss1 - rss0) / 1e6).c_str());
    std::printf("  reference (dedup)   %8s bytes per alert\n",
                Thousands(static_cast<double>(rss2 - rss1) / active).c_str());
  }
  return 0;
}
