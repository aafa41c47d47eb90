-- The cost schema (docs/cost.md): what k8i-cost observed of each cluster (object revisions and
-- hourly usage), the attributed hours with their lines and rollups, prices, budgets. Written by
-- k8i-cost only. Every row carries tenant_id.

-- Kubernetes objects as revisions: the facts cost needs (a node's capacity, instance type and
-- labels; a pod's node, workload, labels, container requests and claims; a PVC's class and
-- size; a namespace's labels; a workload's template requests) and the time span they held, by
-- event time. valid_to is NULL while the revision is current; a deletion (or a pod ending)
-- closes it. kind: node, pod, pvc, namespace, workload.
CREATE TABLE objects (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  kind       text NOT NULL,
  namespace  text NOT NULL,
  name       text NOT NULL,
  valid_from timestamptz NOT NULL,
  valid_to   timestamptz,
  facts      jsonb NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, kind, namespace, name, valid_from)
);
-- The revisions overlapping an hour: those ending after its start (most are current).
CREATE INDEX objects_open ON objects (tenant_id, cluster_id, (coalesce(valid_to, 'infinity')));

-- Container usage per hour: sums and counts of the samples of CPU cores and memory bytes
-- (averages are sum / n). Consumers add to them in the transaction that records the message as
-- processed, so a redelivery adds nothing.
CREATE TABLE usage (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  hour       timestamptz NOT NULL,
  namespace  text NOT NULL,
  pod        text NOT NULL,
  container  text NOT NULL,
  cpu_sum    double precision NOT NULL DEFAULT 0,
  cpu_n      bigint NOT NULL DEFAULT 0,
  mem_sum    double precision NOT NULL DEFAULT 0,
  mem_n      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, cluster_id, hour, namespace, pod, container)
);

-- The clusters cost has seen and how far their input has been read (ingest's publish times):
-- backfill starts at first_seen; an hour is final once metrics_seen is past it (the consumer
-- has caught up) and the lateness has passed; a cluster whose last input is 10 minutes behind
-- the newest input of any cluster has stopped reporting.
CREATE TABLE clusters (
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  first_seen   timestamptz NOT NULL,
  last_seen    timestamptz NOT NULL,
  metrics_seen timestamptz,
  PRIMARY KEY (tenant_id, cluster_id)
);

-- Attributed cluster-hours. final: the hour had ended (plus the lateness allowance) when it was
-- attributed; a provisional hour (the current one) is attributed again until it is final.
CREATE TABLE hours (
  tenant_id       text NOT NULL,
  cluster_id      text NOT NULL,
  hour            timestamptz NOT NULL,
  final           boolean NOT NULL,
  compute_time    timestamptz NOT NULL,
  price_effective timestamptz NOT NULL,
  currency        text NOT NULL,
  node_cost       double precision NOT NULL,
  storage_cost    double precision NOT NULL,
  idle_cost       double precision NOT NULL,
  lines           integer NOT NULL,
  -- RecomputeCosts asked for it again (the job attributes it at its next run).
  recompute       boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, cluster_id, hour)
);

-- The lines of an hour (attribution.h): a container (kind container), a PVC share (storage)
-- or a node's idle capacity (idle). id is a hash of the line's identity: a recomputed hour's
-- line keeps its id.
CREATE TABLE lines (
  tenant_id      text NOT NULL,
  cluster_id     text NOT NULL,
  hour           timestamptz NOT NULL,
  id             text NOT NULL,
  kind           text NOT NULL,
  namespace      text NOT NULL,
  pod            text NOT NULL,
  container      text NOT NULL,
  node           text NOT NULL,
  workload_kind  text NOT NULL,
  workload       text NOT NULL,
  team           text NOT NULL,
  cost_centre    text NOT NULL,
  pvc            text NOT NULL,
  labels         jsonb NOT NULL,
  hours          double precision NOT NULL,
  cpu_core_hours double precision NOT NULL,
  cpu_req        double precision NOT NULL,
  cpu_use        double precision NOT NULL,
  mem_gib_hours  double precision NOT NULL,
  mem_req        double precision NOT NULL,
  mem_use        double precision NOT NULL,
  storage_gib_hours double precision NOT NULL,
  cpu_cost       double precision NOT NULL,
  memory_cost    double precision NOT NULL,
  storage_cost   double precision NOT NULL,
  total          double precision NOT NULL,
  explanation    text NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, hour, id)
);
CREATE INDEX lines_id ON lines (tenant_id, id);
CREATE INDEX lines_hour ON lines (tenant_id, hour);

-- Rollups of the lines by workload (namespace, workload; idle as namespace '' workload
-- '__idle__'; storage of claims no pod mounted as workload ''), per hour and per UTC day: what
-- allocation queries by workload read. A day row per team and cost centre the namespace had
-- that day (its labels may change within it).
CREATE TABLE workload_hours (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  hour          timestamptz NOT NULL,
  namespace     text NOT NULL,
  workload_kind text NOT NULL,
  workload      text NOT NULL,
  team          text NOT NULL,
  cost_centre   text NOT NULL,
  cpu_core_hours double precision NOT NULL,
  cpu_req        double precision NOT NULL,
  cpu_use        double precision NOT NULL,
  mem_gib_hours  double precision NOT NULL,
  mem_req        double precision NOT NULL,
  mem_use        double precision NOT NULL,
  cpu_cost       double precision NOT NULL,
  memory_cost    double precision NOT NULL,
  storage_cost   double precision NOT NULL,
  idle_cost      double precision NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, hour, namespace, workload_kind, workload)
);
CREATE INDEX workload_hours_time ON workload_hours (tenant_id, hour);

CREATE TABLE workload_days (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  day           timestamptz NOT NULL,
  namespace     text NOT NULL,
  workload_kind text NOT NULL,
  workload      text NOT NULL,
  team          text NOT NULL,
  cost_centre   text NOT NULL,
  hours         integer NOT NULL,
  cpu_core_hours double precision NOT NULL,
  cpu_req        double precision NOT NULL,
  cpu_use        double precision NOT NULL,
  mem_gib_hours  double precision NOT NULL,
  mem_req        double precision NOT NULL,
  mem_use        double precision NOT NULL,
  cpu_cost       double precision NOT NULL,
  memory_cost    double precision NOT NULL,
  storage_cost   double precision NOT NULL,
  idle_cost      double precision NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, day, namespace, workload_kind, workload, team, cost_centre)
);
CREATE INDEX workload_days_time ON workload_days (tenant_id, day);

-- The daily rollup by namespace (idle as namespace ''): what allocation queries by cluster,
-- namespace, team and cost centre read — a 30-day query reads 30 rows per namespace.
CREATE TABLE namespace_days (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  day           timestamptz NOT NULL,
  namespace     text NOT NULL,
  team          text NOT NULL,
  cost_centre   text NOT NULL,
  cpu_core_hours double precision NOT NULL,
  cpu_req        double precision NOT NULL,
  cpu_use        double precision NOT NULL,
  mem_gib_hours  double precision NOT NULL,
  mem_req        double precision NOT NULL,
  mem_use        double precision NOT NULL,
  cpu_cost       double precision NOT NULL,
  memory_cost    double precision NOT NULL,
  storage_cost   double precision NOT NULL,
  idle_cost      double precision NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, day, namespace, team, cost_centre)
);
CREATE INDEX namespace_days_time ON namespace_days (tenant_id, day);

-- Price versions (pricing.h), body the k8intel.v1.PriceVersion as JSON.
CREATE TABLE price_versions (
  tenant_id      text NOT NULL,
  effective_time timestamptz NOT NULL,
  body           jsonb NOT NULL,
  create_time    timestamptz NOT NULL,
  creator        text NOT NULL,
  PRIMARY KEY (tenant_id, effective_time)
);

-- Monthly budgets, and the state of their alerts: `firing` since when, per kind (projection,
-- spike), so each crossing raises one alert and its end resolves it.
CREATE TABLE budgets (
  tenant_id      text NOT NULL,
  id             text NOT NULL,
  scope          text NOT NULL CHECK (scope IN ('namespace', 'team', 'cluster')),
  key            text NOT NULL,
  cluster_id     text NOT NULL,
  monthly_amount double precision NOT NULL,
  spike_factor   double precision NOT NULL,
  create_time    timestamptz NOT NULL,
  creator        text NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE budget_alerts (
  tenant_id  text NOT NULL,
  budget_id  text NOT NULL,
  cluster_id text NOT NULL,
  kind       text NOT NULL,
  since      timestamptz NOT NULL,
  summary    text NOT NULL,
  PRIMARY KEY (tenant_id, budget_id, cluster_id, kind)
);

-- The transactional outbox (libs/kit/outbox.h): budget alerts to k8i.alerts.v1.
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
