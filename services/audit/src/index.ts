export { createAudit, DEFAULT_RULES_FILE, type AuditService, type AuditStats, type AuditOptions } from './audit.js';
export { decodeRecord, decodeEvent, toAuditEntry } from './audit-entry.js';
export { AuditLogWriter } from './audit-log.js';
export { ModerationEngine, RulesFile, type MessageFacts, type Decision } from './moderation/rules.js';
export { parseRules, loadRulesFile, RulesFileError } from './moderation/rules-file.js';
export { reconcile, assess, type ReconcileDeps, type ReconcileReport } from './reconcile.js';
