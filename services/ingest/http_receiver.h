// HttpReceiver: ingest's HTTP endpoint (K8I_HTTP_ADDR, 127.0.0.1:7101) for what already runs
// beside a cluster, so it can send to k8intel without the agent:
//   POST /api/v1/write         Prometheus remote_write 1.0 (snappy-compressed WriteRequest)
//   POST /api/v1/alertmanager  Alertmanager webhook notifications (payload version 4)
// Both take the credentials of the API: a cluster's agent token (`Authorization: Bearer
// k8i_agt_...`), which names the tenant and the cluster, or an API key (or SSO token) of the
// operator or admin role, which names the tenant, with the cluster in the query
// (`?cluster=prod`; a cluster the tenant registered). Then the same Ingestor as agent batches:
// stored
// durably, deduplicated by a batch id derived from the request's bytes (a sender's retry is
// stored once), published on k8i.metrics.v1 / k8i.alerts.v1.
//
// Answers: 204 when everything was stored; 400 with the reasons when some data was invalid
// (the valid rest is stored, as Prometheus' receiver does; senders do not retry 4xx); 401/403
// for credentials, 404 for a cluster the tenant did not register; 413 for an oversized body or
// too many elements; 415 for a wrong content type, encoding or protocol version; 503 with
// Retry-After when ingest is over capacity or storage or Kafka is unavailable, which both
// senders retry (not 429: Alertmanager retries only 5xx, Prometheus 429 only when configured).
// Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "libs/auth/authenticator.h"
#include "libs/common/clock.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/metrics.h"
#include "services/ingest/core/ingestor.h"
#include "services/ingest/core/limits.h"

namespace k8i::ingest {

struct HttpReceiverOptions {
  Limits limits;
  // Decompressed remote_write bodies above this are refused with 413 (Prometheus sends about
  // 1 MiB: max_samples_per_send is 2000 by default, at a few hundred bytes each).
  int64_t max_decompressed = 16 << 20;
  // So are requests of more series, metadata, labels and samples than this, counted before
  // parsing (each is an allocated message once parsed; 2000 samples of 12 labels are 28,000).
  int64_t max_elements = 1'000'000;
};

class HttpReceiver {
 public:
  // Borrows everything; all must outlive it. `agents` checks agent tokens; `users` (null:
  // agent tokens only) API keys and SSO tokens, whose cluster `clusters` must know.
  HttpReceiver(Ingestor* ingestor, auth::Authenticator* agents, auth::Authenticator* users,
               ClusterDirectory* clusters, const Clock* clock, metrics::Registry& registry,
               HttpReceiverOptions options);

  metrics::HttpResponse Handle(const metrics::HttpRequest& request);
  // Admit checks a request's head (path, method, credentials, cluster) before its body is
  // read: the refusal, or nothing when Handle should read and take it (HttpHeadCheck).
  std::optional<metrics::HttpResponse> Admit(const metrics::HttpRequest& head);

 private:
  // Check is Admit's decision without counting it: the refusal, or the endpoint and caller.
  std::optional<metrics::HttpResponse> Check(const metrics::HttpRequest& request,
                                             std::string* endpoint, AgentIdentity* who);
  metrics::HttpResponse RemoteWrite(const metrics::HttpRequest& request,
                                    const AgentIdentity& who);
  metrics::HttpResponse Alertmanager(const metrics::HttpRequest& request,
                                     const AgentIdentity& who);
  metrics::HttpResponse Respond(const std::string& endpoint, metrics::HttpResponse r);
  // Caller resolves who is writing and for which cluster; an error answer when it can't.
  std::optional<metrics::HttpResponse> Caller(const metrics::HttpRequest& request,
                                              AgentIdentity* who);

  Ingestor* ingestor_;
  auth::Authenticator* agents_;
  auth::Authenticator* users_;
  ClusterDirectory* clusters_;
  const Clock* clock_;
  HttpReceiverOptions options_;
  metrics::Family<metrics::Counter>& requests_;
  metrics::Family<metrics::Counter>& samples_;
  metrics::Family<metrics::Counter>& alerts_;
};

}  // namespace k8i::ingest
