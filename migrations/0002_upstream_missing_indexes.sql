-- Indexes that the upstream schema.prisma declares but no upstream migration
-- ever created, so a database built by the upstream tooling lacks them.
-- Names are the ones Prisma gives them (<Table>_<columns>_idx).

CREATE INDEX IF NOT EXISTS "Bucket_ownerTeamId_idx" ON "Bucket"("ownerTeamId");
CREATE INDEX IF NOT EXISTS "Bucket_status_idx" ON "Bucket"("status");

CREATE INDEX IF NOT EXISTS "Project_ownerId_idx" ON "Project"("ownerId");
CREATE INDEX IF NOT EXISTS "Project_createdAt_idx" ON "Project"("createdAt");

CREATE INDEX IF NOT EXISTS "File_projectId_uploadedAt_idx" ON "File"("projectId", "uploadedAt");
CREATE INDEX IF NOT EXISTS "File_projectId_mimeType_idx" ON "File"("projectId", "mimeType");
CREATE INDEX IF NOT EXISTS "File_lastAccessed_idx" ON "File"("lastAccessed");

CREATE INDEX IF NOT EXISTS "Transform_projectId_createdAt_idx" ON "Transform"("projectId", "createdAt");
CREATE INDEX IF NOT EXISTS "Transform_status_createdAt_idx" ON "Transform"("status", "createdAt");

CREATE INDEX IF NOT EXISTS "Upload_projectId_idx" ON "Upload"("projectId");
CREATE INDEX IF NOT EXISTS "Upload_projectId_status_idx" ON "Upload"("projectId", "status");
CREATE INDEX IF NOT EXISTS "Upload_projectId_createdAt_idx" ON "Upload"("projectId", "createdAt");

CREATE INDEX IF NOT EXISTS "Token_keyHash_idx" ON "Token"("keyHash");

CREATE INDEX IF NOT EXISTS "AuditLog_action_idx" ON "AuditLog"("action");
CREATE INDEX IF NOT EXISTS "AuditLog_resource_idx" ON "AuditLog"("resource");
