-- Both ways (docs/notification.md, "Acknowledge from Slack and PagerDuty"): the record of
-- every verified inbound action, and the outbox that carries them to k8i-correlation.

-- One row per action a verified Slack interaction or PagerDuty webhook asked for. The key is
-- the source's own id of the request, so a redelivered request records (and sends) nothing
-- new.
CREATE TABLE inbound_actions (
  tenant_id   text NOT NULL,
  event_id    text NOT NULL,
  channel_id  text NOT NULL,
  source      text NOT NULL,
  -- k8intel.v1.IncidentAction
  action      smallint NOT NULL,
  incident_id text NOT NULL,
  actor       text NOT NULL,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX inbound_actions_received ON inbound_actions (received_at);

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
