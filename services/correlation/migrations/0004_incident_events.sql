-- Incident events waiting for Kafka, apart from the history. `changes` used to carry each
-- change's IncidentEvent (the incident and its latest members, ~3 KB) for ever and was marked
-- published by an UPDATE that copied the whole row; the publisher's scan then walked the dead
-- versions. Now a change's event lives here only until Kafka acknowledged it, and is deleted.
-- The publisher sends in id order: one cluster's transactions are serialized by its row lock,
-- so within an incident ids follow sequence numbers.
CREATE TABLE incident_events (
  id          bigserial PRIMARY KEY,
  tenant_id   text NOT NULL,
  incident_id text NOT NULL,
  seq         bigint NOT NULL,
  at          timestamptz NOT NULL,
  event       bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
) WITH (toast_tuple_target = 8160);  -- rows live for milliseconds: not worth compressing

INSERT INTO incident_events (tenant_id, incident_id, seq, at, event, created_at)
  SELECT tenant_id, incident_id, seq, at, event, created_at FROM changes
  WHERE published_at IS NULL ORDER BY created_at, tenant_id, incident_id, seq;

DROP INDEX changes_unpublished;
ALTER TABLE changes DROP COLUMN event, DROP COLUMN published_at;
