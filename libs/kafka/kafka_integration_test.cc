// Producer and Consumer against librdkafka's mock cluster, started in-process through
// tools/devbroker's MockBroker: real TCP, real Kafka protocol, no environment needed.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/producer.h"
#include "tools/devbroker/devbroker.h"

namespace k8i::kafka {
namespace {

using ::testing::HasSubstr;

constexpr char kTopic[] = "k8i.test.v1";

class KafkaIntegrationTest : public ::testing::Test {
 protected:
  void StartBroker(int partitions) {
    devbroker::MockBrokerOptions options;
    options.partitions = partitions;
    options.topics = {kTopic};
    auto broker = devbroker::MockBroker::Start(options);
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *std::move(broker);
  }

  void SetUp() override { StartBroker(3); }

  std::unique_ptr<Producer> NewProducer(absl::Duration delivery_timeout = absl::Seconds(30)) {
    ProducerOptions options;
    options.bootstrap = broker_->Bootstrap();
    options.delivery_timeout = delivery_timeout;
    // Reconnect quickly after a broker comes back up.
    options.extra = {{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "500"}};
    auto p = Producer::Create(options);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }

  std::unique_ptr<Consumer> NewConsumer(const std::string& group) {
    ConsumerOptions options;
    options.bootstrap = broker_->Bootstrap();
    options.group_id = group;
    options.topics = {kTopic};
    // 5 s: the dev broker (librdkafka's mock) holds a new group's first JoinGroup 3 s and checks
    // sessions every second; with a shorter session a member can expire while it waits, its
    // JoinGroup is never answered and librdkafka waits max.poll.interval.ms for it. The group
    // re-forms session.timeout.ms - 1 s after a member left.
    options.extra = {{"session.timeout.ms", "5000"}, {"heartbeat.interval.ms", "1000"}};
    auto c = Consumer::Create(options);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // ReadN polls until `n` messages arrived or `timeout` passed.
  static std::vector<ConsumedMessage> ReadN(Consumer& c, size_t n, absl::Duration timeout) {
    std::vector<ConsumedMessage> out;
    absl::Time deadline = absl::Now() + timeout;
    while (out.size() < n && absl::Now() < deadline) {
      auto batch = c.Poll(500, absl::Milliseconds(200));
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) break;
      for (auto& m : *batch) out.push_back(std::move(m));
    }
    return out;
  }

  static std::vector<Message> Batch(int n, const std::string& prefix) {
    std::vector<Message> msgs;
    for (int i = 0; i < n; ++i) {
      msgs.push_back({kTopic, absl::StrCat(prefix, "-k", i), absl::StrCat(prefix, "-v", i), {}});
    }
    return msgs;
  }

  std::unique_ptr<devbroker::MockBroker> broker_;
};

TEST_F(KafkaIntegrationTest, DeliversAndConsumesThousandMessagesWithHeaders) {
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  std::vector<Message> msgs;
  for (int i = 0; i < 1000; ++i) {
    CloudEvent ev{absl::StrCat("id-", i), "k8i://test", "io.k8intel.test.v1.Event",
                  absl::FromUnixMillis(1714564800000 + i)};
    Message m{kTopic, absl::StrCat("key-", i), absl::StrCat("value-", i, std::string(1, '\0'), "x"),
              CloudEventHeaders(ev)};
    m.headers.push_back({"binary", std::string("\x00\xff\x01", 3)});
    msgs.push_back(std::move(m));
  }
  absl::Time start = absl::Now();
  absl::Status st = producer->ProduceAll(msgs, absl::Seconds(20));
  ASSERT_TRUE(st.ok()) << st;
  std::printf("produced 1000 in %s\n", absl::FormatDuration(absl::Now() - start).c_str());

  auto consumer = NewConsumer(absl::StrCat("g-", NewId()));
  ASSERT_NE(consumer, nullptr);
  start = absl::Now();
  std::vector<ConsumedMessage> got = ReadN(*consumer, 1000, absl::Seconds(20));
  std::printf("consumed %zu in %s\n", got.size(),
              absl::FormatDuration(absl::Now() - start).c_str());
  ASSERT_EQ(got.size(), 1000u);

  std::map<std::string, const ConsumedMessage*> by_key;
  for (const ConsumedMessage& m : got) {
    EXPECT_EQ(m.topic, kTopic);
    EXPECT_GE(m.partition, 0);
    EXPECT_LT(m.partition, 3);
    EXPECT_GT(m.timestamp_ms, 0);
    by_key[m.key] = &m;
  }
  ASSERT_EQ(by_key.size(), 1000u) << "duplicates or lost keys";
  for (int i = 0; i < 1000; ++i) {
    auto it = by_key.find(absl::StrCat("key-", i));
    ASSERT_NE(it, by_key.end()) << i;
    const ConsumedMessage& m = *it->second;
    EXPECT_EQ(m.value, msgs[i].value);
    EXPECT_EQ(m.headers, msgs[i].headers);
    auto ev = ParseCloudEventHeaders(m.headers);
    ASSERT_TRUE(ev.ok()) << ev.status();
    EXPECT_EQ(ev->id, absl::StrCat("id-", i));
    EXPECT_EQ(ev->time, absl::FromUnixMillis(1714564800000 + i));
  }
}

TEST_F(KafkaIntegrationTest, NewConsumerResumesAfterCommittedOffset) {
  StartBroker(1);  // One partition: offsets are the production order.
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch(10, "a"), absl::Seconds(10)).ok());

  const std::string group = absl::StrCat("g-", NewId());
  {
    auto first = NewConsumer(group);
    ASSERT_NE(first, nullptr);
    std::vector<ConsumedMessage> got = ReadN(*first, 10, absl::Seconds(20));
    ASSERT_EQ(got.size(), 10u);
    EXPECT_EQ(got[4].offset, 4);
    EXPECT_EQ(got[4].key, "a-k4");
    absl::Status st = first->Commit(got[4]);  // Processed 0..4.
    ASSERT_TRUE(st.ok()) << st;
    first->Close();
    EXPECT_TRUE(absl::IsFailedPrecondition(first->Poll(1, absl::ZeroDuration()).status()));
  }
  auto second = NewConsumer(group);
  ASSERT_NE(second, nullptr);
  std::vector<ConsumedMessage> got = ReadN(*second, 5, absl::Seconds(20));
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].offset, 5);
  EXPECT_EQ(got[0].key, "a-k5");
  EXPECT_EQ(got[4].key, "a-k9");
  // Nothing more: messages 0..4 are not redelivered.
  auto more = second->Poll(10, absl::Milliseconds(500));
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->empty());
}

// Every assignment of a partition to a member has its own number, on the messages read under
// it and in Assigned(): a member tells what it read before a rebalance from what it reads
// after (the kit consumer commits only offsets of the current assignment).
TEST_F(KafkaIntegrationTest, EachAssignmentOfAPartitionHasItsOwnNumber) {
  StartBroker(1);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch(2, "a"), absl::Seconds(10)).ok());
  const std::string group = absl::StrCat("g-", NewId());
  auto first = NewConsumer(group);
  ASSERT_NE(first, nullptr);
  std::vector<ConsumedMessage> got = ReadN(*first, 2, absl::Seconds(20));
  ASSERT_EQ(got.size(), 2u);
  const int64_t before = got[0].assignment;
  EXPECT_GT(before, 0);
  EXPECT_EQ(got[1].assignment, before);
  const std::pair<std::string, int32_t> p0{kTopic, 0};
  EXPECT_EQ(first->Assigned(), (std::map<std::pair<std::string, int32_t>, int64_t>{{p0, before}}));
  // Read up to here: whoever holds the partition next starts after these two.
  ASSERT_TRUE(first->Commit(got[1]).ok());
  // A second member joins: the group revokes and assigns again (to either).
  auto second = NewConsumer(group);
  ASSERT_NE(second, nullptr);
  const absl::Time until = absl::Now() + absl::Seconds(30);
  auto settled = [&] {
    const auto a = first->Assigned(), b = second->Assigned();
    return (a.empty() && b.contains(p0)) || (b.empty() && a.contains(p0) && a.at(p0) != before);
  };
  while (!settled() && absl::Now() < until) {
    ASSERT_TRUE(first->Poll(10, absl::Milliseconds(50)).ok());
    ASSERT_TRUE(second->Poll(10, absl::Milliseconds(50)).ok());
  }
  ASSERT_TRUE(settled()) << "no new assignment of the partition";
  // What is read now carries the new number of whichever member holds the partition.
  ASSERT_TRUE(producer->ProduceAll(Batch(1, "b"), absl::Seconds(10)).ok());
  Consumer& holder = first->Assigned().contains(p0) ? *first : *second;
  got = ReadN(holder, 1, absl::Seconds(20));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "b-k0");
  EXPECT_EQ(got[0].assignment, holder.Assigned().at(p0));
  if (&holder == first.get()) {
    EXPECT_GT(got[0].assignment, before);
  }
}

// A partition paused under one assignment and revoked before the member resumed is fetched
// again when it comes back to the member: librdkafka keeps an application's pause across
// unassign and assign, so the member must remember it until it resumes it.
TEST_F(KafkaIntegrationTest, APartitionPausedBeforeARebalanceIsFetchedWhenAssignedBack) {
  StartBroker(2);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  const std::string group = absl::StrCat("g-", NewId());
  auto first = NewConsumer(group);
  ASSERT_NE(first, nullptr);
  auto poll_until = [](const std::vector<Consumer*>& members, const std::function<bool()>& done) {
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (!done() && absl::Now() < until) {
      for (Consumer* c : members) EXPECT_TRUE(c->Poll(10, absl::Milliseconds(50)).ok());
    }
    return done();
  };
  ASSERT_TRUE(poll_until({first.get()}, [&] { return first->Assigned().size() == 2; }));
  first->PauseAssigned();  // too much waiting: both partitions paused
  // A second member takes one of them before the first resumes.
  auto second = NewConsumer(group);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(poll_until({first.get(), second.get()}, [&] {
    return first->Assigned().size() == 1 && second->Assigned().size() == 1;
  }));
  first->ResumeAssigned();  // what it holds now
  // The second member leaves: both partitions are the first's again.
  second->Close();
  ASSERT_TRUE(poll_until({first.get()}, [&] { return first->Assigned().size() == 2; }));
  ASSERT_TRUE(producer->ProduceAll(Batch(10, "c"), absl::Seconds(10)).ok());
  const std::vector<ConsumedMessage> got = ReadN(*first, 10, absl::Seconds(20));
  std::set<int32_t> partitions;
  for (const ConsumedMessage& m : got) partitions.insert(m.partition);
  EXPECT_EQ(got.size(), 10u) << "a partition stayed paused";
  EXPECT_EQ(partitions, (std::set<int32_t>{0, 1}));
}

TEST_F(KafkaIntegrationTest, BrokerDownIsUnavailableAndRetryAfterUpDelivers) {
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch(5, "warm"), absl::Seconds(10)).ok());

  ASSERT_TRUE(broker_->BrokerDown(1).ok());
  absl::Time start = absl::Now();
  absl::Status st = producer->ProduceAll(Batch(5, "down"), absl::Seconds(2));
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_GE(took, absl::Milliseconds(1900));
  EXPECT_LT(took, absl::Seconds(4));

  ASSERT_TRUE(broker_->BrokerUp(1).ok());
  st = producer->ProduceAll(Batch(5, "down"), absl::Seconds(15));
  EXPECT_TRUE(st.ok()) << st;

  // At-least-once: the retried batch is there (the first attempt may be too).
  auto consumer = NewConsumer(absl::StrCat("g-", NewId()));
  std::vector<ConsumedMessage> got = ReadN(*consumer, 15, absl::Seconds(15));
  std::map<std::string, int> seen;
  for (const auto& m : got) ++seen[m.key];
  for (int i = 0; i < 5; ++i) {
    EXPECT_GE(seen[absl::StrCat("warm-k", i)], 1);
    EXPECT_GE(seen[absl::StrCat("down-k", i)], 1);
  }
}

TEST_F(KafkaIntegrationTest, InjectedRetriableProduceErrorsAreRetriedInternally) {
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch(1, "warm"), absl::Seconds(10)).ok());
  // NOT_ENOUGH_REPLICAS (19) is retriable: librdkafka retries and the call still succeeds.
  ASSERT_TRUE(broker_->PushErrors("Produce", 19, 3).ok());
  absl::Status st = producer->ProduceAll(Batch(20, "retry"), absl::Seconds(15));
  EXPECT_TRUE(st.ok()) << st;
}

TEST_F(KafkaIntegrationTest, EarlyReturnsStayMemorySafe) {
  // Timeouts far shorter than delivery: most calls return before their reports arrive, and
  // the reports then land on the heap state the calls left behind.
  auto producer = NewProducer(absl::Seconds(3));
  ASSERT_NE(producer, nullptr);
  int early = 0;
  for (int i = 0; i < 200; ++i) {
    absl::Status st = producer->ProduceAll(Batch(50, absl::StrCat("fast", i)),
                                           absl::Microseconds(i % 5 == 0 ? 0 : 300));
    if (!st.ok()) {
      EXPECT_TRUE(absl::IsUnavailable(st)) << st;
      ++early;
    }
  }
  std::printf("%d of 200 calls returned before delivery\n", early);
  EXPECT_GT(early, 0);
  // With the broker down reports arrive only when messages time out or the producer is torn
  // down, long after the calls returned.
  ASSERT_TRUE(broker_->BrokerDown(1).ok());
  for (int i = 0; i < 20; ++i) {
    EXPECT_FALSE(producer->ProduceAll(Batch(10, "late"), absl::Milliseconds(5)).ok());
  }
  ASSERT_TRUE(broker_->BrokerUp(1).ok());
  EXPECT_TRUE(producer->Flush(absl::Seconds(15)).ok());
  // Concurrent callers with tiny timeouts, then destruction with reports still outstanding.
  ASSERT_TRUE(broker_->BrokerDown(1).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&producer, t] {
      for (int i = 0; i < 10; ++i) {
        (void)producer->ProduceAll(Batch(20, absl::StrCat("t", t, "-", i)), absl::Milliseconds(1));
      }
    });
  }
  for (auto& th : threads) th.join();
  producer.reset();  // Purges and serves the remaining reports.
}

TEST_F(KafkaIntegrationTest, FatalErrorRecreatesHandle) {
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->ProduceAll(Batch(5, "before"), absl::Seconds(10)).ok());
  EXPECT_EQ(producer->HandleGenerationForTesting(), 1);

  // A call in flight when the fatal error hits fails promptly with Unavailable.
  ASSERT_TRUE(broker_->BrokerDown(1).ok());
  absl::Status in_flight;
  absl::Duration took;
  std::thread caller([&] {
    absl::Time start = absl::Now();
    in_flight = producer->ProduceAll(Batch(5, "inflight"), absl::Seconds(20));
    took = absl::Now() - start;
  });
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(producer->TriggerFatalErrorForTesting().ok());
  caller.join();
  EXPECT_TRUE(absl::IsUnavailable(in_flight)) << in_flight;
  EXPECT_LT(took, absl::Seconds(5));
  ASSERT_TRUE(broker_->BrokerUp(1).ok());

  absl::Status st = producer->ProduceAll(Batch(5, "after"), absl::Seconds(15));
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(producer->HandleGenerationForTesting(), 2);
}

TEST_F(KafkaIntegrationTest, BadOptionsAreInvalidArgument) {
  ProducerOptions p;
  EXPECT_TRUE(absl::IsInvalidArgument(Producer::Create(p).status()));
  p.bootstrap = broker_->Bootstrap();
  p.extra = {{"no.such.property", "1"}};
  auto bad = Producer::Create(p);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_THAT(bad.status().message(), HasSubstr("no.such.property"));
  p.extra = {{"enable.idempotence", "false"}};
  EXPECT_TRUE(absl::IsInvalidArgument(Producer::Create(p).status()));

  ConsumerOptions c;
  c.bootstrap = broker_->Bootstrap();
  c.topics = {kTopic};
  EXPECT_TRUE(absl::IsInvalidArgument(Consumer::Create(c).status()));  // No group.
  c.group_id = "g";
  c.auto_offset_reset = "sideways";
  auto bad_consumer = Consumer::Create(c);
  EXPECT_TRUE(absl::IsInvalidArgument(bad_consumer.status()));
  EXPECT_THAT(bad_consumer.status().message(), HasSubstr("auto.offset.reset"));
}

TEST_F(KafkaIntegrationTest, OversizedMessageIsInvalidArgument) {
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  Message big{kTopic, "k", std::string(2 * 1024 * 1024, 'x'), {}};
  absl::Status st = producer->ProduceAll({big}, absl::Seconds(5));
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
}

}  // namespace
}  // namespace k8i::kafka
