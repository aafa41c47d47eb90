-- Ingest on the service kit. Rollups leave the write path: ingest's batch transaction records
-- what each batch still owes the rollups (rollup_pending), and the rollup consumer of
-- k8i.metrics.v1 (store/pg_rollups) merges the batch's cells and settles the debt in one
-- transaction with its processed-message record. A read that needs rollups over a range a
-- pending batch touches uses raw samples.

CREATE TABLE rollup_pending (
  tenant_id       text NOT NULL,
  cluster_id      text NOT NULL,
  batch_id        text NOT NULL,
  min_ts          timestamptz NOT NULL,  -- the batch's earliest sample
  max_ts          timestamptz NOT NULL,  -- and its latest
  samples_pending bigint NOT NULL,       -- samples not yet merged (a batch may span messages)
  stored_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id, batch_id)
);
CREATE INDEX rollup_pending_range ON rollup_pending (tenant_id, min_ts);

-- The service kit's processed-message records (libs/kit/consumer.h): one row per CloudEvent
-- ("<ce_source>#<ce_id>") a consumer of this service applied, written in the transaction that
-- applied it.
CREATE TABLE processed_messages (
  consumer     text NOT NULL,
  event        text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event)
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

-- The batch as received (deterministic protobuf), kept from its commit until every message of
-- it reached Kafka: what the republisher publishes when Kafka was down and the agent never
-- resent. Deleted when the batch is marked published.
CREATE TABLE unpublished_batches (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  batch_id   text NOT NULL,
  payload    bytea NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id, batch_id)
);
CREATE INDEX unpublished_batches_age ON unpublished_batches (stored_at);

-- The service kit's leader-elected jobs (libs/kit/job.h): when each last succeeded, on any
-- replica, so a new leader can catch up on missed periods.
CREATE TABLE job_runs (
  job              text PRIMARY KEY,
  last_success     timestamptz NOT NULL,
  last_duration_ms bigint NOT NULL
);
