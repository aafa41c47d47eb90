#include "tools/agent/sender/spool.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;

class CountingObserver : public SpoolObserver {
 public:
  void SpoolDropped(int64_t batches, int64_t bytes, const char* reason) override {
    dropped[reason] += batches;
  }
  void SpoolSize(int64_t batches, int64_t bytes) override { last_bytes = bytes; }
  std::map<std::string, int64_t> dropped;
  int64_t last_bytes = -1;
};

k8intel::v1::TelemetryBatch Batch(const std::string& id, int payload = 100) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id(id);
  b.set_cluster(std::string(payload, 'c'));
  return b;
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agent-spool-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<Spool> Open(int64_t max_bytes = 1 << 20) {
    auto s = Spool::Open({.dir = dir_.string(), .max_bytes = max_bytes}, &observer_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  void Add(Spool& s, const std::string& id, int payload = 100) {
    auto seq = s.ReserveSeq();
    ASSERT_TRUE(seq.ok());
    ASSERT_TRUE(s.Append(*seq, Batch(id, payload)).ok());
  }
  fs::path dir_;
  CountingObserver observer_;
};

TEST_F(SpoolTest, FifoAndRemove) {
  auto s = Open();
  EXPECT_FALSE(s->Oldest().has_value());
  Add(*s, "a");
  Add(*s, "b");
  EXPECT_EQ(s->size(), 2);
  auto e = s->Oldest();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->batch.batch_id(), "a");
  ASSERT_TRUE(s->Remove(e->seq).ok());
  EXPECT_TRUE(s->Remove(e->seq).ok());  // twice is fine
  EXPECT_EQ(s->Oldest()->batch.batch_id(), "b");
  EXPECT_EQ(observer_.last_bytes, s->bytes());
}

TEST_F(SpoolTest, SurvivesRestartInOrderAndNeverReusesSeq) {
  uint64_t last_seq = 0;
  {
    auto s = Open();
    for (const char* id : {"a", "b", "c"}) Add(*s, id);
    ASSERT_TRUE(s->Remove(s->Oldest()->seq).ok());
    // The newest batch was acked too: the next run must still not reuse its sequence number.
    last_seq = *s->ReserveSeq();
  }
  std::ofstream(dir_ / "00000000000000000099.batch.tmp") << "half-written";
  auto s = Open();
  EXPECT_EQ(s->size(), 2);
  EXPECT_FALSE(fs::exists(dir_ / "00000000000000000099.batch.tmp"));
  EXPECT_EQ(s->Oldest()->batch.batch_id(), "b");
  EXPECT_GT(*s->ReserveSeq(), last_seq);
  ASSERT_TRUE(s->Remove(s->Oldest()->seq).ok());
  EXPECT_EQ(s->Oldest()->batch.batch_id(), "c");
}

TEST_F(SpoolTest, FullDropsOldest) {
  // Each batch is ~1 KB serialized; room for 3.
  auto s = Open(3 * 1010);
  for (int i = 0; i < 5; ++i) Add(*s, "b" + std::to_string(i), 1000);
  EXPECT_EQ(s->size(), 3);
  EXPECT_LE(s->bytes(), 3 * 1010);
  EXPECT_EQ(observer_.dropped["spool_full"], 2);
  EXPECT_EQ(s->Oldest()->batch.batch_id(), "b2");
  // A batch bigger than the whole spool is refused, and nothing else is dropped for it.
  auto seq = s->ReserveSeq();
  EXPECT_TRUE(absl::IsResourceExhausted(s->Append(*seq, Batch("huge", 10'000))));
  EXPECT_EQ(observer_.dropped["too_large"], 1);
  EXPECT_EQ(s->size(), 3);
}

TEST_F(SpoolTest, CorruptEntryIsDroppedNotFatal) {
  auto s = Open();
  Add(*s, "a");
  Add(*s, "b");
  const uint64_t first = s->Oldest()->seq;
  s.reset();
  std::ofstream(dir_ / absl::StrFormat("%020d.batch", first), std::ios::trunc) << "\xff\xff\xff";
  s = Open();
  auto e = s->Oldest();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->batch.batch_id(), "b");
  EXPECT_EQ(observer_.dropped["corrupt"], 1);
}

TEST_F(SpoolTest, UnusableDirIsAStartError) {
  std::ofstream(dir_.string()) << "a file, not a dir";
  auto s = Spool::Open({.dir = (dir_ / "sub").string()});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("K8I_AGENT_SPOOL_DIR"), std::string::npos);
  fs::remove(dir_);
}

}  // namespace
}  // namespace k8i::agent
