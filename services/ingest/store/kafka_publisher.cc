#include "services/ingest/store/kafka_publisher.h"

#include "absl/strings/str_cat.h"
#include "libs/kafka/cloudevents.h"

namespace k8i::ingest {
namespace {

// Appends messages for one kind: `Batch` is the per-kind envelope (MetricBatch, ...), `add`
// appends one item to it. Items are packed greedily up to `max_bytes` per message.
template <typename Batch, typename Items, typename Add>
void AppendKind(const AgentIdentity& who, const std::string& batch_id, const std::string& kind,
                const std::string& topic, const Items& items, Add add, size_t max_bytes,
                absl::Time now, std::vector<kafka::Message>& out) {
  if (items.empty()) return;
  int chunk = 0;
  Batch envelope;
  size_t bytes = 0;
  auto flush = [&] {
    envelope.set_tenant(who.tenant);
    envelope.set_cluster(who.cluster);
    envelope.set_batch_id(batch_id);
    kafka::Message m;
    m.topic = topic;
    m.key = absl::StrCat(who.tenant, "/", who.cluster);
    envelope.SerializeToString(&m.value);
    m.headers = kafka::CloudEventHeaders({
        .id = absl::StrCat(batch_id, ":", kind, ":", chunk++),
        .source = absl::StrCat("/k8intel/ingest/tenants/", who.tenant, "/clusters/", who.cluster),
        .type = absl::StrCat("dev.k8intel.", kind, ".v1"),
        .time = now,
    });
    out.push_back(std::move(m));
    envelope.Clear();
    bytes = 0;
  };
  for (const auto& item : items) {
    const size_t size = item.ByteSizeLong();
    if (bytes > 0 && bytes + size > max_bytes) flush();
    add(envelope, item);
    bytes += size + 8;
  }
  if (bytes > 0) flush();
}

}  // namespace

std::map<std::string, std::string> IngestProducerSettings() {
  return {{"compression.type", "lz4"}, {"reconnect.backoff.max.ms", "1000"}};
}

std::vector<kafka::Message> KafkaPublisher::BuildMessages(
    const AgentIdentity& who, const k8intel::v1::TelemetryBatch& batch, absl::Time now) const {
  std::vector<kafka::Message> out;
  const std::string& p = options_.topic_prefix;
  const size_t max = options_.max_message_bytes;
  AppendKind<k8intel::v1::MetricBatch>(
      who, batch.batch_id(), "metrics", p + "metrics.v1", batch.metrics(),
      [](auto& b, const auto& s) { *b.add_series() = s; }, max, now, out);
  AppendKind<k8intel::v1::InventoryBatch>(
      who, batch.batch_id(), "inventory", p + "inventory.v1", batch.objects(),
      [](auto& b, const auto& o) { *b.add_objects() = o; }, max, now, out);
  AppendKind<k8intel::v1::EventBatch>(
      who, batch.batch_id(), "events", p + "events.v1", batch.events(),
      [](auto& b, const auto& e) { *b.add_events() = e; }, max, now, out);
  AppendKind<k8intel::v1::AlertBatch>(
      who, batch.batch_id(), "alerts", p + "alerts.v1", batch.alerts(),
      [](auto& b, const auto& a) { *b.add_alerts() = a; }, max, now, out);
  return out;
}

absl::Status KafkaPublisher::Publish(const AgentIdentity& who,
                                     const k8intel::v1::TelemetryBatch& batch) {
  std::vector<kafka::Message> msgs = BuildMessages(who, batch, absl::Now());
  if (msgs.empty()) return absl::OkStatus();
  return producer_->ProduceAll(msgs, options_.delivery_timeout);
}

}  // namespace k8i::ingest
