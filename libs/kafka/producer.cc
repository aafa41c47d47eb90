#include "libs/kafka/producer.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/kafka/rdkafka_util.h"

namespace k8i::kafka {
namespace internal {
namespace {

int ClampMs(absl::Duration d) {
  int64_t ms = absl::ToInt64Milliseconds(d);
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

// CallState is the bookkeeping of one ProduceAll call. It lives on the heap with one reference
// per enqueued message (dropped by its delivery report) plus one for the caller, so a caller
// that returns early never leaves a report pointing at freed memory.
class CallState {
 public:
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  void AddPending(int n) {
    absl::MutexLock lock(&mu_);
    pending_ += n;
  }

  // Report records one delivery report; the caller then drops the message's reference.
  void Report(rd_kafka_resp_err_t err, const rd_kafka_message_t& msg) {
    absl::MutexLock lock(&mu_);
    --pending_;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++failed_;
      if (first_err_ == RD_KAFKA_RESP_ERR_NO_ERROR) {
        first_err_ = err;
        first_where_ =
            absl::StrCat("delivery to ", rd_kafka_topic_name(msg.rkt), "[", msg.partition, "]");
      }
    }
  }

  // Wait blocks until every pending report arrived, `deadline` passed or `give_up()` is true
  // (checked every 100 ms). Returns the number of reports still pending.
  template <typename GiveUp>
  int Wait(absl::Time deadline, GiveUp give_up) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_ == 0; };
    while (!done()) {
      absl::Time slice = std::min(deadline, absl::Now() + absl::Milliseconds(100));
      mu_.AwaitWithDeadline(absl::Condition(&done), slice);
      if (done() || absl::Now() >= deadline || give_up()) break;
    }
    return pending_;
  }

  // FirstError returns the first failure, if any, and sets `failed` to how many failed.
  std::pair<rd_kafka_resp_err_t, std::string> FirstError(int* failed) {
    absl::MutexLock lock(&mu_);
    *failed = failed_;
    return {first_err_, first_where_};
  }

 private:
  ~CallState() = default;

  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  int failed_ ABSL_GUARDED_BY(mu_) = 0;
  rd_kafka_resp_err_t first_err_ ABSL_GUARDED_BY(mu_) = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string first_where_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

// ProducerHandle owns one rd_kafka_t and the thread polling it. Replaced as a whole after a
// fatal error; in-flight calls keep the old one alive through their shared_ptr.
class ProducerHandle {
 public:
  static absl::StatusOr<std::shared_ptr<ProducerHandle>> Create(
      const std::map<std::string, std::string>& props, int generation) {
    std::shared_ptr<ProducerHandle> h(new ProducerHandle());
    ASSIGN_OR_RETURN(ConfPtr conf, NewConf(props));
    rd_kafka_conf_set_opaque(conf.get(), h.get());
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &ProducerHandle::OnDelivery);
    rd_kafka_conf_set_error_cb(conf.get(), &ProducerHandle::OnError);
    char errstr[512];
    h->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
    if (h->rk_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", errstr));
    }
    conf.release();  // rd_kafka_new took ownership.
    h->generation_ = generation;
    h->poller_ = std::thread([raw = h.get()] { raw->PollLoop(); });
    return h;
  }

  ProducerHandle(const ProducerHandle&) = delete;
  ProducerHandle& operator=(const ProducerHandle&) = delete;

  // ~ProducerHandle fails whatever is still queued or in flight, serves those delivery reports
  // (releasing every CallState reference) and destroys the handle.
  ~ProducerHandle() {
    if (rk_ == nullptr) return;
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (rd_kafka_outq_len(rk_) > 0 && absl::Now() < deadline) rd_kafka_poll(rk_, 50);
    int left = rd_kafka_outq_len(rk_);
    if (left > 0) {
      Logger("kafka")->warn("producer generation {}: {} messages/requests left at destroy",
                            generation_, left);
    }
    rd_kafka_destroy(rk_);
  }

  rd_kafka_t* rk() const { return rk_; }
  bool fatal() const { return fatal_.load(); }
  int generation() const { return generation_; }

 private:
  ProducerHandle() = default;

  void PollLoop() {
    while (!stop_.load()) rd_kafka_poll(rk_, 100);
  }

  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) {
    auto* state = static_cast<CallState*>(msg->_private);
    if (state == nullptr) return;
    state->Report(msg->err, *msg);
    state->Unref();
  }

  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<ProducerHandle*>(opaque);
    if (err != RD_KAFKA_RESP_ERR__FATAL) {
      LogError(rk, err, reason);
      return;
    }
    char fatal_reason[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal_reason, sizeof fatal_reason);
    Logger("kafka")->error(
        "producer generation {} hit fatal error {}: {}; the handle will be recreated",
        self->generation_, rd_kafka_err2name(orig), fatal_reason);
    self->fatal_.store(true);
  }

  rd_kafka_t* rk_ = nullptr;
  int generation_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> fatal_{false};
  std::thread poller_;
};

}  // namespace internal

namespace {

std::map<std::string, std::string> ProducerProps(const ProducerOptions& o) {
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", o.bootstrap},
      {"client.id", o.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"message.timeout.ms",
       absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(o.delivery_timeout)))},
  };
  for (const auto& [k, v] : o.extra) props[k] = v;
  return props;
}

}  // namespace

Producer::Producer(ProducerOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerOptions options) {
  if (options.bootstrap.empty()) {
    return absl::InvalidArgumentError("kafka producer: bootstrap is empty");
  }
  if (options.delivery_timeout < absl::Milliseconds(1)) {
    return absl::InvalidArgumentError("kafka producer: delivery_timeout must be at least 1ms");
  }
  for (const char* key : {"enable.idempotence", "acks"}) {
    auto it = options.extra.find(key);
    if (it != options.extra.end() && it->second != (std::string(key) == "acks" ? "all" : "true")) {
      return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", key,
                                                     " cannot be overridden (the producer is "
                                                     "idempotent with acks=all)"));
    }
  }
  std::unique_ptr<Producer> p(new Producer(std::move(options)));
  ASSIGN_OR_RETURN(auto handle, internal::ProducerHandle::Create(ProducerProps(p->options_), 1));
  absl::MutexLock lock(&p->mu_);
  p->handle_ = std::move(handle);
  p->generation_ = 1;
  return p;
}

Producer::~Producer() {
  std::shared_ptr<internal::ProducerHandle> handle;
  {
    absl::MutexLock lock(&mu_);
    handle = std::move(handle_);
  }
  if (handle == nullptr) return;
  if (!handle->fatal()) {
    rd_kafka_resp_err_t err = rd_kafka_flush(handle->rk(), 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Logger("kafka")->warn("producer: {} messages undelivered at shutdown",
                            rd_kafka_outq_len(handle->rk()));
    }
  }
}

absl::StatusOr<std::shared_ptr<internal::ProducerHandle>> Producer::CurrentHandle() {
  std::shared_ptr<internal::ProducerHandle> old;
  absl::MutexLock lock(&mu_);
  if (!handle_->fatal()) return handle_;
  ASSIGN_OR_RETURN(auto fresh,
                   internal::ProducerHandle::Create(ProducerProps(options_), generation_ + 1));
  ++generation_;
  Logger("kafka")->warn("producer: recreated handle after fatal error (generation {})",
                        generation_);
  old = std::exchange(handle_, std::move(fresh));
  // `old` is destroyed after the lock is released (declared first), possibly by an in-flight
  // call instead if it still holds a reference.
  return handle_;
}

absl::Status Producer::ProduceAll(const std::vector<Message>& msgs, absl::Duration timeout) {
  if (msgs.empty()) return absl::OkStatus();
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(auto handle, CurrentHandle());
  rd_kafka_t* rk = handle->rk();

  auto* state = new internal::CallState();  // The caller's reference.
  absl::Status enqueue_status;
  for (const Message& m : msgs) {
    internal::HeadersPtr headers;
    if (!m.headers.empty()) {
      headers.reset(rd_kafka_headers_new(m.headers.size()));
      for (const Header& h : m.headers) {
        rd_kafka_header_add(headers.get(), h.key.data(), static_cast<ssize_t>(h.key.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
    }
    rd_kafka_resp_err_t err;
    while (true) {
      state->Ref();
      state->AddPending(1);
      err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(m.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_KEY(m.key.empty() ? nullptr : m.key.data(), m.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
          RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(state), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        headers.release();  // Owned by the message now.
        break;
      }
      state->AddPending(-1);
      state->Unref();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || absl::Now() >= deadline || handle->fatal()) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(5));  // The poller frees space as reports arrive.
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      enqueue_status = internal::ErrorToStatus(err, absl::StrCat("enqueue to ", m.topic));
      break;
    }
  }
  if (!enqueue_status.ok()) {
    state->Unref();
    return enqueue_status;
  }

  int pending = state->Wait(deadline, [&handle] { return handle->fatal(); });
  int failed = 0;
  auto [first_err, where] = state->FirstError(&failed);
  state->Unref();
  state = nullptr;

  if (first_err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    absl::Status st = internal::ErrorToStatus(
        first_err, absl::StrCat(where, " (", failed, " of ", msgs.size(), " failed)"));
    if (absl::IsInvalidArgument(st)) return st;
    return absl::UnavailableError(st.message());
  }
  if (pending > 0) {
    if (handle->fatal()) {
      return absl::UnavailableError(
          absl::StrCat("kafka producer hit a fatal error with ", pending, " of ", msgs.size(),
                       " messages unconfirmed; the handle is recreated on the next call"));
    }
    return absl::UnavailableError(absl::StrCat("kafka produce timed out after ",
                                               absl::FormatDuration(timeout), " with ", pending,
                                               " of ", msgs.size(), " messages unconfirmed"));
  }
  return absl::OkStatus();
}

absl::Status Producer::Flush(absl::Duration timeout) {
  ASSIGN_OR_RETURN(auto handle, CurrentHandle());
  rd_kafka_resp_err_t err = rd_kafka_flush(handle->rk(), internal::ClampMs(timeout));
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return absl::UnavailableError(absl::StrCat("kafka flush timed out after ",
                                               absl::FormatDuration(timeout), " with ",
                                               rd_kafka_outq_len(handle->rk()), " outstanding"));
  }
  return internal::ErrorToStatus(err, "kafka flush");
}

absl::Status Producer::TriggerFatalErrorForTesting() {
  ASSIGN_OR_RETURN(auto handle, CurrentHandle());
  return internal::ErrorToStatus(
      rd_kafka_test_fatal_error(handle->rk(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                "injected by TriggerFatalErrorForTesting"),
      "rd_kafka_test_fatal_error");
}

int Producer::HandleGenerationForTesting() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

}  // namespace k8i::kafka
