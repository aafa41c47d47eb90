-- The recommendation schema (docs/recommendation.md): what k8i-recommendation keeps of each
-- cluster (the current objects, hourly usage sketches, recent points of the series it
-- predicts from, alert firings) and the recommendations it made. Written by
-- k8i-recommendation only. Every row carries tenant_id.

-- The clusters seen on any input, and when input last arrived (the runner evaluates these).
CREATE TABLE clusters (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  last_seen  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id)
);

-- The tenant's price versions as k8i-cost publishes them (k8i.prices.v1): body is the
-- k8intel.v1.PriceVersion as JSON. Rightsizing's $ impact uses the one in effect.
CREATE TABLE price_versions (
  tenant_id      text NOT NULL,
  effective_time timestamptz NOT NULL,
  body           jsonb NOT NULL,
  PRIMARY KEY (tenant_id, effective_time)
);

-- Objects as last observed (kind: node, pod, workload, pvc, tls): the facts the rules use.
CREATE TABLE objects (
  tenant_id   text NOT NULL,
  cluster_id  text NOT NULL,
  kind        text NOT NULL,
  namespace   text NOT NULL,
  name        text NOT NULL,
  facts       jsonb NOT NULL,
  observed_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, kind, namespace, name)
);

-- Container usage per hour and workload container (across its replicas): a sketch of CPU
-- cores (core/sketch.h, "bucket:count,..."), the peak working set, the pods seen.
CREATE TABLE usage_hours (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  hour          timestamptz NOT NULL,
  namespace     text NOT NULL,
  workload_kind text NOT NULL,
  workload      text NOT NULL,
  container     text NOT NULL,
  cpu_sketch    text NOT NULL,
  mem_peak      double precision NOT NULL,
  samples       bigint NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, hour, namespace, workload_kind, workload, container)
);
CREATE INDEX usage_hours_time ON usage_hours (tenant_id, cluster_id, hour);

-- Recent points of the series predictions fit (a PVC's and a node filesystem's used and
-- capacity bytes, a container's working set), one per 5 minutes (the latest sample wins).
-- series: "pvc/<ns>/<name>", "pvc-capacity/<ns>/<name>", "nodefs/<node>", "nodefs-size/<node>",
-- "ws/<ns>/<pod>/<container>".
CREATE TABLE points (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  series     text NOT NULL,
  t          timestamptz NOT NULL,
  v          double precision NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, series, t)
);
CREATE INDEX points_time ON points (t);

-- Alert firings (k8i.alerts.v1), for stability advice: how often each alert fired lately.
CREATE TABLE firings (
  tenant_id   text NOT NULL,
  cluster_id  text NOT NULL,
  fingerprint text NOT NULL,
  start_time  timestamptz NOT NULL,
  name        text NOT NULL,
  subject_kind text NOT NULL,
  namespace   text NOT NULL,
  subject     text NOT NULL,
  workload_kind text NOT NULL,
  workload    text NOT NULL,
  container   text NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, fingerprint, start_time)
);
CREATE INDEX firings_time ON firings (tenant_id, cluster_id, start_time);

-- The cluster's requested CPU per hour (the runner records it), for hour-of-week forecasts.
CREATE TABLE cluster_hours (
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  hour         timestamptz NOT NULL,
  cpu_requests double precision NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, hour)
);

-- Recommendations: body is the k8intel.v1.Recommendation as JSON; the columns are what lists
-- filter and order by. One open or dismissed row per fingerprint at a time.
CREATE TABLE recommendations (
  tenant_id      text NOT NULL,
  id             text NOT NULL,
  fingerprint    text NOT NULL,
  state          smallint NOT NULL,
  kind           text NOT NULL,
  rule           text NOT NULL,
  severity       smallint NOT NULL,
  cluster_id     text NOT NULL,
  namespace      text NOT NULL,
  subject_kind   text NOT NULL,
  subject_name   text NOT NULL,
  container      text NOT NULL,
  monthly_impact double precision NOT NULL,
  predicted_time timestamptz,
  update_time    timestamptz NOT NULL,
  body           jsonb NOT NULL,
  -- Since when its alert on k8i.alerts.v1 fires (critical predictions), NULL when it does not.
  alert_since    timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX recommendations_live ON recommendations (tenant_id, fingerprint)
  WHERE state IN (1, 2);
CREATE INDEX recommendations_list ON recommendations (tenant_id, state, severity DESC);

-- The transactional outbox (libs/kit/outbox.h): changes to k8i.recommendations.v1, critical
-- predictions to k8i.alerts.v1, audit events to k8i.audit.v1.
CREATE TABLE outbox (
  id           bigserial PRIMARY KEY,
  topic        text NOT NULL,
  key          text NOT NULL,
  ce_id        text NOT NULL,
  ce_source    text NOT NULL,
  ce_type      text NOT NULL,
  ce_time      timestamptz NOT NULL,
  value        bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  UNIQUE (ce_source, ce_id)
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE TABLE processed_messages (
  consumer     text NOT NULL,
  event        text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event)
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

CREATE TABLE job_runs (
  job              text PRIMARY KEY,
  last_success     timestamptz NOT NULL,
  last_duration_ms bigint NOT NULL
);
