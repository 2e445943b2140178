export { createAudit, type AuditService } from './audit.js';
export { decodeRecord } from './audit-entry.js';
