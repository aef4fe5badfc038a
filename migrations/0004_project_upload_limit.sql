-- A per-project maximum upload size, owned by the edge. Additive and nullable:
-- NULL means the deployment's MAX_UPLOAD_BYTES, which stays the ceiling; the
-- upstream API ignores the column. Adding a nullable column without a default
-- only changes the catalog (a brief lock on "Project", no scan or rewrite).
-- No CHECK constraint: adding one scans the table; the CLI refuses values
-- outside 1 byte to 5 GiB, and the Worker reads anything below 1 as "empty
-- files only".

-- step: transaction
ALTER TABLE "Project" ADD COLUMN IF NOT EXISTS "edgeMaxUploadBytes" BIGINT;
