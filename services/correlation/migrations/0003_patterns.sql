-- Every time an alert started firing (first time, or again after it resolved): the history
-- ListPatterns looks for recurring alerts and crashes after changes in. Kept
-- K8I_CORRELATION_HISTORY (90 days), like events and revisions.
CREATE TABLE firings (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  fingerprint   text NOT NULL,
  at            timestamptz NOT NULL,
  name          text NOT NULL,
  object_kind   text NOT NULL,
  object_ns     text NOT NULL,
  object_name   text NOT NULL,
  workload_kind text NOT NULL,
  workload_ns   text NOT NULL,
  workload_name text NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, fingerprint, at)
);
CREATE INDEX firings_time ON firings (tenant_id, cluster_id, at);
CREATE INDEX firings_age ON firings (at);
CREATE INDEX events_age ON events (last_time);
CREATE INDEX revisions_age ON revisions (at);
