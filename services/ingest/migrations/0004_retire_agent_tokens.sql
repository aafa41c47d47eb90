-- Agent tokens now live in control.agent_tokens, owned by k8i-inventory (issued per registered
-- cluster through ClusterService); ingest reads that table. The old table is kept under a new
-- name, never read, so that inventory's migration 0002 can still copy its tokens when ingest
-- migrates first; a later migration drops it.
ALTER TABLE IF EXISTS telemetry.agent_tokens RENAME TO agent_tokens_retired;
ALTER INDEX IF EXISTS telemetry.agent_tokens_cluster RENAME TO agent_tokens_retired_cluster;
