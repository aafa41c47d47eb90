-- The notification schema: channels (secrets sealed with the keyring), routes, and the
-- delivery log. Written by k8i-notification only. Every row carries tenant_id.

CREATE TABLE channels (
  tenant_id    text NOT NULL,
  id           text NOT NULL,
  type         smallint NOT NULL,
  display_name text NOT NULL DEFAULT '',
  -- Non-secret settings (interactive, rate) and the hint shown for the secret.
  settings     jsonb NOT NULL DEFAULT '{}',
  secret_hint  text NOT NULL DEFAULT '',
  -- The sealed JSON of the secrets (url, routing_key, signing keys): libs/crypto envelope,
  -- bound to "<tenant>/channels/<id>".
  secret       bytea NOT NULL,
  create_time  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- A route's body is the k8intel.v1.Route message (protobuf), tried in position order.
CREATE TABLE routes (
  tenant_id  text NOT NULL,
  id         text NOT NULL,
  position   integer NOT NULL,
  body       bytea NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- One row per (incident state change, channel): the unique key is what makes a redelivered
-- or replayed change create nothing new. `event` is the k8intel.v1.IncidentEvent to render.
-- A worker leases a due row (lease_until) while it attempts it; a crash lets the lease
-- expire and another attempt takes it.
CREATE TABLE deliveries (
  id              bigserial PRIMARY KEY,
  tenant_id       text NOT NULL,
  incident_id     text NOT NULL,
  seq             bigint NOT NULL,
  channel_id      text NOT NULL,
  route_id        text NOT NULL,
  change_type     smallint NOT NULL,
  incident_name   text NOT NULL,
  state           smallint NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  event           bytea NOT NULL,
  create_time     timestamptz NOT NULL DEFAULT now(),
  update_time     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, incident_id, seq, channel_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 1;
CREATE INDEX deliveries_log ON deliveries (tenant_id, id DESC);
CREATE INDEX deliveries_order ON deliveries (tenant_id, incident_id, channel_id, seq);

CREATE TABLE attempts (
  delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  n           integer NOT NULL,
  at          timestamptz NOT NULL,
  status      integer NOT NULL,
  reason      text NOT NULL,
  duration_ms bigint NOT NULL,
  PRIMARY KEY (delivery_id, n)
);

-- The service kit's processed-message records and job runs (libs/kit).
CREATE TABLE processed_messages (
  consumer     text NOT NULL,
  event        text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event)
);
CREATE INDEX processed_messages_age ON processed_messages (processed_at);

CREATE TABLE job_runs (
  job              text PRIMARY KEY,
  last_success     timestamptz NOT NULL,
  last_duration_ms bigint NOT NULL
);
