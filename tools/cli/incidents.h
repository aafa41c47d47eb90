// `k8i incidents|incident|ack|resolve|graph|revisions|timeline|patterns`: IncidentService from the command line,
// authenticated with an API key (K8I_API_KEY). The pure parts (argument parsing, ages, tables,
// the dependency tree) are free functions here so they can be tested without a server; they
// live in incidents_format.cc, the RPCs in incidents.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "k8intel/v1/incidents.pb.h"

namespace k8i::cli {

// CanonicalKind maps a kind as typed — any case, singular or plural, or a kubectl short form
// (po, deploy, no, cm, pvc, svc, sts, ds, rs, cj, ns) — to the Kubernetes kind ("Pod", ...).
// InvalidArgument for a kind the incident graph does not know.
absl::StatusOr<std::string> CanonicalKind(absl::string_view kind);

// IsClusterScoped reports whether a canonical kind has no namespace (Node, Namespace).
bool IsClusterScoped(absl::string_view kind);

// ParseObjectArg parses KIND/NAMESPACE/NAME, or KIND/NAME for a cluster-scoped kind, into an
// ObjectKey with the canonical kind. InvalidArgument with a message fit for the terminal.
absl::StatusOr<k8intel::v1::ObjectKey> ParseObjectArg(absl::string_view arg);

// ClusterId accepts `prod` or `clusters/prod` and returns `prod`; "" stays "".
std::string ClusterId(absl::string_view cluster);

// FormatAge renders a duration the way kubectl's AGE column does: 45s, 12m, 3h, 2d, 1y
// (truncated to the unit; negative durations, from clock skew, are 0s).
std::string FormatAge(absl::Duration d);

// FormatTime renders a timestamp as RFC 3339 UTC to the second; "" when unset (zero).
std::string FormatTime(const google::protobuf::Timestamp& t);

// FormatObject renders Kind/namespace/name, or Kind/name when the namespace is empty.
std::string FormatObject(const k8intel::v1::ObjectKey& o);

// Enum names as shown: lower case without the enum prefix ("open", "critical", "workload",
// "severity_raised"); "-" for UNSPECIFIED.
std::string StateName(k8intel::v1::IncidentState s);
std::string SeverityName(k8intel::v1::Severity s);
std::string ChangeTypeName(k8intel::v1::IncidentChangeType t);

// FormatTable aligns rows (the first is the header) into columns three spaces apart, like
// kubectl; widths count UTF-8 code points, and the last column is not padded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// FormatIncidentTable is the `k8i incidents` table: ID, CLUSTER, STATE, SEVERITY, FIRING, AGE
// (from open_time to `now`), TITLE.
std::string FormatIncidentTable(const std::vector<k8intel::v1::Incident>& incidents,
                                absl::Time now);

// FormatIncident is the `k8i incident` view: the fields, then MEMBERS, EVIDENCE and CHANGES.
std::string FormatIncident(const k8intel::v1::Incident& incident);

// FormatTimeline is the `k8i timeline` view: one line per entry (TIME, WHAT, OBJECT, RELATION,
// TEXT) with the first failure marked "✖ first failure" and the likely causes "◀ cause #N",
// then the ranked causes with their reason and arithmetic.
std::string FormatTimeline(const k8intel::v1::GetTimelineResponse& timeline);

// FormatPatterns is the `k8i patterns` view: the window, then each pattern (kind, subject,
// N of M and confidence, its summary) with its evidence, one line each: ✔ an occurrence,
// · an opportunity that passed without it, ? a crash after no change.
std::string FormatPatterns(const k8intel::v1::ListPatternsResponse& patterns);

// FormatRevisionTable is the `k8i revisions` table: REV, TIME, CHANGES (joined with "; ").
std::string FormatRevisionTable(const std::vector<k8intel::v1::Revision>& revisions);

// RenderDependencyTree draws the graph as a tree from `root`: under each object its out-edges
// (what it depends on, `├─ runs-on → Node/node-1 (Ready)`), then its in-edges (what depends on
// it, `└─ ← selects Service/shop/web (present)`). Each object is expanded once, under the
// object nearest the root (breadth-first); any other edge to it prints "(see above)" or
// "(see below)". The edge an object was reached by is not repeated under it.
std::string RenderDependencyTree(const k8intel::v1::GetDependenciesResponse& graph,
                                 const k8intel::v1::ObjectKey& root);

// IncidentCommands registers the incident subcommands on `app`; Run executes the one that was
// parsed (returns -1 when none of them was) over the channel `connect` returns.
class IncidentCommands {
 public:
  explicit IncidentCommands(CLI::App& app);
  int Run(const std::function<std::shared_ptr<grpc::Channel>()>& connect);

 private:
  CLI::App* list_ = nullptr;
  CLI::App* get_ = nullptr;
  CLI::App* ack_ = nullptr;
  CLI::App* resolve_ = nullptr;
  CLI::App* graph_ = nullptr;
  CLI::App* revisions_ = nullptr;
  CLI::App* timeline_ = nullptr;
  std::string since_ = "6h";
  CLI::App* patterns_ = nullptr;
  int days_ = 0;
  std::string api_key_, cluster_, filter_, state_, order_by_, output_ = "table", target_, comment_;
  int page_size_ = 0;
  int depth_ = 0;
  bool all_ = false;
};

}  // namespace k8i::cli
