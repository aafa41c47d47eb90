-- Indexes and typed accessors for the inventory read API (ResourceService). Objects stay one
-- JSON row each; the fields that List methods filter and sort on are reached through the
-- immutable functions below, and every such expression has a partial btree index so that a
-- page is an index range scan. The inventory service writes these exact expressions in its
-- field schemas (services/inventory/resources/kinds.cc); change both together.

-- RFC 3339 text (as protobuf's JSON mapping writes it, always with a zone) to timestamptz.
-- Declared immutable because the input always carries its offset, so the session time zone
-- cannot change the result.
CREATE FUNCTION k8i_ts(t text) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT t::timestamptz $$;

-- An object's creation time ('-infinity' when unknown, so that sorting never meets NULL).
CREATE FUNCTION k8i_create_time(o jsonb) RETURNS timestamptz
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT coalesce(telemetry.k8i_ts(o #>> '{meta,create_time}'), '-infinity'::timestamptz) $$;

-- Restarts summed over a pod's containers.
CREATE FUNCTION k8i_pod_restarts(o jsonb) RETURNS integer
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(sum((c ->> 'restart_count')::integer), 0)::integer
    FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(o -> 'containers') = 'array' THEN o -> 'containers'
           ELSE '[]'::jsonb END) AS c
  $$;

-- Whether a node's Ready condition is True.
CREATE FUNCTION k8i_node_ready(o jsonb) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(bool_or(c ->> 'status' = 'True'), false)
    FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(o -> 'conditions') = 'array' THEN o -> 'conditions'
           ELSE '[]'::jsonb END) AS c
    WHERE c ->> 'type' = 'Ready'
  $$;

-- Every kind: the default order (cluster, namespace, name, uid) and drill-down by namespace.
CREATE INDEX objects_list ON objects (tenant_id, kind, cluster_id, namespace, name, uid)
  WHERE NOT deleted;
-- Every kind: labels (containment and presence).
CREATE INDEX objects_labels ON objects USING gin ((object -> 'meta' -> 'labels'))
  WHERE NOT deleted;
CREATE INDEX objects_create_time ON objects (tenant_id, kind, cluster_id, k8i_create_time(object), uid)
  WHERE NOT deleted;
CREATE INDEX objects_create_time_fleet ON objects (tenant_id, kind, k8i_create_time(object), uid)
  WHERE NOT deleted;

-- Pods: by node, by workload, by phase, by restarts.
CREATE INDEX pods_node ON objects (tenant_id, cluster_id, (coalesce(object ->> 'node_name', '')), namespace, name, uid)
  WHERE kind = 'Pod' AND NOT deleted;
CREATE INDEX pods_workload ON objects (tenant_id, cluster_id, namespace, (coalesce(object ->> 'workload_kind', '')),
  (coalesce(object ->> 'workload_name', '')), name, uid)
  WHERE kind = 'Pod' AND NOT deleted;
CREATE INDEX pods_phase ON objects (tenant_id, cluster_id, (coalesce(object ->> 'phase', '')), namespace, name, uid)
  WHERE kind = 'Pod' AND NOT deleted;
CREATE INDEX pods_restarts ON objects (tenant_id, cluster_id, k8i_pod_restarts(object), uid)
  WHERE kind = 'Pod' AND NOT deleted;
CREATE INDEX pods_restarts_fleet ON objects (tenant_id, k8i_pod_restarts(object), uid)
  WHERE kind = 'Pod' AND NOT deleted;
-- "Failing pods with the most restarts, fleet-wide": phase first, so a rare phase is a short range.
CREATE INDEX pods_phase_restarts_fleet ON objects (tenant_id, (coalesce(object ->> 'phase', '')),
  k8i_pod_restarts(object), uid)
  WHERE kind = 'Pod' AND NOT deleted;

-- Events: newest first per cluster and across clusters; drill-down by involved object.
CREATE INDEX events_time ON events (tenant_id, cluster_id, (coalesce(last_time, received_at)), uid);
CREATE INDEX events_time_fleet ON events (tenant_id, (coalesce(last_time, received_at)), uid);
CREATE INDEX events_involved ON events (tenant_id, cluster_id, involved_namespace, involved_name);
CREATE INDEX events_reason ON events (tenant_id, cluster_id, reason);
DROP INDEX events_last_time;

-- Alerts get a short stable id for their resource name.
ALTER TABLE alerts ADD COLUMN alert_id bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX alerts_id ON alerts (tenant_id, alert_id);
CREATE INDEX alerts_start ON alerts (tenant_id, cluster_id, starts_at, alert_id);
CREATE INDEX alerts_start_fleet ON alerts (tenant_id, starts_at, alert_id);
CREATE INDEX alerts_labels ON alerts USING gin (labels);
