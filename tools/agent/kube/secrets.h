// Facts from Secrets and ConfigMaps that are safe to send: a ConfigMap's or a generic Secret's
// content hash and key names (never the data), a TLS certificate's validity, subject, issuer and
// DNS names (never key material), and a Helm release's name, chart, version and status.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "k8intel/v1/telemetry.pb.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::kube {

// ConfigMapHash returns the hex SHA-256 over the sorted keys and values of `data` and
// `binaryData` (length-prefixed, so no two different maps collide by concatenation).
std::string ConfigMapHash(const Json& configmap);

// SecretHash is ConfigMapHash over a Secret's `data` alone (its values as served, base64): equal
// content gives equal hashes, so a change is visible without the values ever leaving the cluster.
// With a `key` (the agent passes its own agent token, which the server stores only hashed) it
// is an HMAC-SHA256 instead, so that whoever reads the inventory cannot test guessed values
// against it; rotating the token changes every Secret's hash once (one revision each). Without
// a key (tests) it is the plain SHA-256.
std::string SecretHash(const Json& secret, const std::string& key = "");

// ToSecretMeta converts a Secret of any type other than `kubernetes.io/tls` and
// `helm.sh/release.v1`: metadata, type, the key names of `data` and SecretHash; never a value.
k8intel::v1::SecretMeta ToSecretMeta(const Json& secret, const std::string& key = "");

// CertFacts fills not_after, not_before, subject, issuer and dns_names of `out` from the first
// certificate of a PEM bundle.
absl::Status ParseCertificate(const std::string& pem, k8intel::v1::TlsSecret* out);

// ToTlsSecret converts a `kubernetes.io/tls` Secret (tls.crt is base64 PEM); meta is always set,
// the certificate facts when tls.crt parses.
k8intel::v1::TlsSecret ToTlsSecret(const Json& secret);

// ToHelmRelease converts a `helm.sh/release.v1` Secret: release name, status and revision from
// the labels `name`, `status`, `version`; chart, chart version and app version from the release
// payload (base64 → base64 → gzip → JSON) when it decodes.
k8intel::v1::HelmRelease ToHelmRelease(const Json& secret);

// DecodeHelmPayload decodes a release Secret's `data.release` value into the release JSON.
absl::StatusOr<Json> DecodeHelmPayload(const std::string& data_release);

}  // namespace k8i::agent::kube
