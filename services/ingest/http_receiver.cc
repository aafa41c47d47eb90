#include "services/ingest/http_receiver.h"

#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/common/ids.h"
#include "libs/common/url.h"
#include "libs/grpcx/status.h"
#include "prometheus/remote.pb.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/core/alertmanager.h"
#include "services/ingest/core/remote_write.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "snappy.h"

namespace k8i::ingest {
namespace {

using metrics::HttpRequest;
using metrics::HttpResponse;

constexpr char kWritePath[] = "/api/v1/write";
constexpr char kAlertmanagerPath[] = "/api/v1/alertmanager";

HttpResponse Text(int status, std::string body) {
  if (body.empty() || body.back() != '\n') body += '\n';
  return HttpResponse::Text(status, std::move(body));
}

// The media type without parameters, lowercased ("application/x-protobuf").
std::string MediaType(const HttpRequest& r) {
  const std::string* ct = r.Header("content-type");
  if (ct == nullptr) return "";
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(ct->substr(0, ct->find(';'))));
}

// MediaParameter returns the value of the Content-Type parameter `name` (case-insensitive
// name, quotes stripped), nullopt when absent.
std::optional<std::string> MediaParameter(const HttpRequest& r, absl::string_view name) {
  const std::string* ct = r.Header("content-type");
  if (ct == nullptr) return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(*ct, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == absl::string_view::npos) continue;
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(parts[i].substr(0, eq)), name)) {
      continue;
    }
    absl::string_view v = absl::StripAsciiWhitespace(parts[i].substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return std::nullopt;
}

// FromIngestError answers a failed Ingest: the sender must fix the data (4xx) or resend the
// same request later (503 with Retry-After). Over capacity is 503 too, not 429: Alertmanager
// retries only 5xx, and Prometheus retries 429 only when told to (retry_on_http_429).
HttpResponse FromIngestError(const absl::Status& s) {
  int code = 500;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists: code = 400; break;
    case absl::StatusCode::kPermissionDenied: code = 403; break;
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kDeadlineExceeded: code = 503; break;
    default: break;
  }
  HttpResponse r = Text(code, std::string(s.message()));
  if (code == 503) {
    const absl::Duration delay = grpcx::GetRetryDelay(s);
    const int64_t secs = std::max<int64_t>(
        1, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(delay))));
    r.headers.emplace_back("Retry-After", absl::StrCat(secs));
  }
  for (const auto& v : grpcx::GetFieldViolations(s)) {
    absl::StrAppend(&r.body, v.field, ": ", v.description, "\n");
  }
  return r;
}

// Store ingests each batch in order; the first failure stops (the sender resends the whole
// request, whose stored batches are then duplicates). AlreadyExists is such a resend whose
// batch came out different (the clock moved a sample across the age bounds, or metadata
// changed a type): the batch id, a hash of the request, was stored before — a duplicate.
absl::Status Store(Ingestor* ingestor, const AgentIdentity& who,
                   std::vector<k8intel::v1::TelemetryBatch>& batches) {
  for (auto& b : batches) {
    b.set_cluster(who.cluster);
    auto r = ingestor->Ingest(who, b);
    if (!r.ok() && !absl::IsAlreadyExists(r.status())) return r.status();
  }
  return absl::OkStatus();
}

// Elements counts what parsing the WriteRequest would allocate — its series and metadata, and
// their labels, samples and exemplars — without parsing it: a small body can hold millions of
// empty messages. -1 when the bytes are malformed.
int64_t Elements(const std::string& raw) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(raw.data()),
                                            static_cast<int>(raw.size()));
  int64_t n = 0;
  while (const uint32_t tag = in.ReadTag()) {
    ++n;
    const int field = WireFormatLite::GetTagFieldNumber(tag);
    if ((field == 1 || field == 3) &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length)) return -1;
      const auto limit = in.PushLimit(static_cast<int>(length));
      while (const uint32_t inner = in.ReadTag()) {
        ++n;
        if (!WireFormatLite::SkipField(&in, inner)) return -1;
      }
      if (!in.ConsumedEntireMessage() || in.BytesUntilLimit() != 0) return -1;
      in.PopLimit(limit);
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return -1;
  }
  return in.ConsumedEntireMessage() ? n : -1;
}

}  // namespace

HttpReceiver::HttpReceiver(Ingestor* ingestor, auth::Authenticator* agents,
                           auth::Authenticator* users, ClusterDirectory* clusters,
                           const Clock* clock, metrics::Registry& registry,
                           HttpReceiverOptions options)
    : ingestor_(ingestor),
      agents_(agents),
      users_(users),
      clusters_(clusters),
      clock_(clock),
      options_(options),
      requests_(registry.AddCounter("k8i_ingest_http_requests_total",
                                    "HTTP receiver requests, by endpoint and status code.",
                                    {"endpoint", "code"})),
      samples_(registry.AddCounter(
          "k8i_ingest_remote_write_samples_total",
          "remote_write samples by outcome: accepted, rejected (invalid series), stale "
          "(stale markers, not stored), non_finite (NaN or infinite values, not stored).",
          {"outcome"})),
      alerts_(registry.AddCounter("k8i_ingest_alertmanager_alerts_total",
                                  "Alertmanager webhook alerts by outcome: accepted, rejected, "
                                  "truncated (left out by Alertmanager).",
                                  {"outcome"})) {}

HttpResponse HttpReceiver::Respond(const std::string& endpoint, HttpResponse r) {
  requests_.WithLabels({endpoint, absl::StrCat(r.status)}).Inc();
  return r;
}

std::optional<HttpResponse> HttpReceiver::Check(const HttpRequest& request, std::string* endpoint,
                                                AgentIdentity* who) {
  if (request.path == kWritePath) {
    *endpoint = "remote_write";
  } else if (request.path == kAlertmanagerPath) {
    *endpoint = "alertmanager";
  } else {
    *endpoint = "other";
    return Text(404, absl::StrCat("no receiver at ", request.path, " (", kWritePath, ", ",
                                  kAlertmanagerPath, ")"));
  }
  if (request.method != "POST") {
    HttpResponse r = Text(405, "use POST");
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  return Caller(request, who);
}

std::optional<HttpResponse> HttpReceiver::Admit(const HttpRequest& head) {
  std::string endpoint;
  AgentIdentity who;
  if (auto refused = Check(head, &endpoint, &who)) return Respond(endpoint, *std::move(refused));
  return std::nullopt;
}

HttpResponse HttpReceiver::Handle(const HttpRequest& request) {
  // The head was admitted before the body was read (Admit); checked again here, so Handle
  // stands alone (the credential caches make the second check cheap).
  std::string endpoint;
  AgentIdentity who;
  if (auto refused = Check(request, &endpoint, &who)) {
    return Respond(endpoint, *std::move(refused));
  }
  return Respond(endpoint, endpoint == "remote_write" ? RemoteWrite(request, who)
                                                      : Alertmanager(request, who));
}

std::optional<HttpResponse> HttpReceiver::Caller(const HttpRequest& request, AgentIdentity* who) {
  const std::string* authz = request.Header("authorization");
  const std::string header = authz == nullptr ? "" : *authz;
  const size_t query_at = request.target.find('?');
  std::map<std::string, std::string> query;
  if (query_at != std::string::npos) {
    auto parsed = ParseForm(std::string_view(request.target).substr(query_at + 1));
    if (!parsed) return Text(400, "the query string is malformed");
    query = std::move(*parsed);
  }
  const auto cluster_param = query.find("cluster");
  // An agent token names its cluster; anything else that looks like a credential is a user's.
  const bool agent = users_ == nullptr ||
                     absl::StrContains(header, auth::kAgentTokenPrefix) || header.empty();
  auto principal = (agent ? agents_ : users_)->Authenticate(header);
  if (!principal.ok()) {
    if (principal.status().code() == absl::StatusCode::kUnavailable) {
      return FromIngestError(principal.status());
    }
    const bool denied = principal.status().code() == absl::StatusCode::kPermissionDenied;
    HttpResponse r = Text(denied ? 403 : 401, std::string(principal.status().message()));
    if (!denied) r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  if (principal->role == auth::Role::kAgent) {
    *who = IdentityOf(*principal);
    if (cluster_param != query.end() && cluster_param->second != who->cluster) {
      return Text(403, absl::StrCat("the agent token belongs to cluster \"", who->cluster,
                                    "\", not \"", cluster_param->second, "\""));
    }
    return std::nullopt;
  }
  if (principal->role != auth::Role::kOperator && principal->role != auth::Role::kAdmin) {
    return Text(403, absl::StrCat("writing telemetry needs the operator or admin role; ",
                                  principal->subject, " is ", auth::RoleName(principal->role)));
  }
  if (cluster_param == query.end() || cluster_param->second.empty()) {
    return Text(400, "name the cluster the data is about: ?cluster=<id> (an agent token names "
                     "it itself)");
  }
  auto registered = clusters_->Registered(principal->tenant, cluster_param->second);
  if (!registered.ok()) return FromIngestError(registered.status());
  if (!*registered) {
    return Text(404, absl::StrCat("cluster \"", cluster_param->second,
                                  "\" is not registered in this tenant (k8i clusters create)"));
  }
  *who = {principal->tenant, cluster_param->second};
  return std::nullopt;
}

HttpResponse HttpReceiver::RemoteWrite(const HttpRequest& request, const AgentIdentity& who) {
  if (const std::string media = MediaType(request); media != "application/x-protobuf") {
    return Text(415, absl::StrCat("Content-Type must be application/x-protobuf, not \"", media,
                                  "\""));
  }
  // remote_write 2.0 names its message in the media type; only 1.0's WriteRequest is spoken.
  if (auto proto = MediaParameter(request, "proto");
      proto.has_value() && *proto != "prometheus.WriteRequest") {
    return Text(415, absl::StrCat("proto=", *proto, " is not remote_write 1.0 "
                                  "(proto=prometheus.WriteRequest)"));
  }
  const std::string* encoding = request.Header("content-encoding");
  if (encoding == nullptr || !absl::EqualsIgnoreCase(*encoding, "snappy")) {
    return Text(415, "Content-Encoding must be snappy (block format)");
  }
  if (const std::string* v = request.Header("x-prometheus-remote-write-version");
      v != nullptr && !absl::StartsWith(*v, "0.")) {
    return Text(415, absl::StrCat("remote_write version ", *v,
                                  " is not supported; this receiver speaks 1.0 (0.1.0)"));
  }
  size_t length = 0;
  if (!snappy::GetUncompressedLength(request.body.data(), request.body.size(), &length)) {
    return Text(400, "the body is not snappy block-compressed");
  }
  if (static_cast<int64_t>(length) > options_.max_decompressed) {
    return Text(413, absl::StrCat("the body decompresses to ", length, " bytes; the limit is ",
                                  options_.max_decompressed));
  }
  std::string raw;
  if (!snappy::Uncompress(request.body.data(), request.body.size(), &raw)) {
    return Text(400, "the body is not snappy block-compressed");
  }
  const int64_t elements = Elements(raw);
  if (elements < 0) return Text(400, "the body is not a remote_write WriteRequest");
  if (elements > options_.max_elements) {
    return Text(413, absl::StrCat("the request holds ", elements,
                                  " series, labels and samples; the limit is ",
                                  options_.max_elements, " (lower max_samples_per_send)"));
  }
  prometheus::WriteRequest req;
  if (!req.ParseFromString(raw)) return Text(400, "the body is not a remote_write WriteRequest");
  RemoteWriteResult mapped = MapWriteRequest(req, Sha256Hex(raw), options_.limits, clock_->Now());
  if (absl::Status s = Store(ingestor_, who, mapped.batches); !s.ok()) return FromIngestError(s);
  samples_.WithLabels({"accepted"}).Inc(static_cast<double>(mapped.samples));
  samples_.WithLabels({"rejected"}).Inc(static_cast<double>(mapped.rejected_samples));
  samples_.WithLabels({"stale"}).Inc(static_cast<double>(mapped.stale_markers));
  samples_.WithLabels({"non_finite"}).Inc(static_cast<double>(mapped.non_finite));
  if (mapped.rejected_series > 0) {
    return Text(400, absl::StrCat(mapped.rejected_series, " series (", mapped.rejected_samples,
                                  " samples) rejected, ", mapped.series,
                                  " stored:\n", absl::StrJoin(mapped.reasons, "\n")));
  }
  HttpResponse ok;
  ok.status = 204;
  return ok;
}

HttpResponse HttpReceiver::Alertmanager(const HttpRequest& request, const AgentIdentity& who) {
  if (const std::string media = MediaType(request); media != "application/json") {
    return Text(415, absl::StrCat("Content-Type must be application/json, not \"", media, "\""));
  }
  auto mapped = MapAlertmanagerWebhook(request.body, Sha256Hex(request.body), options_.limits);
  if (!mapped.ok()) return Text(400, std::string(mapped.status().message()));
  if (absl::Status s = Store(ingestor_, who, mapped->batches); !s.ok()) {
    return FromIngestError(s);
  }
  alerts_.WithLabels({"accepted"}).Inc(static_cast<double>(mapped->alerts));
  alerts_.WithLabels({"rejected"}).Inc(static_cast<double>(mapped->rejected));
  alerts_.WithLabels({"truncated"}).Inc(static_cast<double>(mapped->truncated));
  if (mapped->rejected > 0) {
    return Text(400, absl::StrCat(mapped->rejected, " alert(s) rejected, ", mapped->alerts,
                                  " stored:\n", absl::StrJoin(mapped->reasons, "\n")));
  }
  return Text(200, "ok");
}

}  // namespace k8i::ingest
