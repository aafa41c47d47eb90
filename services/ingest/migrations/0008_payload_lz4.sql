-- The kept payload of a batch (unpublished_batches) lives from its commit until it is marked
-- published, milliseconds later: pglz spent a sixth of PostgreSQL's CPU compressing payloads
-- that were deleted right away. lz4 compresses this data about as well at a fraction of the
-- CPU. A server built without lz4 keeps pglz.
DO $$
BEGIN
  ALTER TABLE unpublished_batches ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'lz4 is not available on this server: kept payloads stay pglz-compressed';
END $$;
