-- Users: an SSO subject (the JWT `sub`) bound to a role in a tenant. When a verified token's
-- subject has a row in its tenant, the row's role applies instead of the token's roles claim
-- (services/inventory/store/pg_role_directory.cc); without a row the claim applies.

CREATE TABLE control.users (
  tenant_id text NOT NULL REFERENCES control.tenants (tenant_id),
  subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 180),
  display_name text NOT NULL DEFAULT '',
  role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, subject)
);
CREATE INDEX users_by_tenant_created ON control.users (tenant_id, created_at, subject);
