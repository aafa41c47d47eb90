-- Liveness probe failures from Kubernetes events (reason Unhealthy, "Liveness probe failed"),
-- one row per event object: its container (from the event's fieldPath; '' when unknown), the
-- span it covers and its count as last observed. Stability advice reads the failures of the
-- last hour from it.
CREATE TABLE probe_failures (
  tenant_id   text NOT NULL,
  cluster_id  text NOT NULL,
  event_uid   text NOT NULL,
  namespace   text NOT NULL,
  pod         text NOT NULL,
  container   text NOT NULL,
  first_time  timestamptz NOT NULL,
  last_time   timestamptz NOT NULL,
  count       integer NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, event_uid)
);
CREATE INDEX probe_failures_recent ON probe_failures (tenant_id, cluster_id, last_time);
