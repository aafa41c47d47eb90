// Agent tokens issued before control.agent_tokens existed (telemetry.agent_tokens, written by
// the retired `k8i-ingest create-agent-token`) keep authenticating after both services
// migrate, in either order, even when their tenant was never created in the control schema.
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/common/ids.h"
#include "libs/pg/migrate.h"
#include "libs/testing/stack.h"
#include "services/ingest/migrations.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::inventory {
namespace {

class TokenMigrationTest : public ::testing::TestWithParam<bool> {};

TEST_P(TokenMigrationTest, OldTokensStillAuthenticate) {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  const bool ingest_first = GetParam();
  auto db = k8i::testing::TempDatabase::Create();
  ASSERT_TRUE(db.ok()) << db.status();
  auto pool = pg::Pool::Create({.url = (*db)->url(), .size = 2});
  ASSERT_TRUE(pool.ok());
  // The schema as it was: ingest's first migration, with one live and one revoked token.
  const auto& all = ingest::Migrations();
  ASSERT_TRUE(pg::Migrate(**pool, "telemetry", {all[0]}).ok());
  const std::string live = "k8i_agt_" + RandomToken(32), revoked = "k8i_agt_" + RandomToken(32);
  ASSERT_TRUE((*pool)
                  ->WithTransaction([&](pqxx::work& tx) {
                    pg::ExecParams(tx,
                                   "INSERT INTO telemetry.agent_tokens (token_sha256, tenant_id, "
                                   "cluster_id, revoked_at) VALUES ($1, 'legacy', 'old-c', NULL), "
                                   "($2, 'legacy', 'old-c', now())",
                                   {Sha256Hex(live), Sha256Hex(revoked)});
                    return absl::OkStatus();
                  })
                  .ok());
  if (ingest_first) {
    ASSERT_TRUE(pg::Migrate(**pool, "telemetry", all).ok());
    ASSERT_TRUE(ApplyMigrations(**pool).ok());
  } else {
    ASSERT_TRUE(ApplyMigrations(**pool).ok());
    ASSERT_TRUE(pg::Migrate(**pool, "telemetry", all).ok());
  }
  ingest::PgTokenStore tokens(pool->get(), &RealClock::Instance());
  auto who = tokens.Authenticate(live);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->tenant, "legacy");
  EXPECT_EQ(who->cluster, "old-c");
  EXPECT_TRUE(absl::IsUnauthenticated(tokens.Authenticate(revoked).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(tokens.Authenticate("k8i_agt_" + RandomToken(32)).status()));
}

INSTANTIATE_TEST_SUITE_P(EitherOrder, TokenMigrationTest, ::testing::Bool());

}  // namespace
}  // namespace k8i::inventory
