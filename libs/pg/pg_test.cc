#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/pg/bulk.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pool.h"
#include "libs/testing/stack.h"

namespace k8i::pg {
namespace {

class PgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto pool = Pool::Create({.url = db_->url(), .size = 4});
    ASSERT_TRUE(pool.ok());
    pool_ = std::move(*pool);
  }
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<Pool> pool_;
};

TEST_F(PgTest, MigrationsApplyOnceAndDetectEdits) {
  std::vector<Migration> m = {{1, "0001_t", "CREATE TABLE t (id int PRIMARY KEY)"},
                              {2, "0002_u", "CREATE TABLE u (id int)"}};
  ASSERT_TRUE(Migrate(*pool_, "svc", m).ok());
  ASSERT_TRUE(Migrate(*pool_, "svc", m).ok());  // idempotent
  int count = -1;
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    count = tx.exec1("SELECT count(*) FROM svc.schema_migrations")[0].as<int>();
    tx.exec("INSERT INTO svc.t VALUES (1)");
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(count, 2);
  m[0].sql = "CREATE TABLE t (id bigint PRIMARY KEY)";
  absl::Status s = Migrate(*pool_, "svc", m);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST_F(PgTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  std::vector<Migration> m = {{1, "0001_t", "CREATE TABLE t (id int PRIMARY KEY)"}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (Migrate(*pool_, "race", m).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST_F(PgTest, ErrorsMapToStatusCodesAndRollBack) {
  ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("CREATE TABLE k (id int PRIMARY KEY)");
    return absl::OkStatus();
  }).ok());
  absl::Status dup = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("INSERT INTO k VALUES (1)");
    tx.exec("INSERT INTO k VALUES (1)");
    return absl::OkStatus();
  });
  EXPECT_EQ(dup.code(), absl::StatusCode::kFailedPrecondition) << dup;
  absl::Status bad = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("SELECT 'x'::int");
    return absl::OkStatus();
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << bad;
  // A callback error aborts the transaction.
  absl::Status cb = pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("INSERT INTO k VALUES (2)");
    return absl::CancelledError("stop");
  });
  EXPECT_EQ(cb.code(), absl::StatusCode::kCancelled);
  int rows = -1;
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    rows = tx.exec1("SELECT count(*) FROM k")[0].as<int>();
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(rows, 0);
}

TEST_F(PgTest, CopyRowsLoadsTextFormat) {
  ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec("CREATE SCHEMA s; CREATE TABLE s.c (a bigint, b timestamptz, c float8)");
    return CopyRows(tx, "s.c", {"a", "b", "c"},
                    "1\t2026-01-02 03:04:05.678+00\t1.5\n2\t2026-01-02 03:04:06+00\t-2e-07\n");
  }).ok());
  double sum = 0;
  ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
    sum = tx.exec1("SELECT sum(c) FROM s.c")[0].as<double>();
    return absl::OkStatus();
  }).ok());
  EXPECT_DOUBLE_EQ(sum, 1.5 - 2e-07);
}

// Bytes cross as one binary parameter: NULs, quotes, backslashes, high bytes and empty values
// come back exactly, row by row, beside text columns.
TEST_F(PgTest, ExecBulkCarriesBytesInTheBlob) {
  const std::vector<std::string> bodies = {std::string("a\0b", 3), "", "\"{},\\\x01\xff",
                                           std::string(70000, '\x80'), "z"};
  ASSERT_TRUE(pool_
                  ->WithTransaction([&](pqxx::work& tx) {
                    tx.exec("CREATE TABLE b (k text, body bytea, n int)");
                    Columns cols(4);
                    for (size_t r = 0; r < bodies.size(); ++r) {
                      cols.Add(0, absl::StrCat("row", r));
                      cols.AddBytes(1, bodies[r]);
                      cols.Add(3, absl::StrCat(r));
                    }
                    ExecBulkWith(
                        tx,
                        "INSERT INTO b SELECT u.k, substring($5::bytea FROM u.o FOR u.l), u.n FROM "
                        "unnest($1::text[], $2::int[], $3::int[], $4::int[]) AS u(k, o, l, n)",
                        {}, cols);
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(pool_
                  ->WithTransaction([&](pqxx::work& tx) {
                    const pqxx::result r = tx.exec("SELECT k, body, n FROM b ORDER BY n");
                    EXPECT_EQ(r.size(), bodies.size());
                    for (size_t i = 0; i < r.size(); ++i) {
                      const pqxx::binarystring b(r[i][1]);
                      EXPECT_EQ(r[i][0].as<std::string>(), absl::StrCat("row", i));
                      EXPECT_EQ(b.str(), bodies[i]) << "row " << i;
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST(PgPoolTest, UnreachableServerIsUnavailable) {
  auto pool = Pool::Create({.url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1",
                            .size = 1});
  ASSERT_TRUE(pool.ok());
  absl::Status s = (*pool)->WithTransaction([](pqxx::work&) { return absl::OkStatus(); },
                                            {.max_attempts = 1});
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
}

}  // namespace
}  // namespace k8i::pg
