-- Indexes that the upstream schema.prisma declares but no upstream migration
-- ever created, so a database built by the upstream tooling lacks them.
-- Names are the ones Prisma gives them (<Table>_<columns>_idx).
--
-- Each is built CONCURRENTLY, as its own online step: a live database keeps
-- reading and writing the table while the index is built (see
-- src/store/migrate.rs for how steps run and resume).

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Bucket_ownerTeamId_idx" ON "Bucket"("ownerTeamId");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Bucket_status_idx" ON "Bucket"("status");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Project_ownerId_idx" ON "Project"("ownerId");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Project_createdAt_idx" ON "Project"("createdAt");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "File_projectId_uploadedAt_idx" ON "File"("projectId", "uploadedAt");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "File_projectId_mimeType_idx" ON "File"("projectId", "mimeType");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "File_lastAccessed_idx" ON "File"("lastAccessed");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Transform_projectId_createdAt_idx" ON "Transform"("projectId", "createdAt");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Transform_status_createdAt_idx" ON "Transform"("status", "createdAt");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Upload_projectId_idx" ON "Upload"("projectId");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Upload_projectId_status_idx" ON "Upload"("projectId", "status");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Upload_projectId_createdAt_idx" ON "Upload"("projectId", "createdAt");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "Token_keyHash_idx" ON "Token"("keyHash");

-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "AuditLog_action_idx" ON "AuditLog"("action");
-- step: online
CREATE INDEX CONCURRENTLY IF NOT EXISTS "AuditLog_resource_idx" ON "AuditLog"("resource");
