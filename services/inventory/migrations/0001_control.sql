-- The control plane: tenants, API keys and the audit log. Every row carries tenant_id and every
-- query of the service is scoped by it (services/inventory/store/pg_control_store.cc).

CREATE TABLE control.tenants (
  tenant_id text PRIMARY KEY,
  display_name text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Only SHA-256 of the secret is stored (see libs/auth/README.md for why no salt or KDF).
CREATE TABLE control.api_keys (
  key_id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES control.tenants (tenant_id),
  display_name text NOT NULL,
  role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  secret_sha256 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_by_tenant ON control.api_keys (tenant_id, created_at, key_id);

-- Append-only. tenant_id is '' for failures whose tenant is unknown (an unknown key id, a
-- malformed credential): operators read those with SQL; no tenant sees them.
CREATE TABLE control.audit_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL,
  time timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  result text NOT NULL,
  peer text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_tenant_time ON control.audit_events (tenant_id, time DESC, id DESC);

CREATE FUNCTION control.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'control.audit_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON control.audit_events
  FOR EACH ROW EXECUTE FUNCTION control.audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON control.audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION control.audit_events_append_only();
