-- firings carried three indexes for one kind of question: the primary key (tenant, cluster,
-- fingerprint, at) that makes a redelivered firing a no-op, firings_time (tenant, cluster, at)
-- for ListPatterns' time window, and firings_age (at) for retention. Every alert that starts
-- firing pays for each. One key in time order answers all three: uniqueness is the same set of
-- columns, ListPatterns reads a cluster's window from it, and retention deletes per cluster
-- (store/retention.cc joins the clusters it knows). Rebuilding the key locks the table while it
-- runs (docs/operations.md, Upgrades).
ALTER TABLE firings DROP CONSTRAINT firings_pkey;
ALTER TABLE firings ADD PRIMARY KEY (tenant_id, cluster_id, at, fingerprint);
DROP INDEX firings_time;
DROP INDEX firings_age;
