-- Audit events of the other services arrive on k8i.audit.v1 (libs/kit/audit.h); the kit's
-- consumer records each message it applied here, in the transaction that appended it.
CREATE TABLE control.processed_messages (
  consumer     text NOT NULL,
  event        text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event)
);
CREATE INDEX processed_messages_age ON control.processed_messages (processed_at);
