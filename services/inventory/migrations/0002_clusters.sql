-- Registered clusters and their agent tokens. tenant_id leads every key and every query
-- (services/inventory/store/pg_cluster_store.cc).

-- The kubeconfig is stored only as an envelope (libs/crypto: AES-256-GCM under a per-row data
-- key wrapped by a key-encryption key); so are the context and server shown by the API, since
-- a server URL names internal hosts. kek_id mirrors the envelopes' key id so operators can find
-- rows still under a retired key; `k8i-inventory rotate-keys` keeps it current.
CREATE TABLE control.clusters (
  tenant_id text NOT NULL REFERENCES control.tenants (tenant_id),
  cluster_id text NOT NULL CHECK (cluster_id ~ '^[a-z][a-z0-9-]{0,62}$'),
  display_name text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  kubeconfig_sealed bytea,
  kubeconfig_summary_sealed bytea,
  kek_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, cluster_id),
  CHECK ((kubeconfig_sealed IS NULL) = (kubeconfig_summary_sealed IS NULL)),
  CHECK ((kubeconfig_sealed IS NULL) = (kek_id IS NULL))
);
CREATE INDEX clusters_by_kek ON control.clusters (kek_id) WHERE kek_id IS NOT NULL;

-- Agent tokens: only SHA-256 of the token is kept. Ingest reads this table (read-only) to
-- authenticate agents; deleting a cluster deletes its tokens, which revokes them.
CREATE TABLE control.agent_tokens (
  tenant_id text NOT NULL,
  cluster_id text NOT NULL,
  token_id text NOT NULL,
  display_name text NOT NULL DEFAULT '',
  token_sha256 text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, cluster_id, token_id),
  FOREIGN KEY (tenant_id, cluster_id) REFERENCES control.clusters (tenant_id, cluster_id)
    ON DELETE CASCADE
);
CREATE INDEX agent_tokens_by_cluster ON control.agent_tokens (tenant_id, cluster_id, created_at);

-- Tokens issued before this table existed (telemetry.agent_tokens, written by the retired
-- `k8i-ingest create-agent-token`; ingest's migration 0004 renames it agent_tokens_retired)
-- keep working: their tenants and clusters are registered (clusters without a kubeconfig) and
-- the hashes copied.
DO $$
DECLARE
  old regclass := coalesce(to_regclass('telemetry.agent_tokens'),
                           to_regclass('telemetry.agent_tokens_retired'));
BEGIN
  IF old IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format($q$
    INSERT INTO control.tenants (tenant_id, display_name)
      SELECT DISTINCT o.tenant_id, o.tenant_id FROM %s o
      WHERE o.cluster_id ~ '^[a-z][a-z0-9-]{0,62}$'
      ON CONFLICT DO NOTHING$q$, old);
  EXECUTE format($q$
    INSERT INTO control.clusters (tenant_id, cluster_id, display_name)
      SELECT DISTINCT o.tenant_id, o.cluster_id, o.cluster_id FROM %s o
      WHERE o.cluster_id ~ '^[a-z][a-z0-9-]{0,62}$'
      ON CONFLICT DO NOTHING$q$, old);
  EXECUTE format($q$
    INSERT INTO control.agent_tokens (tenant_id, cluster_id, token_id, display_name,
                                      token_sha256, created_at, revoked_at)
      SELECT o.tenant_id, o.cluster_id, substr(o.token_sha256, 1, 16), 'migrated',
             o.token_sha256, o.created_at, o.revoked_at FROM %s o
      JOIN control.clusters c ON c.tenant_id = o.tenant_id AND c.cluster_id = o.cluster_id
      ON CONFLICT DO NOTHING$q$, old);
END
$$;
