-- The object as serialized protobuf next to its JSON: JSON serves SQL (filters, indexes),
-- the binary form serves reads (parsing protobuf JSON costs ~10x parsing the binary form,
-- which dominated a 1,000-pod page). NULL for rows written before this migration; readers
-- fall back to the JSON.
ALTER TABLE objects ADD COLUMN object_pb bytea;
