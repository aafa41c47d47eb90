-- The telemetry schema: written by ingest, read by inventory (read-only role).
-- Every row carries tenant_id.

CREATE TABLE agent_tokens (
  token_sha256 text PRIMARY KEY,
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE INDEX agent_tokens_cluster ON agent_tokens (tenant_id, cluster_id);

-- One row per accepted batch: deduplicates re-sent batches and records publication.
CREATE TABLE batches (
  tenant_id      text NOT NULL,
  cluster_id     text NOT NULL,
  batch_id       text NOT NULL,
  payload_sha256 text NOT NULL,
  samples        bigint NOT NULL,
  received_at    timestamptz NOT NULL DEFAULT now(),
  published_at   timestamptz,
  PRIMARY KEY (tenant_id, cluster_id, batch_id)
);
CREATE INDEX batches_received ON batches (received_at);
CREATE INDEX batches_unpublished ON batches (tenant_id, cluster_id) WHERE published_at IS NULL;

CREATE TABLE cluster_heartbeats (
  tenant_id     text NOT NULL,
  cluster_id    text NOT NULL,
  last_seen     timestamptz NOT NULL,
  last_batch_id text NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id)
);

-- A metric series: name plus canonical labels (including k8s.* resource attributes).
CREATE TABLE series (
  tenant_id  text NOT NULL,
  series_id  bigint NOT NULL,
  cluster_id text NOT NULL,
  name       text NOT NULL,
  labels     jsonb NOT NULL,
  type       smallint NOT NULL,
  unit       text NOT NULL,
  first_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, series_id)
);
CREATE INDEX series_cluster_name ON series (tenant_id, cluster_id, name);
CREATE INDEX series_labels ON series USING gin (labels jsonb_path_ops);

-- Samples, partitioned by day; ingest creates partitions ahead and on demand.
CREATE TABLE samples (
  tenant_id text NOT NULL,
  series_id bigint NOT NULL,
  ts        timestamptz NOT NULL,
  value     double precision NOT NULL
) PARTITION BY RANGE (ts);
CREATE INDEX samples_series_ts ON samples (series_id, ts);

-- The latest state of each Kubernetes object.
CREATE TABLE objects (
  tenant_id        text NOT NULL,
  cluster_id       text NOT NULL,
  kind             text NOT NULL,
  namespace        text NOT NULL DEFAULT '',
  name             text NOT NULL,
  uid              text NOT NULL,
  resource_version text NOT NULL,
  object           jsonb NOT NULL,
  deleted          boolean NOT NULL DEFAULT false,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id, kind, namespace, name)
);
CREATE INDEX objects_uid ON objects (tenant_id, uid);

CREATE TABLE events (
  tenant_id          text NOT NULL,
  cluster_id         text NOT NULL,
  uid                text NOT NULL,
  type               text NOT NULL,
  reason             text NOT NULL,
  message            text NOT NULL,
  involved_kind      text NOT NULL,
  involved_namespace text NOT NULL,
  involved_name      text NOT NULL,
  source_component   text NOT NULL,
  first_time         timestamptz,
  last_time          timestamptz,
  count              integer NOT NULL,
  received_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id, uid)
);
CREATE INDEX events_last_time ON events (tenant_id, cluster_id, last_time);

CREATE TABLE alerts (
  tenant_id   text NOT NULL,
  cluster_id  text NOT NULL,
  fingerprint text NOT NULL,
  starts_at   timestamptz NOT NULL,
  name        text NOT NULL,
  severity    smallint NOT NULL,
  status      smallint NOT NULL,
  ends_at     timestamptz,
  labels      jsonb NOT NULL,
  annotations jsonb NOT NULL,
  resource    jsonb NOT NULL,
  source      text NOT NULL,
  summary     text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id, fingerprint, starts_at)
);
CREATE INDEX alerts_status ON alerts (tenant_id, cluster_id, status, starts_at);
