-- Members joining an incident are announced at most once per update interval
-- (K8I_CORRELATION_UPDATE_INTERVAL): the incident keeps the event time of its last change and
-- the joins held since, so a restart, a rebalance or another replica announces them as this
-- one would have. Incidents stored before have no last change: their next join is announced.
ALTER TABLE incidents
  ADD COLUMN last_change timestamptz,
  ADD COLUMN held_joins integer NOT NULL DEFAULT 0,
  ADD COLUMN held_last timestamptz,
  ADD COLUMN held_detail text NOT NULL DEFAULT '';
-- An active incident's row is rewritten by every transaction that changes it (its title,
-- counts, update time and body), none of which is indexed: room on its page lets PostgreSQL
-- update it in place (a HOT update) instead of adding a version to each of its four indexes.
ALTER TABLE incidents SET (fillfactor = 50);
