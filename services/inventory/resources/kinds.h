// The resources ResourceService reads, each described once as data: where its rows live, the
// fields a filter or order_by may name (trusted SQL, matched by the indexes of the telemetry
// schema's read-model migration), the parents it can be listed under, its name pattern, and
// how a row becomes its API message. The store and the service are generic over this.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "libs/aip/filter.h"
#include "libs/aip/resource_name.h"
#include "pqxx/pqxx"

namespace k8i::inventory::resources {

// Binder turns the value of one name variable into a SQL condition, appending its bind
// parameters to `params` (the condition refers to them as $<params.size()> after the push).
// InvalidArgument when the value cannot name anything of this kind.
using Binder = std::function<absl::StatusOr<std::string>(const std::string& value,
                                                        std::vector<std::string>& params)>;

// A resource name form: the pattern and a binder for each of its variables.
struct NameForm {
  aip::ResourcePattern pattern;
  std::map<std::string, Binder> binders;
  // Whether "-" (any) is accepted for a variable (then it adds no condition).
  bool allow_wildcard = false;
};

// Row columns every kind selects first, in this order (the converter reads them by index).
// The body is the object as serialized protobuf (kBodyProto) or, when that is NULL, as JSON
// (kBody). Kinds add their own columns from kFirstExtraColumn.
enum Column : int {
  kCluster = 0,
  kNamespace,
  kObjectName,
  kBody,
  kUpdateTime,
  kBodyProto,
  kFirstExtraColumn
};

struct KindSpec {
  // The List method's name, for page-token fingerprints.
  std::string list_method;
  // FROM clause (table with alias, joins).
  std::string from;
  // The tenant column; the store always adds `<tenant_column> = $1`.
  std::string tenant_column;
  // Further conditions every query of this kind has (no parameters).
  std::string base;
  // The selected columns: cluster, namespace, object name, JSON body, update time (as Unix
  // microseconds), protobuf body, then the kind's own.
  std::string columns;
  aip::Schema schema;
  // A unique, sortable field that makes every order total.
  std::string tiebreak;
  // The order when order_by is empty.
  std::string default_order;
  std::vector<NameForm> parents;
  // The Get name form (always set; optional only because patterns have no default).
  std::optional<NameForm> name;
  // Fills the kind's resource message from a row.
  std::function<absl::Status(const pqxx::row& row, google::protobuf::Message* out)> to_proto;
};

const KindSpec& Nodes();
const KindSpec& Namespaces();
const KindSpec& Workloads();
const KindSpec& Pods();
const KindSpec& Containers();
const KindSpec& PersistentVolumeClaims();
const KindSpec& HelmReleases();
const KindSpec& Events();
const KindSpec& Alerts();

// Pattern parses a resource name pattern written in code (CHECK-fails on a malformed one).
aip::ResourcePattern Pattern(const std::string& pattern);
// Equals binds a name variable as `<sql> = $n`.
Binder Equals(std::string sql);

// Every kind, for tests (schemas, EXPLAIN checks).
std::vector<const KindSpec*> AllKinds();

// The workload id of a name: "deployment.api" ↔ ("Deployment", "api").
std::string WorkloadId(const std::string& kind, const std::string& name);

}  // namespace k8i::inventory::resources
