#include "bench/load_stream.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace k8i::bench {
namespace {

using k8intel::v1::StreamRequest;
using k8intel::v1::StreamResponse;

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace

BatchTemplate::BatchTemplate(const LoadStreamOptions& options)
    : batch_prefix_(absl::StrCat(options.run_id, "-s", options.index, "-b")),
      samples_per_series_(options.samples_per_series) {
  auto* b = request_.mutable_batch();
  b->set_cluster(options.cluster);
  for (int s = 0; s < options.series; ++s) {
    auto* m = b->add_metrics();
    m->set_name("bench_metric");
    m->set_type(k8intel::v1::METRIC_TYPE_GAUGE);
    m->set_unit("1");
    auto* l = m->add_labels();
    l->set_name("series");
    l->set_value(absl::StrCat(options.index, ".", s));
    m->mutable_resource()->set_node_name(absl::StrCat("node-", options.index));
    m->mutable_resource()->set_namespace_name("bench");
    for (int i = 0; i < samples_per_series_; ++i) m->add_samples();
  }
}

void BatchTemplate::Stamp(int64_t n, absl::Time end) {
  auto* b = request_.mutable_batch();
  b->set_batch_id(absl::StrCat(batch_prefix_, n));
  const int64_t end_ms = absl::ToUnixMillis(end);
  const int k = samples_per_series_;
  for (int s = 0; s < b->metrics_size(); ++s) {
    auto* m = b->mutable_metrics(s);
    for (int i = 0; i < k; ++i) {
      auto* x = m->mutable_samples(i);
      x->set_time_unix_ms(end_ms - static_cast<int64_t>(k - 1 - i) * 1000);
      // Quarter steps keep the text short and exact, like most gauges and counters.
      x->set_value(s + 0.25 * static_cast<double>((n + i) % 4096));
    }
  }
}

LoadStream::LoadStream(LoadStreamOptions options)
    : options_(std::move(options)), batch_(options_) {}

void LoadStream::ReadAcks(
    grpc::ClientReaderWriter<StreamRequest, StreamResponse>* stream) {
  StreamResponse ack;
  while (stream->Read(&ack)) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    auto it = sent_at_.find(ack.batch_id());
    if (it != sent_at_.end()) {
      result_.latencies_ms.push_back(absl::ToDoubleMilliseconds(now - it->second));
      sent_at_.erase(it);
    }
    --inflight_;
    result_.last_ack = now;
    if (ack.status().code() == 0) {
      ++result_.ok_batches;
      result_.durable_samples += ack.accepted_samples();
      if (ack.duplicate()) ++result_.duplicate_batches;
    } else {
      ++result_.failed_batches[CodeName(ack.status().code())];
    }
  }
  absl::MutexLock lock(&mu_);
  reader_done_ = true;
}

StreamResult LoadStream::Run() {
  auto channel = grpc::CreateChannel(options_.target, grpc::InsecureChannelCredentials());
  auto stub = k8intel::v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  auto stream = stub->Stream(&ctx);
  std::thread reader([&] { ReadAcks(stream.get()); });

  for (int64_t n = 0;; ++n) {
    {
      absl::MutexLock lock(&mu_);
      auto slot_free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return reader_done_ || inflight_ < options_.inflight;
      };
      mu_.Await(absl::Condition(&slot_free));
      if (reader_done_) break;  // the stream broke
    }
    if (absl::Now() >= options_.deadline) break;
    if (options_.batches_left != nullptr && options_.batches_left->fetch_sub(1) <= 0) break;
    batch_.Stamp(n, absl::Now());
    {
      absl::MutexLock lock(&mu_);
      ++inflight_;
      sent_at_[batch_.request().batch().batch_id()] = absl::Now();
    }
    if (!stream->Write(batch_.request())) break;
  }
  stream->WritesDone();
  reader.join();
  grpc::Status st = stream->Finish();
  absl::MutexLock lock(&mu_);
  if (!st.ok()) {
    result_.stream_status = absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                                         st.error_message());
  }
  if (!sent_at_.empty()) {
    result_.failed_batches["UNACKED"] += static_cast<int64_t>(sent_at_.size());
  }
  return std::move(result_);
}

}  // namespace k8i::bench
