-- Server-side anomaly detection (docs/correlation.md, "Anomalies") and the outbox through
-- which correlation publishes the alerts it raises on k8i.alerts.v1.

-- Running moments per baseline key and hour of week (0 = Monday 00:00 UTC). `seen` is the
-- event time of the newest sample added (buckets of baselines unseen for 5 weeks are pruned,
-- hourly, by a scan: no index on it, and room on each page, so that the updates of every
-- metrics transaction are HOT updates that touch no index).
CREATE TABLE baselines (
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  baseline     text NOT NULL,
  hour_of_week smallint NOT NULL CHECK (hour_of_week BETWEEN 0 AND 167),
  n            bigint NOT NULL,
  mean         double precision NOT NULL,
  m2           double precision NOT NULL,
  seen         timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, baseline, hour_of_week)
) WITH (fillfactor = 70);

-- Per series in a streak or an anomaly (quiet series are not kept): the newest sample
-- applied, the streak (its held-out samples as `hour:value` pairs), and the open anomaly
-- (direction ≠ 0, its firing alert in `alert`).
CREATE TABLE anomaly_series (
  tenant_id       text NOT NULL,
  cluster_id      text NOT NULL,
  series          text NOT NULL,
  last_ms         bigint NOT NULL,
  streak          integer NOT NULL,
  streak_start_ms bigint NOT NULL,
  pending         text NOT NULL DEFAULT '',
  calm            integer NOT NULL,
  direction       smallint NOT NULL,
  alert           bytea,
  PRIMARY KEY (tenant_id, cluster_id, series)
);
CREATE INDEX anomaly_series_open ON anomaly_series (last_ms) WHERE direction <> 0;
CREATE INDEX anomaly_series_age ON anomaly_series (last_ms);

-- The transactional outbox (libs/kit/outbox.h).
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
