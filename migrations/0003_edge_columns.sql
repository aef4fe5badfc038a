-- Columns the edge records on uploads and API keys. All additive and nullable:
-- rows written by the upstream API keep working, and the upstream API ignores
-- the new columns. Nothing existing is altered or dropped.
--
-- Written for a live database (see src/store/migrate.rs for how steps run):
-- adding a nullable column without a default only changes the catalog; each
-- foreign key is added NOT VALID (a brief lock on both tables, no scan) and
-- validated in a later online step, which scans "Upload" without blocking
-- reads or writes; indexes are built CONCURRENTLY.

-- step: transaction
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "size" BIGINT;              -- declared size in bytes
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "contentType" TEXT;         -- declared content type
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "filename" TEXT;            -- the client's original file name
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "tenantId" TEXT;
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "apiKeyId" TEXT;            -- the key that initiated the upload
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "bucketId" TEXT;            -- the bucket the object was signed for
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "fileId" TEXT;              -- the "File" row created on completion
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "expiresAt" TIMESTAMP(3);   -- when the signed request stops working
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "completedAt" TIMESTAMP(3);
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "s3UploadId" TEXT;          -- S3 multipart UploadId
ALTER TABLE "Upload" ADD COLUMN IF NOT EXISTS "metadata" JSONB;

-- step: transaction
ALTER TABLE "ApiKey" ADD COLUMN IF NOT EXISTS "expiresAt" TIMESTAMP(3);   -- NULL: never expires

-- step: transaction
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_tenantId_fkey') THEN
        ALTER TABLE "Upload" ADD CONSTRAINT "Upload_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;
    END IF;
END
$$;

-- step: transaction
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_apiKeyId_fkey') THEN
        ALTER TABLE "Upload" ADD CONSTRAINT "Upload_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;
    END IF;
END
$$;

-- step: transaction
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_bucketId_fkey') THEN
        ALTER TABLE "Upload" ADD CONSTRAINT "Upload_bucketId_fkey" FOREIGN KEY ("bucketId") REFERENCES "Bucket"("id") ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;
    END IF;
END
$$;

-- step: transaction
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_fileId_fkey') THEN
        ALTER TABLE "Upload" ADD CONSTRAINT "Upload_fileId_fkey" FOREIGN KEY ("fileId") REFERENCES "File"("id") ON DELETE SET NULL ON UPDATE CASCADE NOT VALID;
    END IF;
END
$$;

-- step: online
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_tenantId_fkey' AND NOT convalidated) THEN
        ALTER TABLE "Upload" VALIDATE CONSTRAINT "Upload_tenantId_fkey";
    END IF;
END
$$;

-- step: online
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_apiKeyId_fkey' AND NOT convalidated) THEN
        ALTER TABLE "Upload" VALIDATE CONSTRAINT "Upload_apiKeyId_fkey";
    END IF;
END
$$;

-- step: online
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_bucketId_fkey' AND NOT convalidated) THEN
        ALTER TABLE "Upload" VALIDATE CONSTRAINT "Upload_bucketId_fkey";
    END IF;
END
$$;

-- step: online
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = '"Upload"'::regclass AND conname = 'Upload_fileId_fkey' AND NOT convalidated) THEN
        ALTER TABLE "Upload" VALIDATE CONSTRAINT "Upload_fileId_fkey";
    END IF;
END
$$;

-- Not unique: a database written by the upstream API can hold several uploads
-- of the same path in one project (same file name => same key).
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Upload_projectId_path_idx" ON "Upload"("projectId", "path");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Upload_fileId_idx" ON "Upload"("fileId");
