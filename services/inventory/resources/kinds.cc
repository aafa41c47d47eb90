#include "services/inventory/resources/kinds.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/resources.pb.h"
#include "libs/common/check.h"

namespace k8i::inventory::resources {
namespace {

namespace v1 = k8intel::v1;
using aip::FieldSpec;
using aip::FieldType;

// --- name forms --------------------------------------------------------------------------

// The Kubernetes kinds a workload id may start with, by their lower-case spelling.
const std::map<std::string, std::string>& WorkloadKinds() {
  static const auto* kinds = new std::map<std::string, std::string>{
      {"cronjob", "CronJob"}, {"daemonset", "DaemonSet"}, {"deployment", "Deployment"},
      {"job", "Job"},         {"replicaset", "ReplicaSet"}, {"statefulset", "StatefulSet"}};
  return *kinds;
}

absl::StatusOr<std::pair<std::string, std::string>> SplitWorkloadId(const std::string& id) {
  const size_t dot = id.find('.');
  auto it = dot == std::string::npos ? WorkloadKinds().end()
                                     : WorkloadKinds().find(id.substr(0, dot));
  if (it == WorkloadKinds().end() || dot + 1 >= id.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workload id \"", id,
        "\" is not <kind>.<name> with kind one of cronjob, daemonset, deployment, job, "
        "replicaset, statefulset"));
  }
  return std::make_pair(it->second, id.substr(dot + 1));
}

// A workload named by its id, matched on the object's own kind and name columns.
Binder WorkloadObject() {
  return [](const std::string& value,
            std::vector<std::string>& params) -> absl::StatusOr<std::string> {
    auto parts = SplitWorkloadId(value);
    if (!parts.ok()) return parts.status();
    params.push_back(parts->first);
    params.push_back(parts->second);
    return absl::StrCat("o.kind = $", params.size() - 1, " AND o.name = $", params.size());
  };
}

// Pods owned by a workload, matched on the pod's resolved owner.
Binder PodWorkload() {
  return [](const std::string& value,
            std::vector<std::string>& params) -> absl::StatusOr<std::string> {
    auto parts = SplitWorkloadId(value);
    if (!parts.ok()) return parts.status();
    params.push_back(parts->first);
    params.push_back(parts->second);
    return absl::StrCat("coalesce(o.object ->> 'workload_kind', '') = $", params.size() - 1,
                        " AND coalesce(o.object ->> 'workload_name', '') = $", params.size());
  };
}

NameForm Form(const std::string& pattern, std::map<std::string, Binder> binders, bool wildcard) {
  return {Pattern(pattern), std::move(binders), wildcard};
}

// --- fields ------------------------------------------------------------------------------

FieldSpec Str(std::string sql, bool sortable = false) {
  return {.sql = std::move(sql), .type = FieldType::kString, .sortable = sortable};
}
FieldSpec Int(std::string sql, bool sortable = false) {
  return {.sql = std::move(sql), .type = FieldType::kInt, .sortable = sortable};
}
FieldSpec Bool(std::string sql) { return {.sql = std::move(sql), .type = FieldType::kBool}; }
FieldSpec Time(std::string sql, bool sortable = false) {
  return {.sql = std::move(sql), .type = FieldType::kTimestamp, .sortable = sortable};
}
FieldSpec Map(std::string sql) { return {.sql = std::move(sql), .type = FieldType::kMap}; }

// A string field of the object's JSON, '' when absent (the indexes use the same expression).
std::string Json(const char* field) {
  return absl::StrCat("coalesce(o.object ->> '", field, "', '')");
}

// Fields every object kind has.
aip::Schema ObjectFields(bool namespaced) {
  aip::Schema s = {
      {"cluster", Str("o.cluster_id", true)},
      {"name", Str("o.name", true)},
      {"uid", Str("o.uid", true)},
      {"create_time", Time("telemetry.k8i_create_time(o.object)", true)},
      {"labels", Map("(o.object -> 'meta' -> 'labels')")},
  };
  if (namespaced) s["namespace"] = Str("o.namespace", true);
  return s;
}

std::string ObjectBase(const char* kind, bool namespaced) {
  // Cluster-scoped objects have namespace '': saying so lets the planner use the list index's
  // order (cluster, namespace, name, uid) as (cluster, name, uid).
  return absl::StrCat("o.kind = '", kind, "' AND NOT o.deleted",
                      namespaced ? "" : " AND o.namespace = ''");
}

constexpr char kObjectColumns[] =
    "o.cluster_id, o.namespace, o.name, CASE WHEN o.object_pb IS NULL THEN o.object::text END, "
    "(extract(epoch FROM o.updated_at) * 1000000)::bigint, o.object_pb";

// --- rows to messages --------------------------------------------------------------------

// ParseBody reads the object from its protobuf column, or its JSON when that is NULL.
absl::Status ParseJson(const pqxx::field& f, google::protobuf::Message* out);
absl::Status ParseBody(const pqxx::row& row, google::protobuf::Message* out) {
  if (row[kBodyProto].is_null()) return ParseJson(row[kBody], out);
  const pqxx::binarystring bytes(row[kBodyProto]);
  if (!out->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError("stored object does not parse");
  }
  return absl::OkStatus();
}

absl::Status ParseJson(const pqxx::field& f, google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(f.c_str(), out, opts);
  if (!st.ok()) {
    return absl::DataLossError(absl::StrCat("stored object does not parse: ", st.ToString()));
  }
  return absl::OkStatus();
}

void SetMicros(const pqxx::field& f, google::protobuf::Timestamp* out) {
  if (f.is_null()) return;
  *out = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(f.as<int64_t>());
}

std::string S(const pqxx::field& f) { return f.is_null() ? "" : f.as<std::string>(); }

template <typename Resource>
Resource* As(google::protobuf::Message* m) {
  auto* r = dynamic_cast<Resource*>(m);
  K8I_CHECK(r != nullptr, "resource message of the wrong type");
  return r;
}

std::string ClusterName(const pqxx::row& row) { return absl::StrCat("clusters/", S(row[kCluster])); }
std::string NamespaceName(const pqxx::row& row) {
  return absl::StrCat(ClusterName(row), "/namespaces/", S(row[kNamespace]));
}


// The name of the scope a row lives in: its namespace, or its cluster when cluster-scoped.
std::string ScopeName(const pqxx::row& row) {
  return S(row[kNamespace]).empty() ? ClusterName(row) : NamespaceName(row);
}

// ObjectKind fills what every kind stored in telemetry.objects shares: table, columns, common
// fields, tiebreak, default order, and the parent and name forms, the name being
// <scope>/<collection>/{<id_var>} with the object's name as id.
KindSpec* ObjectKind(const char* list_method, const char* kind, bool namespaced,
                     const std::string& collection, const std::string& id_var) {
  auto* k = new KindSpec;
  k->list_method = list_method;
  k->from = "telemetry.objects o";
  k->tenant_column = "o.tenant_id";
  k->base = ObjectBase(kind, namespaced);
  k->columns = kObjectColumns;
  k->schema = ObjectFields(namespaced);
  k->tiebreak = "uid";
  std::map<std::string, Binder> name_binders = {{"cluster", Equals("o.cluster_id")},
                                                {id_var, Equals("o.name")}};
  if (namespaced) {
    k->default_order = "cluster, namespace, name";
    k->parents = {Form("clusters/{cluster}/namespaces/{namespace}",
                       {{"cluster", Equals("o.cluster_id")}, {"namespace", Equals("o.namespace")}},
                       true)};
    name_binders["namespace"] = Equals("o.namespace");
    k->name = Form(absl::StrCat("clusters/{cluster}/namespaces/{namespace}/", collection, "/{",
                                id_var, "}"),
                   std::move(name_binders), false);
  } else {
    k->default_order = "cluster, name";
    k->parents = {Form("clusters/{cluster}", {{"cluster", Equals("o.cluster_id")}}, true)};
    k->name = Form(absl::StrCat("clusters/{cluster}/", collection, "/{", id_var, "}"),
                   std::move(name_binders), false);
  }
  return k;
}

// ObjectToProto is the row-to-message of kinds whose message is just name, body (through
// `body`, e.g. &PersistentVolumeClaimResource::mutable_persistent_volume_claim) and update time.
template <typename Resource, typename Body>
std::function<absl::Status(const pqxx::row&, google::protobuf::Message*)> ObjectToProto(
    Body* (Resource::*body)(), std::string collection) {
  return [body, collection](const pqxx::row& row, google::protobuf::Message* m) {
    auto* out = As<Resource>(m);
    if (auto st = ParseBody(row, (out->*body)()); !st.ok()) return st;
    out->set_name(absl::StrCat(ScopeName(row), "/", collection, "/", S(row[kObjectName])));
    SetMicros(row[kUpdateTime], out->mutable_update_time());
    return absl::OkStatus();
  };
}

}  // namespace

aip::ResourcePattern Pattern(const std::string& p) {
  auto pattern = aip::ResourcePattern::Create(p);
  K8I_CHECK(pattern.ok(), p.c_str());
  return *std::move(pattern);
}

Binder Equals(std::string sql) {
  return [sql = std::move(sql)](const std::string& value,
                                std::vector<std::string>& params) -> absl::StatusOr<std::string> {
    params.push_back(value);
    return absl::StrCat(sql, " = $", params.size());
  };
}


std::string WorkloadId(const std::string& kind, const std::string& name) {
  return absl::StrCat(absl::AsciiStrToLower(kind), ".", name);
}


const KindSpec& Nodes() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListNodes", "Node", false, "nodes", "node");
    k->columns = absl::StrCat(kObjectColumns, ", telemetry.k8i_node_ready(o.object)");
    k->schema["ready"] = Bool("telemetry.k8i_node_ready(o.object)");
    k->schema["unschedulable"] = Bool("coalesce((o.object ->> 'unschedulable')::boolean, false)");
    k->schema["instance_type"] = Str(Json("instance_type"));
    k->schema["zone"] = Str(Json("zone"));
    k->schema["kubelet_version"] = Str(Json("kubelet_version"));
    const auto base = ObjectToProto(&v1::NodeResource::mutable_node, "nodes");
    k->to_proto = [base](const pqxx::row& row, google::protobuf::Message* m) {
      if (auto st = base(row, m); !st.ok()) return st;
      As<v1::NodeResource>(m)->set_ready(row[kFirstExtraColumn].as<bool>());
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

const KindSpec& Namespaces() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListNamespaces", "Namespace", false, "namespaces", "namespace");
    k->schema["phase"] = Str(Json("phase"));
    k->to_proto = ObjectToProto(&v1::NamespaceResource::mutable_namespace_, "namespaces");
    return k;
  }();
  return *k;
}

const KindSpec& Workloads() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListWorkloads", "", true, "workloads", "workload");
    k->base =
        "o.kind IN ('Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet') "
        "AND NOT o.deleted";
    k->columns = absl::StrCat(kObjectColumns, ", o.kind");
    k->schema["kind"] = Str("o.kind");
    k->schema["desired_replicas"] = Int("coalesce((o.object ->> 'desired_replicas')::bigint, 0)");
    k->schema["ready_replicas"] = Int("coalesce((o.object ->> 'ready_replicas')::bigint, 0)");
    // The id is <kind>.<name>, matched on the object's kind and name.
    k->name->binders["workload"] = WorkloadObject();
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      auto* out = As<v1::WorkloadResource>(m);
      if (auto st = ParseBody(row, out->mutable_workload()); !st.ok()) return st;
      out->set_name(absl::StrCat(NamespaceName(row), "/workloads/",
                                 WorkloadId(S(row[kFirstExtraColumn]), S(row[kObjectName]))));
      SetMicros(row[kUpdateTime], out->mutable_update_time());
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

const KindSpec& Pods() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListPods", "Pod", true, "pods", "pod");
    k->columns = absl::StrCat(kObjectColumns, ", telemetry.k8i_pod_restarts(o.object)");
    k->schema["node"] = Str(Json("node_name"), true);
    k->schema["phase"] = Str(Json("phase"));
    k->schema["qos_class"] = Str(Json("qos_class"));
    k->schema["workload_kind"] = Str(Json("workload_kind"));
    k->schema["workload_name"] = Str(Json("workload_name"));
    k->schema["reason"] = Str(Json("reason"));
    k->schema["restarts"] = Int("telemetry.k8i_pod_restarts(o.object)", true);
    k->parents.push_back(
        Form("clusters/{cluster}/nodes/{node}",
             {{"cluster", Equals("o.cluster_id")}, {"node", Equals(Json("node_name"))}}, true));
    k->parents.push_back(Form("clusters/{cluster}/namespaces/{namespace}/workloads/{workload}",
                              {{"cluster", Equals("o.cluster_id")},
                               {"namespace", Equals("o.namespace")},
                               {"workload", PodWorkload()}},
                              false));
    const auto base = ObjectToProto(&v1::PodResource::mutable_pod, "pods");
    k->to_proto = [base](const pqxx::row& row, google::protobuf::Message* m) {
      if (auto st = base(row, m); !st.ok()) return st;
      auto* out = As<v1::PodResource>(m);
      out->set_restarts(row[kFirstExtraColumn].as<int32_t>());
      const auto& pod = out->pod();
      if (!pod.workload_kind().empty() && !pod.workload_name().empty()) {
        out->set_workload(absl::StrCat(NamespaceName(row), "/workloads/",
                                       WorkloadId(pod.workload_kind(), pod.workload_name())));
      }
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

const KindSpec& Containers() {
  static const KindSpec* k = [] {
    auto* k = new KindSpec;
    k->list_method = "ListContainers";
    k->from =
        "telemetry.objects o CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN "
        "jsonb_typeof(o.object -> 'containers') = 'array' THEN o.object -> 'containers' ELSE "
        "'[]'::jsonb END) AS c(v)";
    k->tenant_column = "o.tenant_id";
    k->base = ObjectBase("Pod", true);
    k->columns =
        "o.cluster_id, o.namespace, o.name, c.v::text, "
        "(extract(epoch FROM o.updated_at) * 1000000)::bigint, NULL::bytea";
    const std::string cname = "coalesce(c.v ->> 'name', '')";
    k->schema = {
        {"name", Str(cname, true)},
        {"image", Str("coalesce(c.v ->> 'image', '')")},
        {"ready", Bool("coalesce((c.v ->> 'ready')::boolean, false)")},
        {"restarts", Int("coalesce((c.v ->> 'restart_count')::bigint, 0)", true)},
        {"state", Str("coalesce(c.v ->> 'state', '')")},
        {"state_reason", Str("coalesce(c.v ->> 'state_reason', '')")},
        {"last_termination_reason", Str("coalesce(c.v ->> 'last_termination_reason', '')")},
    };
    k->tiebreak = "name";
    k->default_order = "name";
    k->parents = {Form("clusters/{cluster}/namespaces/{namespace}/pods/{pod}",
                       {{"cluster", Equals("o.cluster_id")},
                        {"namespace", Equals("o.namespace")},
                        {"pod", Equals("o.name")}},
                       false)};
    k->name = Form("clusters/{cluster}/namespaces/{namespace}/pods/{pod}/containers/{container}",
                   {{"cluster", Equals("o.cluster_id")},
                    {"namespace", Equals("o.namespace")},
                    {"pod", Equals("o.name")},
                    {"container", Equals(cname)}},
                   false);
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      auto* out = As<v1::ContainerResource>(m);
      if (auto st = ParseJson(row[kBody], out->mutable_container()); !st.ok()) return st;
      out->set_name(absl::StrCat(NamespaceName(row), "/pods/", S(row[kObjectName]),
                                 "/containers/", out->container().name()));
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}


const KindSpec& PersistentVolumeClaims() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListPersistentVolumeClaims", "PersistentVolumeClaim", true,
                             "persistentVolumeClaims", "persistent_volume_claim");
    k->schema["phase"] = Str(Json("phase"));
    k->schema["storage_class"] = Str(Json("storage_class"));
    k->to_proto = ObjectToProto(&v1::PersistentVolumeClaimResource::mutable_persistent_volume_claim,
                                "persistentVolumeClaims");
    return k;
  }();
  return *k;
}

const KindSpec& HelmReleases() {
  static const KindSpec* k = [] {
    KindSpec* k = ObjectKind("ListHelmReleases", "HelmRelease", true, "helmReleases",
                             "helm_release");
    k->schema["release"] = Str(Json("release_name"));
    k->schema["chart"] = Str(Json("chart"));
    k->schema["status"] = Str(Json("status"));
    k->schema["revision"] = Int("coalesce((o.object ->> 'revision')::bigint, 0)");
    k->to_proto = ObjectToProto(&v1::HelmReleaseResource::mutable_helm_release, "helmReleases");
    return k;
  }();
  return *k;
}

const KindSpec& Events() {
  static const KindSpec* k = [] {
    auto* k = new KindSpec;
    k->list_method = "ListEvents";
    k->from = "telemetry.events e";
    k->tenant_column = "e.tenant_id";
    k->base = "TRUE";
    // kObjectName carries the event uid; the event's fields follow kFirstExtraColumn.
    k->columns =
        "e.cluster_id, e.involved_namespace, e.uid, NULL::text, "
        "(extract(epoch FROM e.received_at) * 1000000)::bigint, NULL::bytea, e.type, e.reason, "
        "e.message, "
        "e.involved_kind, e.involved_name, e.source_component, "
        "(extract(epoch FROM e.first_time) * 1000000)::bigint, "
        "(extract(epoch FROM e.last_time) * 1000000)::bigint, e.count";
    k->schema = {
        {"cluster", Str("e.cluster_id", true)},
        {"uid", Str("e.uid", true)},
        {"type", Str("e.type")},
        {"reason", Str("e.reason")},
        {"message", Str("e.message")},
        {"involved_kind", Str("e.involved_kind")},
        {"involved_namespace", Str("e.involved_namespace")},
        {"involved_name", Str("e.involved_name")},
        {"count", Int("e.count::bigint")},
        {"time", Time("coalesce(e.last_time, e.received_at)", true)},
    };
    k->tiebreak = "uid";
    k->default_order = "time desc";
    k->parents = {Form("clusters/{cluster}", {{"cluster", Equals("e.cluster_id")}}, true)};
    k->name = Form("clusters/{cluster}/events/{event}",
                   {{"cluster", Equals("e.cluster_id")}, {"event", Equals("e.uid")}}, false);
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      auto* out = As<v1::EventResource>(m);
      out->set_name(absl::StrCat(ClusterName(row), "/events/", S(row[kObjectName])));
      auto* e = out->mutable_event();
      const int x = kFirstExtraColumn;
      e->set_uid(S(row[kObjectName]));
      e->set_type(S(row[x]));
      e->set_reason(S(row[x + 1]));
      e->set_message(S(row[x + 2]));
      e->mutable_involved_object()->set_kind(S(row[x + 3]));
      e->mutable_involved_object()->set_namespace_(S(row[kNamespace]));
      e->mutable_involved_object()->set_name(S(row[x + 4]));
      e->set_source_component(S(row[x + 5]));
      SetMicros(row[x + 6], e->mutable_first_time());
      SetMicros(row[x + 7], e->mutable_last_time());
      e->set_count(row[x + 8].as<int32_t>());
      SetMicros(row[kUpdateTime], out->mutable_receive_time());
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

const KindSpec& Alerts() {
  static const KindSpec* k = [] {
    auto* k = new KindSpec;
    k->list_method = "ListAlerts";
    k->from = "telemetry.alerts a";
    k->tenant_column = "a.tenant_id";
    k->base = "TRUE";
    k->columns =
        "a.cluster_id, '', a.alert_id::text, a.resource::text, "
        "(extract(epoch FROM a.updated_at) * 1000000)::bigint, NULL::bytea, a.fingerprint, "
        "a.name, "
        "a.severity, a.status, (extract(epoch FROM a.starts_at) * 1000000)::bigint, "
        "(extract(epoch FROM a.ends_at) * 1000000)::bigint, a.labels::text, "
        "a.annotations::text, a.source, a.summary";
    k->schema = {
        {"cluster", Str("a.cluster_id", true)},
        {"id", Int("a.alert_id", true)},
        {"name", Str("a.name", true)},
        {"severity", Str("(CASE a.severity WHEN 1 THEN 'info' WHEN 2 THEN 'warning' WHEN 3 THEN "
                         "'critical' ELSE '' END)")},
        {"status",
         Str("(CASE a.status WHEN 1 THEN 'firing' WHEN 2 THEN 'resolved' ELSE '' END)")},
        {"source", Str("a.source")},
        {"fingerprint", Str("a.fingerprint")},
        {"start_time", Time("a.starts_at", true)},
        {"end_time", Time("a.ends_at")},
        {"labels", Map("a.labels")},
    };
    k->tiebreak = "id";
    k->default_order = "start_time desc";
    k->parents = {Form("clusters/{cluster}", {{"cluster", Equals("a.cluster_id")}}, true)};
    const Binder id = [](const std::string& value,
                         std::vector<std::string>& params) -> absl::StatusOr<std::string> {
      int64_t n;
      if (!absl::SimpleAtoi(value, &n) || n <= 0) {
        return absl::InvalidArgumentError(absl::StrCat("alert id \"", value, "\" is not a number"));
      }
      params.push_back(absl::StrCat(n));
      return absl::StrCat("a.alert_id = $", params.size(), "::bigint");
    };
    k->name = Form("clusters/{cluster}/alerts/{alert}",
                   {{"cluster", Equals("a.cluster_id")}, {"alert", id}}, false);
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      auto* out = As<v1::AlertResource>(m);
      out->set_name(absl::StrCat(ClusterName(row), "/alerts/", S(row[kObjectName])));
      auto* a = out->mutable_alert();
      const int x = kFirstExtraColumn;
      if (auto st = ParseJson(row[kBody], a->mutable_resource()); !st.ok()) return st;
      a->set_fingerprint(S(row[x]));
      a->set_name(S(row[x + 1]));
      a->set_severity(static_cast<v1::Severity>(row[x + 2].as<int>()));
      a->set_status(static_cast<v1::AlertStatus>(row[x + 3].as<int>()));
      SetMicros(row[x + 4], a->mutable_start_time());
      SetMicros(row[x + 5], a->mutable_end_time());
      // Labels and annotations are stored as JSON objects of strings.
      google::protobuf::Struct labels, annotations;
      if (auto st = ParseJson(row[x + 6], &labels); !st.ok()) return st;
      if (auto st = ParseJson(row[x + 7], &annotations); !st.ok()) return st;
      for (const auto& [key, value] : labels.fields()) {
        auto* l = a->add_labels();
        l->set_name(key);
        l->set_value(value.string_value());
      }
      std::sort(a->mutable_labels()->begin(), a->mutable_labels()->end(),
                [](const v1::Label& x, const v1::Label& y) { return x.name() < y.name(); });
      for (const auto& [key, value] : annotations.fields()) {
        (*a->mutable_annotations())[key] = value.string_value();
      }
      a->set_source(S(row[x + 8]));
      a->set_summary(S(row[x + 9]));
      SetMicros(row[kUpdateTime], out->mutable_update_time());
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

std::vector<const KindSpec*> AllKinds() {
  return {&Nodes(), &Namespaces(), &Workloads(), &Pods(), &Containers(),
          &PersistentVolumeClaims(), &HelmReleases(), &Events(), &Alerts()};
}

}  // namespace k8i::inventory::resources
