// TransactionalConsumer against real components: the test stack's PostgreSQL and a
// Kafka-protocol broker (tools/devbroker's mock cluster, in process, over TCP). Consumers that
// must die abruptly run in a child process (this binary re-executed) and are SIGKILLed.
#include "libs/kit/consumer.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/ids.h"
#include "libs/testing/stack.h"
#include "tools/devbroker/devbroker.h"

extern char** environ;

namespace k8i::kit {
namespace {

using k8intel::v1::MetricBatch;

// EffectHandler records each applied message as a row of kt.effects (no unique key, so a
// double application would show). It rejects batch_id "reject" and can be slowed down.
class EffectHandler final : public Handler {
 public:
  EffectHandler(std::string member, absl::Duration delay) : member_(member), delay_(delay) {}
  const google::protobuf::Message& Prototype() const override {
    return MetricBatch::default_instance();
  }
  absl::Status Validate(const Delivery& d) const override {
    if (static_cast<const MetricBatch&>(*d.payload).batch_id() == "invalid") {
      return absl::InvalidArgumentError("batch_id is \"invalid\"");
    }
    return absl::OkStatus();
  }
  absl::Status Apply(pqxx::work& tx, const std::vector<const Delivery*>& batch) override {
    for (const Delivery* d : batch) {
      if (static_cast<const MetricBatch&>(*d->payload).batch_id() == "reject") {
        return absl::FailedPreconditionError("this handler rejects batch \"reject\"");
      }
      tx.exec_params("INSERT INTO kt.effects (ce_id, member) VALUES ($1, $2)", d->event.id,
                     member_);
    }
    if (delay_ > absl::ZeroDuration()) absl::SleepFor(delay_);  // mid-transaction
    return absl::OkStatus();
  }

 private:
  const std::string member_;
  const absl::Duration delay_;
};

// ParallelHandler records the order it applied each key's messages in and whether two of its
// Apply calls ever overlapped. The first Apply waits (up to 5 s) for a second one to start:
// with workers, groups of one poll run at once; without, it would wait out the deadline.
class ParallelHandler final : public Handler {
 public:
  const google::protobuf::Message& Prototype() const override {
    return MetricBatch::default_instance();
  }
  absl::Status Apply(pqxx::work& tx, const std::vector<const Delivery*>& batch) override {
    {
      absl::MutexLock l(&mu_);
      ++inside_;
      if (inside_ >= 2) overlapped_ = true;
      mu_.AwaitWithTimeout(absl::Condition(&overlapped_), absl::Seconds(5));
      for (const Delivery* d : batch) {
        if (d->message->partition != batch[0]->message->partition) mixed_ = true;
        order_[d->message->key].push_back(d->event.id);
      }
    }
    for (const Delivery* d : batch) {
      tx.exec_params("INSERT INTO kt.effects (ce_id, member) VALUES ($1, 'w')", d->event.id);
    }
    absl::MutexLock l(&mu_);
    --inside_;
    return absl::OkStatus();
  }
  bool overlapped() {
    absl::MutexLock l(&mu_);
    return overlapped_;
  }
  bool mixed() {
    absl::MutexLock l(&mu_);
    return mixed_;
  }
  std::map<std::string, std::vector<std::string>> order() {
    absl::MutexLock l(&mu_);
    return order_;
  }

 private:
  absl::Mutex mu_;
  int inside_ = 0;
  bool overlapped_ = false;
  bool mixed_ = false;
  std::map<std::string, std::vector<std::string>> order_;  // key → ce ids as applied
};

// BlockingHandler holds its worker on batch_id "slow" (in Validate, before any transaction)
// until released, and records the partition of every message applied.
class BlockingHandler final : public Handler {
 public:
  const google::protobuf::Message& Prototype() const override {
    return MetricBatch::default_instance();
  }
  absl::Status Validate(const Delivery& d) const override {
    if (static_cast<const MetricBatch&>(*d.payload).batch_id() == "slow") {
      {
        absl::MutexLock l(&mu_);
        slow_partition_ = d.message->partition;
      }
      release_.WaitForNotificationWithTimeout(absl::Seconds(60));
    }
    return absl::OkStatus();
  }
  absl::Status Apply(pqxx::work& tx, const std::vector<const Delivery*>& batch) override {
    for (const Delivery* d : batch) {
      tx.exec_params("INSERT INTO kt.effects (ce_id, member) VALUES ($1, $2)", d->event.id,
                     absl::StrCat(d->message->partition));
    }
    return absl::OkStatus();
  }
  // The slow message's partition once its transaction is held, else -1.
  int32_t slow_partition() {
    absl::MutexLock l(&mu_);
    return slow_partition_;
  }
  void Release() { release_.Notify(); }

 private:
  mutable absl::Mutex mu_;
  mutable int32_t slow_partition_ = -1;
  mutable absl::Notification release_;
};

constexpr char kSchemaSql[] = R"sql(
CREATE SCHEMA IF NOT EXISTS kt;
CREATE TABLE IF NOT EXISTS kt.processed_messages (consumer text NOT NULL, event text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event));
CREATE TABLE IF NOT EXISTS kt.effects (ce_id text NOT NULL, member text NOT NULL);
)sql";

kafka::Message Event(const std::string& topic, const std::string& id, const std::string& key,
                     const std::string& batch_id = "ok") {
  MetricBatch b;
  b.set_tenant("t");
  b.set_batch_id(batch_id);
  kafka::Message m{.topic = topic, .key = key, .value = b.SerializeAsString()};
  m.headers = kafka::CloudEventHeaders(
      {.id = id, .source = "/test", .type = "dev.k8intel.test.v1", .time = absl::Now()});
  return m;
}

ConsumerOptions Options(const std::string& bootstrap, const std::string& topic,
                        const std::string& group, int max_batch) {
  return {.name = group,
          .bootstrap = bootstrap,
          .topics = {topic},
          .schema = "kt",
          .max_batch = max_batch,
          .poll_timeout = absl::Milliseconds(100),
          // Longer than the dev broker holds a new group's first join (3 s), or a member can
          // expire while it waits and never be answered (see kafka_integration_test.cc). The
          // group re-forms session.timeout.ms - 1 s after a member vanishes.
          .kafka_extra = {{"session.timeout.ms", "5000"},
                          {"heartbeat.interval.ms", "1000"},
                          {"topic.metadata.refresh.interval.ms", "1000"}}};
}

// The child mode: a consumer that runs until killed (or 90 s), described by the environment.
TEST(ConsumerChild, Run) {
  const char* db = std::getenv("K8I_KIT_CHILD_DB");
  if (db == nullptr) GTEST_SKIP() << "only run as a child of the other tests";
  auto pool = pg::Pool::Create({.url = db, .size = 2});
  ASSERT_TRUE(pool.ok());
  auto producer = kafka::Producer::Create({.bootstrap = std::getenv("K8I_KIT_CHILD_KAFKA")});
  ASSERT_TRUE(producer.ok());
  EffectHandler handler("child", absl::Milliseconds(40));
  metrics::Registry registry;
  auto c = TransactionalConsumer::Create(
      Options(std::getenv("K8I_KIT_CHILD_KAFKA"), std::getenv("K8I_KIT_CHILD_TOPIC"),
              std::getenv("K8I_KIT_CHILD_GROUP"), 5),
      pool->get(), producer->get(), &handler, registry);
  ASSERT_TRUE(c.ok()) << c.status();
  (*c)->Start();
  absl::SleepFor(absl::Seconds(90));  // killed long before
}

class ConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    topic_ = absl::StrCat("kt.", NewId().substr(0, 8), ".v1");
    devbroker::MockBrokerOptions opts;
    opts.partitions = 3;
    opts.topics = {topic_, topic_ + ".dlq"};
    auto broker = devbroker::MockBroker::Start(opts);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto pool = pg::Pool::Create({.url = db_->url(), .size = 4});
    ASSERT_TRUE(pool.ok());
    pool_ = *std::move(pool);
    ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
                       tx.exec(kSchemaSql);
                       return absl::OkStatus();
                     })
                    .ok());
    auto producer = kafka::Producer::Create({.bootstrap = broker_->Bootstrap()});
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }

  void TearDown() override {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  void Produce(const std::vector<kafka::Message>& msgs) {
    ASSERT_TRUE(producer_->ProduceAll(msgs, absl::Seconds(10)).ok());
  }

  std::vector<kafka::Message> Events(int n, const std::string& prefix) {
    std::vector<kafka::Message> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(Event(topic_, absl::StrCat(prefix, i), absl::StrCat("k", i % 11)));
    }
    return out;
  }

  int64_t Query(const std::string& sql) {
    int64_t v = -1;
    auto s = pool_->WithTransaction([&](pqxx::work& tx) {
      v = tx.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return v;
  }

  // WaitFor polls `sql` (one integer) until it reaches `want` or `deadline` passes.
  bool WaitFor(const std::string& sql, int64_t want, absl::Duration deadline) {
    const absl::Time until = absl::Now() + deadline;
    while (absl::Now() < until) {
      if (Query(sql) >= want) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

  // A consumer of the topic in `group`, its metrics in `registry` (the fixture's by default).
  std::unique_ptr<TransactionalConsumer> NewConsumer(Handler* handler, const std::string& group,
                                                     int max_batch = 50,
                                                     metrics::Registry* registry = nullptr) {
    auto c = TransactionalConsumer::Create(Options(broker_->Bootstrap(), topic_, group, max_batch),
                                           pool_.get(), producer_.get(), handler,
                                           registry != nullptr ? *registry : registry_);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // Drain polls `c` on this thread until `sql` reaches `want`.
  void Drain(TransactionalConsumer& c, const std::string& sql, int64_t want) {
    const absl::Time until = absl::Now() + absl::Seconds(60);
    while (absl::Now() < until && Query(sql) < want) {
      ASSERT_TRUE(c.PollOnce(absl::Milliseconds(200)).ok());
    }
    ASSERT_GE(Query(sql), want);
  }

  // StartHeldConsumer starts a consumer of two workers in `group` with `handler` and has one
  // of its workers held on a "slow" message (key k0); null if that did not happen in 30 s.
  std::unique_ptr<TransactionalConsumer> StartHeldConsumer(BlockingHandler& handler,
                                                           const std::string& group,
                                                           int max_batch) {
    ConsumerOptions o = Options(broker_->Bootstrap(), topic_, group, max_batch);
    o.workers = 2;
    auto c = TransactionalConsumer::Create(o, pool_.get(), producer_.get(), &handler, registry_);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return nullptr;
    (*c)->Start();
    Produce({Event(topic_, "slow", "k0", "slow")});
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (handler.slow_partition() < 0 && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (handler.slow_partition() < 0) return nullptr;
    return *std::move(c);
  }

  pid_t SpawnChild(const std::string& group) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.push_back(absl::StrCat("K8I_KIT_CHILD_DB=", db_->url()));
    env_strings.push_back(absl::StrCat("K8I_KIT_CHILD_KAFKA=", broker_->Bootstrap()));
    env_strings.push_back(absl::StrCat("K8I_KIT_CHILD_TOPIC=", topic_));
    env_strings.push_back(absl::StrCat("K8I_KIT_CHILD_GROUP=", group));
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe", filter = "--gtest_filter=ConsumerChild.Run";
    char* argv[] = {exe.data(), filter.data(), nullptr};
    pid_t pid = 0;
    EXPECT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    children_.push_back(pid);
    return pid;
  }

  std::string topic_;
  std::unique_ptr<devbroker::MockBroker> broker_;
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<kafka::Producer> producer_;
  metrics::Registry registry_;
  std::vector<pid_t> children_;
};

constexpr char kEffects[] = "SELECT count(*) FROM kt.effects";
constexpr char kDistinctEffects[] = "SELECT count(DISTINCT ce_id) FROM kt.effects";

TEST_F(ConsumerTest, SameMessagesDeliveredTwiceChangeNothing) {
  Produce(Events(40, "e"));
  EffectHandler handler("a", absl::ZeroDuration());
  auto c = NewConsumer(&handler, "dup");
  ASSERT_NE(c, nullptr);
  Drain(*c, kEffects, 40);
  // The same CloudEvents again (a producer retry, a republish): found processed.
  Produce(Events(40, "e"));
  Produce({Event(topic_, "last", "k0")});
  Drain(*c, kEffects, 41);
  EXPECT_EQ(Query(kEffects), 41);
  EXPECT_EQ(Query(kDistinctEffects), 41);
  EXPECT_EQ(c->applied_total(), 41);
  EXPECT_NE(registry_.Expose().find(
                absl::StrCat("k8i_consumer_messages_total{consumer=\"dup\",topic=\"", topic_,
                             "\",result=\"duplicate\"} 40")),
            std::string::npos)
      << registry_.Expose();
}

TEST_F(ConsumerTest, PoisonMessagesAreDeadLetteredAndThePartitionGoesOn) {
  // One key: one partition, in this order.
  kafka::Message no_headers = Event(topic_, "x", "p");
  no_headers.headers.clear();
  kafka::Message garbage = Event(topic_, "garbage", "p");
  garbage.value = "\xff\xff\xff not protobuf";
  Produce({Event(topic_, "ok1", "p"), no_headers, Event(topic_, "ok2", "p"), garbage,
           Event(topic_, "ok3", "p"), Event(topic_, "rej", "p", "reject"),
           Event(topic_, "inv", "p", "invalid"), Event(topic_, "ok4", "p")});
  EffectHandler handler("a", absl::ZeroDuration());
  auto c = NewConsumer(&handler, "poison");
  ASSERT_NE(c, nullptr);
  Drain(*c, kEffects, 4);
  EXPECT_EQ(Query("SELECT count(*) FROM kt.effects WHERE ce_id LIKE 'ok%'"), 4);
  EXPECT_EQ(Query(kEffects), 4);
  EXPECT_EQ(c->dead_lettered_total(), 4);

  // The dead-letter topic holds the four, each with its reason.
  auto dlq = kafka::Consumer::Create({.bootstrap = broker_->Bootstrap(),
                                      .group_id = "dlq-reader",
                                      .topics = {topic_ + ".dlq"}});
  ASSERT_TRUE(dlq.ok());
  std::map<std::string, std::string> reasons;  // value prefix → reason
  const absl::Time until = absl::Now() + absl::Seconds(30);
  while (reasons.size() < 4 && absl::Now() < until) {
    auto msgs = (*dlq)->Poll(10, absl::Milliseconds(200));
    ASSERT_TRUE(msgs.ok());
    for (const auto& m : *msgs) {
      std::string reason, source;
      for (const auto& h : m.headers) {
        if (h.key == "k8i_dlq_reason") reason = h.value;
        if (h.key == "k8i_dlq_source") source = h.value;
      }
      EXPECT_FALSE(source.empty());
      MetricBatch b;
      std::string id = b.ParseFromString(m.value) ? b.batch_id() : "garbage";
      if (reason == "bad_headers") id = "no_headers";
      reasons[id] = reason;
    }
  }
  EXPECT_EQ(reasons["no_headers"], "bad_headers");
  EXPECT_EQ(reasons["garbage"], "undecodable");
  EXPECT_EQ(reasons["reject"], "rejected");
  EXPECT_EQ(reasons["invalid"], "invalid");
  // Committed past the poison: a new member of the group finds nothing left.
  c.reset();
  auto again = NewConsumer(&handler, "poison");
  ASSERT_NE(again, nullptr);
  for (int i = 0; i < 15; ++i) {
    auto r = again->PollOnce(absl::Milliseconds(200));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->applied + r->dead_lettered + r->duplicates, 0);
  }
}

TEST_F(ConsumerTest, WorkersApplyPartitionsAtOnceEachInOrderAndOnce) {
  constexpr int kN = 120;
  Produce(Events(kN, "w"));  // 11 keys over 3 partitions, each key's events in order
  ParallelHandler handler;
  ConsumerOptions o = Options(broker_->Bootstrap(), topic_, "workers", 500);
  o.workers = 3;
  o.linger = absl::Milliseconds(500);  // one poll gathers every partition's messages
  auto c = TransactionalConsumer::Create(o, pool_.get(), producer_.get(), &handler, registry_);
  ASSERT_TRUE(c.ok()) << c.status();
  Drain(**c, kDistinctEffects, kN);
  EXPECT_TRUE(handler.overlapped()) << "no two groups were applied at the same time";
  EXPECT_FALSE(handler.mixed()) << "a transaction held two partitions' messages";
  EXPECT_EQ(Query(kEffects), kN);
  EXPECT_EQ(Query("SELECT count(*) FROM kt.processed_messages"), kN);
  for (const auto& [key, ids] : handler.order()) {
    for (size_t i = 1; i < ids.size(); ++i) {
      const int prev = std::stoi(ids[i - 1].substr(1)), cur = std::stoi(ids[i].substr(1));
      EXPECT_LT(prev, cur) << "key " << key << " applied out of order";
    }
  }
  // Committed: a new member of the group, once it reads a new message, has been handed
  // nothing old (no duplicates to skip).
  c->reset();
  Produce({Event(topic_, "w-after", "k0")});
  auto again = NewConsumer(&handler, "workers");
  ASSERT_NE(again, nullptr);
  ProcessReport seen;
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (absl::Now() < until && Query(kEffects) < kN + 1) {
    auto r = again->PollOnce(absl::Milliseconds(200));
    ASSERT_TRUE(r.ok());
    seen.applied += r->applied;
    seen.duplicates += r->duplicates;
  }
  EXPECT_EQ(seen.applied, 1);
  EXPECT_EQ(seen.duplicates, 0);
}

// A worker held in one partition's transaction holds up nothing else: messages of the other
// partitions that arrive meanwhile are applied (no poll waits for every worker to finish).
TEST_F(ConsumerTest, AHeldPartitionDoesNotHoldUpTheOthers) {
  BlockingHandler handler;
  auto c = StartHeldConsumer(handler, "held", 50);
  ASSERT_NE(c, nullptr) << "the slow message was not taken";
  const int32_t slow = handler.slow_partition();
  // 30 messages on 11 keys over 3 partitions; those outside the held partition are applied
  // while it is held.
  Produce(Events(30, "h"));
  const std::string others =
      absl::StrCat("SELECT count(*) FROM kt.effects WHERE member <> '", slow, "'");
  EXPECT_TRUE(WaitFor(others, 5, absl::Seconds(30)))
      << "messages of other partitions waited for the held transaction";
  EXPECT_EQ(Query(absl::StrCat("SELECT count(*) FROM kt.effects WHERE member = '", slow, "'")), 0);
  handler.Release();
  ASSERT_TRUE(WaitFor(kDistinctEffects, 31, absl::Seconds(30)));
  c->Stop();
  EXPECT_EQ(Query(kEffects), 31);
}

// A member whose worker queues are full goes on polling (its partitions paused): the group
// still rebalances, and a member that joins gets partitions and applies their messages while
// the first member's worker is held.
TEST_F(ConsumerTest, AFullWorkerQueueDoesNotHoldUpTheGroup) {
  BlockingHandler held;
  auto a = StartHeldConsumer(held, "full", 1);
  ASSERT_NE(a, nullptr) << "the slow message was not taken";
  // 100 messages on 11 keys: the held worker's queue (one message) fills at once, and more
  // wait than a member keeps (32 x max_batch x workers = 64): its partitions are paused.
  Produce(Events(100, "f"));
  EffectHandler joiner("b", absl::ZeroDuration());
  metrics::Registry registry_b;
  auto b = NewConsumer(&joiner, "full", 50, &registry_b);
  ASSERT_NE(b, nullptr);
  b->Start();
  // More messages on every partition: those of the joiner's partitions are its to apply (the
  // first member's free worker may have applied all it had fetched of them by the time the
  // group re-forms).
  Produce(Events(30, "g"));
  EXPECT_TRUE(WaitFor("SELECT count(*) FROM kt.effects WHERE member = 'b'", 1, absl::Seconds(30)))
      << "the group did not rebalance while a worker of its first member was held";
  held.Release();
  ASSERT_TRUE(WaitFor(kDistinctEffects, 131, absl::Seconds(60)));
  b->Stop();
  a->Stop();
  EXPECT_EQ(Query(kEffects), 131) << "a message was applied twice";
}

TEST_F(ConsumerTest, KilledMidBatchEveryEffectExactlyOnceAfterRestart) {
  constexpr int kN = 300;
  Produce(Events(kN, "m"));
  pid_t child = SpawnChild("crash");
  // Let it apply part of the stream, then kill it inside a transaction.
  ASSERT_TRUE(WaitFor(kEffects, 40, absl::Seconds(60)));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  children_.clear();
  const int64_t before = Query(kEffects);
  ASSERT_LT(before, kN) << "the child finished before it was killed";
  EffectHandler handler("parent", absl::ZeroDuration());
  auto c = NewConsumer(&handler, "crash");
  ASSERT_NE(c, nullptr);
  Drain(*c, kDistinctEffects, kN);
  EXPECT_EQ(Query(kEffects), kN);
  EXPECT_EQ(Query("SELECT count(*) FROM kt.processed_messages"), kN);
}

TEST_F(ConsumerTest, TwoConsumersSplitTheWorkAndNothingIsDoneTwiceWhenOneDies) {
  constexpr int kN = 1000;
  pid_t child = SpawnChild("pair");
  EffectHandler handler("parent", absl::Milliseconds(40));
  auto c = NewConsumer(&handler, "pair", 5);
  ASSERT_NE(c, nullptr);
  c->Start();
  Produce(Events(kN, "s"));
  // Both members work (the group split the partitions between them) ...
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM kt.effects WHERE member = 'child'", 10,
                      absl::Seconds(60)));
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM kt.effects WHERE member = 'parent'", 10,
                      absl::Seconds(60)));
  // ... then the child dies and the survivor takes its partitions over.
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  children_.clear();
  ASSERT_TRUE(WaitFor(kDistinctEffects, kN, absl::Seconds(90)));
  c->Stop();
  EXPECT_EQ(Query(kEffects), kN);
}

// LagGauges is the consumer's k8i_consumer_lag_messages by partition, from `registry`.
std::map<std::string, double> LagGauges(const metrics::Registry& registry) {
  std::map<std::string, double> out;
  const std::string text = registry.Expose();
  constexpr std::string_view kName = "k8i_consumer_lag_messages{";
  constexpr std::string_view kPartition = "partition=\"";
  for (size_t at = text.find(kName); at != std::string::npos; at = text.find(kName, at + 1)) {
    const std::string line = text.substr(at, text.find('\n', at) - at);
    const size_t p = line.find(kPartition);
    if (p == std::string::npos) continue;
    const size_t from = p + kPartition.size();
    out[line.substr(from, line.find('"', from) - from)] =
        std::stod(line.substr(line.rfind(' ') + 1));
  }
  return out;
}

// A member that loses partitions in a rebalance sets their lag gauge to 0: the lag alert takes
// the max over replicas, and the last value from before the rebalance would keep it firing.
TEST_F(ConsumerTest, LagOfPartitionsLostInARebalanceGoesToZero) {
  Produce(Events(6000, "l"));
  // A works slowly (a message per 100 ms, 2,000 waiting per partition): its own partitions
  // keep a backlog throughout, so a 0 can only come from a partition it lost.
  EffectHandler slow("a", absl::Milliseconds(100));
  metrics::Registry registry_a;
  auto a = NewConsumer(&slow, "lag", 1, &registry_a);
  ASSERT_NE(a, nullptr);
  const absl::Time alone_until = absl::Now() + absl::Seconds(30);
  while (LagGauges(registry_a).size() < 3 && absl::Now() < alone_until) {
    ASSERT_TRUE(a->PollOnce(absl::Milliseconds(100)).ok());
  }
  ASSERT_EQ(LagGauges(registry_a).size(), 3u) << registry_a.Expose();
  for (const auto& [partition, lag] : LagGauges(registry_a)) EXPECT_GT(lag, 0) << partition;

  // B joins the group and takes some of A's partitions.
  EffectHandler fast("b", absl::ZeroDuration());
  metrics::Registry registry_b;
  auto b = NewConsumer(&fast, "lag", 50, &registry_b);
  ASSERT_NE(b, nullptr);
  b->Start();
  // Settled: B works, and A reports 0 for what it lost and its backlog for what it kept.
  auto settled = [&] {
    bool lost = false, kept = false;
    for (const auto& [partition, lag] : LagGauges(registry_a)) {
      lost |= lag == 0;
      kept |= lag > 0;
    }
    return lost && kept && Query("SELECT count(*) FROM kt.effects WHERE member = 'b'") > 0;
  };
  const absl::Time until = absl::Now() + absl::Seconds(60);
  while (!settled() && absl::Now() < until) {
    ASSERT_TRUE(a->PollOnce(absl::Milliseconds(100)).ok());
  }
  EXPECT_TRUE(settled()) << registry_a.Expose();
  b->Stop();
}

}  // namespace
}  // namespace k8i::kit
