#include "tools/agent/sender/sender.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"

namespace k8i::agent {
namespace {

auto Log() { return Logger("agent.sender"); }

std::string CodeLabel(const absl::Status& s) {
  std::string code = absl::StatusCodeToString(s.code());
  for (char& c : code) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return code;
}

}  // namespace

Sender::Sender(SenderOptions options, Spool* spool, AgentProbe* probe)
    : options_(std::move(options)),
      spool_(spool),
      probe_(probe),
      backoff_(options_.backoff, std::random_device{}()) {
  auto client = GrpcClient::Create(options_.endpoint, options_.tls);
  K8I_CHECK(client.ok(), client.status().ToString().c_str());
  client_ = *std::move(client);
}

Sender::~Sender() { Stop(); }

void Sender::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Sender::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  client_->Cancel();
  if (thread_.joinable()) thread_.join();
}

void Sender::Notify() {
  absl::MutexLock lock(&mu_);
  pending_ = true;
}

bool Sender::Sleep(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

absl::Status Sender::SendOne(const k8intel::v1::TelemetryBatch& batch, bool* duplicate,
                             bool* stale_connection) {
  k8intel::v1::PushRequest req;
  *req.mutable_batch() = batch;
  k8intel::v1::PushResponse ack;
  probe_->BatchSent();
  GrpcCallOutcome out = client_->Call("/k8intel.v1.IngestService/Push",
                                      {{"authorization", "Bearer " + options_.token}}, req, &ack,
                                      options_.ack_timeout);
  *stale_connection = out.stale_connection;
  if (!out.status.ok()) return out.status;
  if (ack.batch_id() != batch.batch_id()) {
    return absl::UnavailableError(
        absl::StrCat("ack for ", ack.batch_id(), " while waiting for ", batch.batch_id()));
  }
  *duplicate = ack.duplicate();
  return absl::OkStatus();
}

bool Sender::HandleAck(const Spool::Entry& entry, const absl::Status& status, bool duplicate) {
  const std::string& id = entry.batch.batch_id();
  if (status.ok()) {
    probe_->BatchAcked(duplicate);
    probe_->Connected(true);
    backoff_.Reset();
    if (auto s = spool_->Remove(entry.seq); !s.ok()) {
      Log()->error("removing acked batch {} from the spool: {}", id, s.ToString());
    }
    return true;
  }
  if (absl::IsInvalidArgument(status) || absl::IsAlreadyExists(status)) {
    // Resending cannot succeed: the content is refused (or the id is taken by other content).
    std::string detail;
    for (const auto& v : grpcx::GetFieldViolations(status)) {
      absl::StrAppend(&detail, detail.empty() ? "" : "; ", v.field, ": ", v.description);
    }
    Log()->error("ingest refused batch {}: {}; dropping it (not resent). {}", id, status.ToString(),
                 detail);
    probe_->BatchDropped(CodeLabel(status));
    probe_->Connected(true);
    backoff_.Reset();
    spool_->Remove(entry.seq).IgnoreError();
    return true;
  }
  probe_->Retry(CodeLabel(status));
  if (absl::IsUnauthenticated(status) || absl::IsPermissionDenied(status)) {
    Log()->error(
        "ingest rejects the agent token ({}): check K8I_AGENT_TOKEN and K8I_CLUSTER; "
        "batches stay spooled and are retried",
        status.ToString());
  }
  return false;
}

void Sender::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
    }
    std::optional<Spool::Entry> entry = spool_->Oldest();
    if (!entry) {
      // Nothing to send: wait for the next batch (or poll every second).
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || pending_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      pending_ = false;
      continue;
    }
    bool duplicate = false, stale_connection = false;
    const absl::Status status = SendOne(entry->batch, &duplicate, &stale_connection);
    if (HandleAck(*entry, status, duplicate)) continue;
    if (stale_connection) {
      Log()->info("connection to ingest ended ({}); reconnecting", status.ToString());
      continue;
    }
    probe_->Connected(false);
    const absl::Duration delay = backoff_.Next(grpcx::GetRetryDelay(status));
    Log()->warn("batch {} not accepted ({}); retry {} in {}", entry->batch.batch_id(),
                status.ToString(), backoff_.attempt(), absl::FormatDuration(delay));
    if (!Sleep(delay)) break;
  }
}

}  // namespace k8i::agent
