#include "tools/agent/sender/sender.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
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
  grpc::ChannelArguments args;
  // Reconnect no slower than our own backoff, so the first resend after an outage connects.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.backoff.initial)));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.backoff.initial)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.backoff.max)));
  // Notice a silently dead connection (NAT timeout, pulled cable) within about a minute.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetMaxSendMessageSize(32 << 20);
  auto channel = grpcx::CreateChannel(options_.endpoint, options_.tls, args);
  K8I_CHECK(channel.ok(), channel.status().ToString().c_str());
  channel_ = *std::move(channel);
  stub_ = k8intel::v1::IngestService::NewStub(channel_);
}

Sender::~Sender() { Stop(); }

void Sender::Start() {
  thread_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
      if (ctx_ && absl::Now() - waiting_since_ > options_.ack_timeout) {
        Log()->warn("no ack within {}: resetting the stream",
                    absl::FormatDuration(options_.ack_timeout));
        ctx_->TryCancel();
        waiting_since_ = absl::InfiniteFuture();
      }
    }
  });
}

void Sender::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    if (ctx_) ctx_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
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

void Sender::OpenStream() {
  auto ctx = std::make_shared<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + options_.token);
  {
    absl::MutexLock lock(&mu_);
    ctx_ = ctx;
    if (stopping_) ctx->TryCancel();
  }
  stream_ = stub_->Stream(ctx.get());
}

void Sender::CloseStream() {
  if (!stream_) return;
  {
    absl::MutexLock lock(&mu_);
    if (ctx_) ctx_->TryCancel();
  }
  stream_->Finish().IgnoreError();
  stream_.reset();
  stream_acked_ = false;
  absl::MutexLock lock(&mu_);
  ctx_.reset();
}

absl::Status Sender::SendOne(const k8intel::v1::TelemetryBatch& batch, bool* duplicate,
                             bool* stale_stream) {
  if (!stream_) OpenStream();
  k8intel::v1::StreamRequest req;
  *req.mutable_batch() = batch;
  k8intel::v1::StreamResponse ack;
  {
    absl::MutexLock lock(&mu_);
    waiting_since_ = absl::Now();
  }
  probe_->BatchSent();
  const bool reused = stream_acked_;
  const bool ok = stream_->Write(req) && stream_->Read(&ack);
  {
    absl::MutexLock lock(&mu_);
    waiting_since_ = absl::InfiniteFuture();
  }
  if (!ok) {
    // The stream broke (ingest down or draining, network, watchdog): reopen next time.
    grpc::Status st = stream_->Finish();
    stream_.reset();
    {
      absl::MutexLock lock(&mu_);
      ctx_.reset();
    }
    stream_acked_ = false;
    // A stream that already carried acks may just have idled out (a proxy's read timeout):
    // the caller resends at once on a new stream instead of backing off.
    *stale_stream = reused;
    if (st.ok()) return absl::UnavailableError("ingest closed the stream");
    return grpcx::FromGrpcStatus(st);
  }
  stream_acked_ = true;
  if (ack.batch_id() != batch.batch_id()) {
    CloseStream();
    return absl::UnavailableError(
        absl::StrCat("ack for ", ack.batch_id(), " while waiting for ", batch.batch_id()));
  }
  *duplicate = ack.duplicate();
  return grpcx::FromRpcStatus(ack.status());
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
    bool duplicate = false, stale_stream = false;
    const absl::Status status = SendOne(entry->batch, &duplicate, &stale_stream);
    if (HandleAck(*entry, status, duplicate)) continue;
    if (stale_stream) {
      Log()->info("stream to ingest ended ({}); reconnecting", status.ToString());
      continue;
    }
    probe_->Connected(false);
    const absl::Duration delay = backoff_.Next(grpcx::GetRetryDelay(status));
    Log()->warn("batch {} not accepted ({}); retry {} in {}", entry->batch.batch_id(),
                status.ToString(), backoff_.attempt(), absl::FormatDuration(delay));
    if (!Sleep(delay)) break;
  }
  CloseStream();
}

}  // namespace k8i::agent
