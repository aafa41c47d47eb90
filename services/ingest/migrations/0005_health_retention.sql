-- What cluster health (read by inventory) and the retention job (ingest) need: the definition
-- of "failing pod" as a SQL function (a Ready node is k8i_node_ready from 0002), and partial
-- indexes so that health for many clusters and the retention deletes are index scans.

-- A Pod is failing when its phase is Failed or Unknown, or a container is waiting in
-- CrashLoopBackOff, ImagePullBackOff, ErrImagePull or CreateContainerConfigError. Succeeded
-- (completed) pods are not failing. Changing this definition needs REINDEX of
-- objects_failing_pods.
CREATE FUNCTION k8i_pod_failing(object jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT coalesce(object->>'phase', '') IN ('Failed', 'Unknown')
            OR object @> '{"containers":[{"state":"waiting","state_reason":"CrashLoopBackOff"}]}'
            OR object @> '{"containers":[{"state":"waiting","state_reason":"ImagePullBackOff"}]}'
            OR object @> '{"containers":[{"state":"waiting","state_reason":"ErrImagePull"}]}'
            OR object @> '{"containers":[{"state":"waiting","state_reason":"CreateContainerConfigError"}]}' $$;

-- Cluster health: live nodes, live pods (index-only count), failing pods.
CREATE INDEX objects_live_nodes ON objects (tenant_id, cluster_id, name)
  WHERE kind = 'Node' AND NOT deleted;
CREATE INDEX objects_live_pods ON objects (tenant_id, cluster_id)
  WHERE kind = 'Pod' AND NOT deleted;
CREATE INDEX objects_failing_pods ON objects (tenant_id, cluster_id, namespace, name)
  WHERE kind = 'Pod' AND NOT deleted AND k8i_pod_failing(object);

-- Retention: each rule deletes per tenant by age.
CREATE INDEX objects_deleted_age ON objects (tenant_id, updated_at) WHERE deleted;
-- (events: events_time_fleet from 0002 serves the age scan.)
CREATE INDEX alerts_resolved_age ON alerts (tenant_id, (coalesce(ends_at, updated_at)))
  WHERE status = 2;
CREATE INDEX batches_published_age ON batches (tenant_id, received_at)
  WHERE published_at IS NOT NULL;
