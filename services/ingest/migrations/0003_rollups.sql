-- Rollups of telemetry.samples, maintained by ingest in each batch's transaction: per series and
-- bucket, the count, sum, min, max and the latest sample (ties on time: the greatest value).
-- Every field merges associatively, so a bucket's samples may arrive in any number of batches.
-- rollup_5m is partitioned by day (rollup_5m_YYYYMMDD), rollup_1h by month (rollup_1h_YYYYMM);
-- ingest creates the partitions with those of samples, so retention drops whole partitions.

CREATE TABLE rollup_5m (
  tenant_id    text NOT NULL,
  series_id    bigint NOT NULL,
  bucket_start timestamptz NOT NULL,
  count        bigint NOT NULL,
  sum          double precision NOT NULL,
  min          double precision NOT NULL,
  max          double precision NOT NULL,
  last_ts      timestamptz NOT NULL,
  last_value   double precision NOT NULL,
  PRIMARY KEY (tenant_id, series_id, bucket_start)
) PARTITION BY RANGE (bucket_start);

CREATE TABLE rollup_1h (
  tenant_id    text NOT NULL,
  series_id    bigint NOT NULL,
  bucket_start timestamptz NOT NULL,
  count        bigint NOT NULL,
  sum          double precision NOT NULL,
  min          double precision NOT NULL,
  max          double precision NOT NULL,
  last_ts      timestamptz NOT NULL,
  last_value   double precision NOT NULL,
  PRIMARY KEY (tenant_id, series_id, bucket_start)
) PARTITION BY RANGE (bucket_start);
