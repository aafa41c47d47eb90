#include "libs/kafka/consumer.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/kafka/rdkafka_util.h"

namespace k8i::kafka {
namespace {

int ClampMs(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  internal::LogError(rk, err, reason);
}

// "alerts.v1[0,1,2] inventory.v1[0]": a rebalance's partitions, for the log.
std::string DescribePartitions(const rd_kafka_topic_partition_list_t& parts) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (int i = 0; i < parts.cnt; ++i) {
    by_topic[parts.elems[i].topic].push_back(parts.elems[i].partition);
  }
  std::vector<std::string> out;
  for (auto& [topic, ps] : by_topic) {
    std::sort(ps.begin(), ps.end());
    out.push_back(absl::StrCat(topic, "[", absl::StrJoin(ps, ","), "]"));
  }
  return out.empty() ? "no partitions" : absl::StrJoin(out, " ");
}

}  // namespace

std::vector<std::pair<std::string, int32_t>> NoteAssigned(
    Consumer& c, const std::vector<std::pair<std::string, int32_t>>& parts) {
  absl::MutexLock lock(&c.mu_);
  std::vector<std::pair<std::string, int32_t>> were_paused;
  for (const auto& tp : parts) {
    c.assignment_[tp] = ++c.assignments_made_;
    if (c.paused_.erase(tp) > 0) were_paused.push_back(tp);
  }
  return were_paused;
}

namespace {

// OnRebalance does what librdkafka does without a callback (assign what the group assigned,
// give up what it revoked), and numbers each assignment of a partition first, so messages
// fetched under it carry its number.
void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                 void* opaque) {
  const char* protocol = rd_kafka_rebalance_protocol(rk);
  const bool cooperative = protocol != nullptr && std::string_view(protocol) == "COOPERATIVE";
  auto check = [rk](const char* what, rd_kafka_error_t* e) {
    if (e == nullptr) return;
    Logger("kafka")->warn("kafka consumer {}: {}: {}", rd_kafka_name(rk), what,
                          rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  };
  auto checked = [rk](const char* what, rd_kafka_resp_err_t e) {
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    Logger("kafka")->warn("kafka consumer {}: {}: {}", rd_kafka_name(rk), what,
                          rd_kafka_err2str(e));
  };
  // Each assignment and revocation is logged: when a member's partitions moved is what one
  // asks first about a stall or a redelivery.
  const std::string& group = static_cast<Consumer*>(opaque)->options().group_id;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Logger("kafka")->info("kafka consumer {} (group {}): assigned {}", rd_kafka_name(rk), group,
                          DescribePartitions(*parts));
    std::vector<std::pair<std::string, int32_t>> tps;
    for (int i = 0; i < parts->cnt; ++i) {
      tps.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
    }
    // Partitions this member paused under an earlier assignment start unpaused. Only those
    // are resumed: librdkafka 2.0 restarts the fetch of a resumed partition that was not
    // paused, so what was already read would come again.
    internal::PartitionListPtr paused(rd_kafka_topic_partition_list_new(parts->cnt));
    for (const auto& tp : NoteAssigned(*static_cast<Consumer*>(opaque), tps)) {
      rd_kafka_topic_partition_list_add(paused.get(), tp.first.c_str(), tp.second);
    }
    if (cooperative) {
      check("assign", rd_kafka_incremental_assign(rk, parts));
    } else {
      checked("assign", rd_kafka_assign(rk, parts));
    }
    if (paused->cnt > 0) checked("resume", rd_kafka_resume_partitions(rk, paused.get()));
    return;
  }
  // Revoked, or a rebalance error: give the partitions up.
  Logger("kafka")->info("kafka consumer {} (group {}): {} {}", rd_kafka_name(rk), group,
                        err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS
                            ? (rd_kafka_assignment_lost(rk) ? "lost" : "revoked")
                            : rd_kafka_err2str(err),
                        DescribePartitions(*parts));
  if (cooperative) {
    check("unassign", rd_kafka_incremental_unassign(rk, parts));
  } else {
    checked("unassign", rd_kafka_assign(rk, nullptr));
  }
}

ConsumedMessage Convert(const rd_kafka_message_t& m) {
  ConsumedMessage out;
  out.topic = rd_kafka_topic_name(m.rkt);
  out.partition = m.partition;
  out.offset = m.offset;
  if (m.key != nullptr) out.key.assign(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) out.value.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_timestamp_type_t ts_type;
  out.timestamp_ms = rd_kafka_message_timestamp(&m, &ts_type);
  rd_kafka_headers_t* headers = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      Header h;
      h.key = name;
      if (value != nullptr) h.value.assign(static_cast<const char*>(value), size);
      out.headers.push_back(std::move(h));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerOptions options) {
  if (options.bootstrap.empty()) {
    return absl::InvalidArgumentError("kafka consumer: bootstrap is empty");
  }
  if (options.group_id.empty()) {
    return absl::InvalidArgumentError("kafka consumer: group_id is empty");
  }
  if (options.topics.empty()) {
    return absl::InvalidArgumentError("kafka consumer: no topics");
  }
  auto it = options.extra.find("enable.auto.commit");
  if (it != options.extra.end() && it->second != "false") {
    return absl::InvalidArgumentError(
        "kafka consumer: enable.auto.commit cannot be overridden (commits are explicit)");
  }
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", options.bootstrap},
      {"group.id", options.group_id},
      {"auto.offset.reset", options.auto_offset_reset},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
  };
  for (const auto& [k, v] : options.extra) props[k] = v;
  ASSIGN_OR_RETURN(internal::ConfPtr conf, internal::NewConf(props));
  std::unique_ptr<Consumer> c(new Consumer(std::move(options)));
  rd_kafka_conf_set_error_cb(conf.get(), &OnError);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &OnRebalance);
  rd_kafka_conf_set_opaque(conf.get(), c.get());

  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", errstr));
  conf.release();  // rd_kafka_new took ownership.
  c->rk_ = rk;
  rd_kafka_poll_set_consumer(rk);

  internal::PartitionListPtr topics(
      rd_kafka_topic_partition_list_new(static_cast<int>(c->options_.topics.size())));
  for (const std::string& t : c->options_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return internal::ErrorToStatus(
        err, absl::StrCat("kafka subscribe to ", absl::StrJoin(c->options_.topics, ",")));
  }
  return c;
}

Consumer::~Consumer() {
  Close();
  if (rk_ != nullptr) rd_kafka_destroy(rk_);
}

void Consumer::Close() {
  if (closed_ || rk_ == nullptr) return;
  closed_ = true;
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Logger("kafka")->warn("kafka consumer {}: close: {}", options_.group_id, rd_kafka_err2str(err));
  }
}

absl::StatusOr<std::vector<ConsumedMessage>> Consumer::Poll(int max, absl::Duration timeout) {
  if (closed_) return absl::FailedPreconditionError("kafka consumer is closed");
  if (max <= 0) return absl::InvalidArgumentError("kafka consumer: Poll max must be positive");
  std::vector<ConsumedMessage> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (static_cast<int>(out.size()) < max) {
    // Wait for the first message only; then take what is already there.
    int wait_ms = out.empty() ? ClampMs(deadline - absl::Now()) : 0;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (m == nullptr) {
      if (!out.empty() || absl::Now() >= deadline) break;
      continue;
    }
    rd_kafka_resp_err_t err = m->err;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.push_back(Convert(*m));
      out.back().assignment = AssignmentOf(out.back().topic, out.back().partition);
      rd_kafka_message_destroy(m);
      continue;
    }
    std::string what = rd_kafka_message_errstr(m);
    std::string topic = m->rkt != nullptr ? rd_kafka_topic_name(m->rkt) : "";
    int32_t partition = m->partition;
    rd_kafka_message_destroy(m);
    if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      Logger("kafka")->debug("kafka consumer {}: end of {}[{}]", options_.group_id, topic,
                             partition);
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk_, reason, sizeof reason);
      return absl::InternalError(
          absl::StrCat("kafka consumer fatal error: ", rd_kafka_err2name(orig), ": ", reason));
    }
    Logger("kafka")->warn("kafka consumer {}: {} {}[{}]: {}", options_.group_id,
                          rd_kafka_err2name(err), topic, partition, what);
    if (absl::Now() >= deadline) break;
  }
  return out;
}

absl::Status Consumer::Commit(const ConsumedMessage& msg) {
  if (closed_) return absl::FailedPreconditionError("kafka consumer is closed");
  internal::PartitionListPtr offsets(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(offsets.get(), msg.topic.c_str(), msg.partition)->offset =
      msg.offset + 1;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets.get(), /*async=*/0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    err = offsets->elems[0].err;  // Per-partition result.
  }
  return internal::ErrorToStatus(
      err, absl::StrCat("kafka commit ", msg.topic, "[", msg.partition, "]@", msg.offset + 1));
}

absl::Status Consumer::CommitOffsets(const std::vector<PartitionOffset>& offsets) {
  if (closed_) return absl::FailedPreconditionError("kafka consumer is closed");
  if (offsets.empty()) return absl::OkStatus();
  internal::PartitionListPtr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const PartitionOffset& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition)->offset =
        o.next_offset;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list.get(), /*async=*/0);
  std::string where = "kafka commit";
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        err = list->elems[i].err;
        absl::StrAppend(&where, " ", list->elems[i].topic, "[", list->elems[i].partition, "]@",
                        list->elems[i].offset);
        break;
      }
    }
  }
  return internal::ErrorToStatus(err, where);
}

void Consumer::PauseAssigned() {
  if (closed_) return;
  const auto assigned = Assigned();
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, n] : assigned) {
      if (paused_.insert(tp).second) {
        rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second);
      }
    }
  }
  if (list->cnt > 0) rd_kafka_pause_partitions(rk_, list.get());
}

void Consumer::ResumeAssigned() {
  if (closed_) return;
  const auto assigned = Assigned();
  internal::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
  {
    absl::MutexLock lock(&mu_);
    // A paused partition revoked since stays paused in librdkafka (an application's pause
    // outlives the assignment): it stays in paused_, so NoteAssigned resumes it when it is
    // assigned here again. Forgetting it left it assigned and never fetched.
    for (auto it = paused_.begin(); it != paused_.end();) {
      if (!assigned.contains(*it)) {
        ++it;
        continue;
      }
      rd_kafka_topic_partition_list_add(list.get(), it->first.c_str(), it->second);
      it = paused_.erase(it);
    }
  }
  if (list->cnt > 0) rd_kafka_resume_partitions(rk_, list.get());
}

int64_t Consumer::AssignmentOf(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = assignment_.find({topic, partition});
  return it == assignment_.end() ? 0 : it->second;
}

std::map<std::pair<std::string, int32_t>, int64_t> Consumer::Assigned() {
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  if (closed_) return out;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || raw == nullptr) return out;
  internal::PartitionListPtr assigned(raw);
  for (int i = 0; i < assigned->cnt; ++i) {
    const std::string topic = assigned->elems[i].topic;
    out[{topic, assigned->elems[i].partition}] = AssignmentOf(topic, assigned->elems[i].partition);
  }
  return out;
}

std::vector<PartitionLag> Consumer::Lags(const std::vector<PartitionOffset>& committed) {
  std::vector<PartitionLag> out;
  if (closed_) return out;
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || raw == nullptr) return out;
  internal::PartitionListPtr assigned(raw);
  // Positions for partitions the caller has not committed yet.
  rd_kafka_position(rk_, assigned.get());
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& p = assigned->elems[i];
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, p.topic, p.partition, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      out.push_back({p.topic, p.partition, -1});
      continue;
    }
    int64_t at = p.offset;
    for (const PartitionOffset& c : committed) {
      if (c.partition == p.partition && c.topic == p.topic) at = c.next_offset;
    }
    if (at < 0) at = std::max<int64_t>(low, 0);  // nothing read or committed yet
    out.push_back({p.topic, p.partition, std::max<int64_t>(0, high - at)});
  }
  return out;
}

}  // namespace k8i::kafka
