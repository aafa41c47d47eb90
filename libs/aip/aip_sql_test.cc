// Compiled filters, orderings and keyset cursors executed against real PostgreSQL.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/aip/filter.h"
#include "libs/aip/paging.h"
#include "libs/pg/pool.h"
#include "libs/testing/stack.h"

namespace k8i::aip {
namespace {

const Schema& PodSchema() {
  static const Schema s = {
      {"name", {.sql = "name", .type = FieldType::kString, .sortable = true}},
      {"phase", {.sql = "phase", .type = FieldType::kString}},
      {"restarts", {.sql = "restarts", .type = FieldType::kInt, .sortable = true}},
      {"cpu_usage", {.sql = "cpu", .type = FieldType::kDouble, .sortable = true}},
      {"ready", {.sql = "ready", .type = FieldType::kBool}},
      {"create_time", {.sql = "created", .type = FieldType::kTimestamp, .sortable = true}},
      {"age", {.sql = "(now() - created)", .type = FieldType::kDuration}},
      {"labels", {.sql = "labels", .type = FieldType::kMap}},
      {"id", {.sql = "id", .type = FieldType::kInt, .sortable = true}},
  };
  return s;
}

class AipSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    pool_ = std::move(*pg::Pool::Create({.url = db_->url(), .size = 4}));
    ASSERT_TRUE(pool_->WithTransaction([](pqxx::work& tx) {
      tx.exec(
          "CREATE TABLE pods (id bigserial PRIMARY KEY, name text NOT NULL, phase text NOT "
          "NULL, restarts int NOT NULL, cpu double precision NOT NULL, ready boolean NOT NULL, "
          "created timestamptz NOT NULL, labels jsonb NOT NULL)");
      // 1000 pods: phase cycles Running/Pending/Failed, restarts = i % 7, cpu = i / 1000,
      // app label web for even i, created i minutes before 2026-01-01.
      tx.exec(
          "INSERT INTO pods (name, phase, restarts, cpu, ready, created, labels) "
          "SELECT 'pod-' || i, (ARRAY['Running','Pending','Failed'])[i % 3 + 1], i % 7, "
          "i / 1000.0, i % 2 = 0, timestamptz '2026-01-01T00:00:00Z' - make_interval(mins => "
          "i), CASE WHEN i % 2 = 0 THEN '{\"app\":\"web\"}'::jsonb ELSE '{\"tier\":\"db\"}' "
          "END FROM generate_series(0, 999) i");
      return absl::OkStatus();
    }).ok());
  }

  // Count runs the compiled filter; -1 when it does not compile.
  int64_t Count(const std::string& filter) {
    auto c = CompileFilter(filter, PodSchema());
    if (!c.ok()) return -1;
    int64_t n = -2;
    absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
      n = pg::ExecParams(tx, "SELECT count(*) FROM pods WHERE " + c->sql, c->params)[0][0]
              .as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s << " for " << filter;
    return n;
  }

  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
};

TEST_F(AipSqlTest, FiltersSelectTheExpectedRows) {
  EXPECT_EQ(Count(""), 1000);
  EXPECT_EQ(Count("phase = Running"), 334);
  EXPECT_EQ(Count("phase != Running"), 666);
  EXPECT_EQ(Count("restarts >= 5"), 285);  // i % 7 in {5, 6}
  EXPECT_EQ(Count("cpu_usage < 0.1"), 100);
  EXPECT_EQ(Count("ready = true"), 500);
  EXPECT_EQ(Count("labels.app = web"), 500);
  EXPECT_EQ(Count("labels:tier"), 500);
  EXPECT_EQ(Count("name = \"pod-1*\""), 111);  // pod-1, pod-10..19, pod-100..199
  EXPECT_EQ(Count("create_time >= \"2025-12-31T23:00:00Z\""), 61);
  // i % 3 == 0 and i % 7 in {0, 1}: i % 21 in {0, 15}.
  EXPECT_EQ(Count("phase = Running AND restarts = 0 OR restarts = 1"), 95);
  EXPECT_EQ(Count("NOT phase = Running"), 666);
  EXPECT_EQ(Count("-phase = Running"), 666);
}

TEST_F(AipSqlTest, HostileFiltersAreRejectedOrInert) {
  // Injection attempts either fail to compile or are compared as plain data.
  EXPECT_EQ(Count("name = \"x' OR '1'='1\""), 0);
  EXPECT_EQ(Count("name = \"x\\\"; DROP TABLE pods; --\""), 0);
  EXPECT_EQ(Count("name = x; DROP TABLE pods"), -1);
  EXPECT_EQ(Count("labels.\"a') OR true --\" = 1"), -1);
  EXPECT_EQ(Count("labels.a;DROP_TABLE_pods;-- = 1"), 0);  // the key is a parameter
  EXPECT_EQ(Count("name = \"%\""), 0);  // LIKE metacharacters are literal
  EXPECT_EQ(Count(""), 1000);           // the table is still there
}

TEST_F(AipSqlTest, KeysetPagingSeesEveryRowOnceWhileRowsAreInserted) {
  auto order = ParseOrderBy("cpu_usage desc", PodSchema(), "id");
  ASSERT_TRUE(order.ok());
  PageTokenCodec codec("k");
  const std::string fp = PageTokenCodec::QueryFingerprint("ListPods", "", "", "cpu_usage desc");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop && i < 2000; ++i) {
      (void)pool_->WithTransaction([&](pqxx::work& tx) {
        tx.exec(absl::StrCat("INSERT INTO pods (name, phase, restarts, cpu, ready, created, "
                             "labels) VALUES ('new-", i, "', 'Running', 0, ", (i % 1000) / 1000.0,
                             ", true, now(), '{}')"));
        if (i % 10 == 0) tx.exec("DELETE FROM pods WHERE name LIKE 'new-%' AND id % 3 = 0");
        return absl::OkStatus();
      });
    }
  });
  std::set<int64_t> seen;
  std::set<std::string> names;
  std::string token;
  int pages = 0;
  do {
    std::vector<std::string> cursor;
    if (!token.empty()) {
      auto d = codec.Decode(token, fp);
      ASSERT_TRUE(d.ok()) << d.status();
      cursor = *d;
    }
    std::vector<std::string> last;
    ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
      std::string sql = "SELECT id, name, cpu::text FROM pods";
      std::vector<std::string> params;
      if (!cursor.empty()) {
        auto k = KeysetCondition(*order, PodSchema(), cursor, 1);
        EXPECT_TRUE(k.ok());
        sql += " WHERE " + k->sql;
        params = k->params;
      }
      sql += " ORDER BY " + OrderBySql(*order, PodSchema()) + " LIMIT 37";
      pqxx::result r = pg::ExecParams(tx, sql, params);
      for (const auto& row : r) {
        const int64_t id = row[0].as<int64_t>();
        EXPECT_TRUE(seen.insert(id).second) << "row " << id << " repeated";
        names.insert(row[1].as<std::string>());
        last = {row[2].as<std::string>(), row[0].as<std::string>()};
      }
      return absl::OkStatus();
    }).ok());
    token = last.empty() ? "" : codec.Encode(fp, last);
    ++pages;
  } while (!token.empty());
  stop = true;
  writer.join();
  // Every row that existed before paging began (and is never deleted) was seen once.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(names.contains(absl::StrCat("pod-", i))) << "pod-" << i << " skipped";
  }
  EXPECT_GT(pages, 27);
}

}  // namespace
}  // namespace k8i::aip
