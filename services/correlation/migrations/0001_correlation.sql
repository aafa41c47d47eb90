-- The correlation schema: incidents, their members and state changes, the topology and change
-- history of objects. Written by k8i-correlation only. Every row carries tenant_id.

-- One row per (tenant, cluster) correlation has seen: `version` counts the transactions that
-- changed its state (a replica whose cached state is at another version reloads it), the
-- event-time watermark, and when input last arrived (wall clock, for the idle tick).
CREATE TABLE clusters (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  version    bigint NOT NULL DEFAULT 0,
  watermark  timestamptz,
  last_input timestamptz,
  PRIMARY KEY (tenant_id, cluster_id)
);

-- Incidents. `body` is the k8intel.v1.Incident without members and changes; the columns are
-- what lists filter and order by, and the engine state the proto does not carry.
CREATE TABLE incidents (
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  id           text NOT NULL,
  key          text NOT NULL,
  namespace    text NOT NULL DEFAULT '',
  state        smallint NOT NULL,
  severity     smallint NOT NULL,
  scope        smallint NOT NULL,
  rule         text NOT NULL,
  title        text NOT NULL,
  flapping     boolean NOT NULL DEFAULT false,
  open_time    timestamptz NOT NULL,
  update_time  timestamptz NOT NULL,
  resolve_time timestamptz,
  quiet_since  timestamptz,
  fires        text NOT NULL DEFAULT '',  -- fire times in the trailing hour, Unix µs, comma-separated
  desired      integer NOT NULL DEFAULT 0,
  body         bytea NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX incidents_cluster_state ON incidents (tenant_id, cluster_id, state);
CREATE INDEX incidents_open ON incidents (tenant_id, open_time DESC, id);
CREATE INDEX incidents_resolved ON incidents (tenant_id, cluster_id, resolve_time);

-- The alerts of each incident (an alert that returns after its incident is long resolved is a
-- member of the new one too). `body` is a k8intel.v1.IncidentMember; `ord` its joining order.
CREATE TABLE members (
  tenant_id   text NOT NULL,
  cluster_id  text NOT NULL,
  incident_id text NOT NULL,
  fingerprint text NOT NULL,
  ord         integer NOT NULL,
  firing      boolean NOT NULL,
  node        text NOT NULL DEFAULT '',
  workload_kind text NOT NULL DEFAULT '',
  workload_ns   text NOT NULL DEFAULT '',
  workload_name text NOT NULL DEFAULT '',
  object_kind text NOT NULL DEFAULT '',
  object_ns   text NOT NULL DEFAULT '',
  object_name text NOT NULL DEFAULT '',
  body        bytea NOT NULL,
  PRIMARY KEY (tenant_id, incident_id, fingerprint)
);
CREATE INDEX members_object ON members (tenant_id, cluster_id, object_kind, object_ns, object_name);

-- Every state change of every incident, with its per-incident sequence number: the history
-- GetIncident shows and the outbox the publisher drains to k8i.incidents.v1 (`event` is the
-- k8intel.v1.IncidentEvent to publish; published_at is set once Kafka acknowledged it).
CREATE TABLE changes (
  tenant_id    text NOT NULL,
  cluster_id   text NOT NULL,
  incident_id  text NOT NULL,
  seq          bigint NOT NULL,
  type         smallint NOT NULL,
  at           timestamptz NOT NULL,
  body         bytea NOT NULL,
  event        bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  PRIMARY KEY (tenant_id, incident_id, seq)
);
CREATE INDEX changes_unpublished ON changes (created_at, tenant_id, incident_id, seq)
  WHERE published_at IS NULL;

-- The objects of each cluster as last seen (k8intel.v1.KubeObject), for the topology.
CREATE TABLE objects (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  kind       text NOT NULL,
  namespace  text NOT NULL,
  name       text NOT NULL,
  body       bytea NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, kind, namespace, name)
);

-- Change history: one row per observed change of a workload's template, images, replicas or
-- resources, or of a ConfigMap's or Secret's content.
CREATE TABLE revisions (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  kind       text NOT NULL,
  namespace  text NOT NULL,
  name       text NOT NULL,
  revision   bigint NOT NULL,
  at         timestamptz NOT NULL,
  hash       text NOT NULL,
  changes    text[] NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, kind, namespace, name, revision)
);
CREATE INDEX revisions_time ON revisions (tenant_id, cluster_id, at);

-- Kubernetes events from k8i.events.v1 (for timelines), one row per event uid.
CREATE TABLE events (
  tenant_id  text NOT NULL,
  cluster_id text NOT NULL,
  uid        text NOT NULL,
  type       text NOT NULL,
  reason     text NOT NULL,
  message    text NOT NULL,
  kind       text NOT NULL,
  namespace  text NOT NULL,
  name       text NOT NULL,
  first_time timestamptz NOT NULL,
  last_time  timestamptz NOT NULL,
  count      integer NOT NULL,
  PRIMARY KEY (tenant_id, cluster_id, uid)
);
CREATE INDEX events_object ON events (tenant_id, cluster_id, kind, namespace, name, last_time);

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
