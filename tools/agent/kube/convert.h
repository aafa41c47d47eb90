// Conversion of Kubernetes API objects (JSON as served by the API server) into the k8intel
// telemetry protos: Node, Namespace, Workload, Pod, PersistentVolumeClaim, Service, ConfigMap,
// TlsSecret, HelmRelease, SecretMeta, PodDisruptionBudget and KubeEvent. Never throws: missing
// or mistyped fields become defaults.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::kube {

// ParseTime parses an RFC 3339 timestamp ("2024-01-02T03:04:05Z"); nullopt if invalid.
std::optional<absl::Time> ParseTime(const std::string& s);
// SetTime sets `ts` from an RFC 3339 string; leaves it unset when the string is invalid.
void SetTime(const std::string& s, google::protobuf::Timestamp* ts);

// ToMeta converts `metadata`.
k8intel::v1::ObjectMeta ToMeta(const Json& metadata);

// ToKubeObject converts an object of `resource` (a name from KnownResources(): "pods",
// "deployments", ...). Secrets become TlsSecret, HelmRelease or, for every other type,
// SecretMeta (never a value). Returns nullopt for objects k8intel does not inventory (events)
// and for anything without metadata.name.
std::optional<k8intel::v1::KubeObject> ToKubeObject(const std::string& resource, const Json& obj,
                                                    const std::string& secret_hash_key = "");

// ToKubeEvent converts a core/v1 Event; nullopt when it lacks a uid, a reason or the
// involved object's kind and name (ingest would refuse the batch).
std::optional<k8intel::v1::KubeEvent> ToKubeEvent(const Json& obj);

// PodRunningReady is true when the pod phase is Running and its Ready condition is True.
bool PodRunningReady(const Json& pod);

// ObjectMetaOf returns the meta of whichever object `o` holds.
const k8intel::v1::ObjectMeta& ObjectMetaOf(const k8intel::v1::KubeObject& o);

}  // namespace k8i::agent::kube
