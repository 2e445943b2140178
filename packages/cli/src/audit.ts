import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import {
  ChainVerifier,
  DomainEvent,
  eventRoom,
  formatZodError,
  names,
  type ChainBreak,
} from '@conversa/contracts';
import type { Config } from '@conversa/config';
import { KafkaAdapter, decodeJsonRecord, type IncomingRecord } from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { openStore, toStoredChainEntry, type AuditDoc, type AuditRepository, type Store } from '@conversa/store';

/** `conversa audit …`: verify the hash chains, follow events live, export a time range. */

export interface VerifyReport {
  ok: boolean;
  entries: number;
  chains: number;
  /** Entries written before the log was chained (not covered by any chain). */
  unchained: number;
  broken?: ChainBreak;
}

/**
 * Recomputes every chain of the audit log (entries streamed in (chain, chainSeq) order) and
 * checks the chains' head records; stops at the first broken link.
 */
export async function verifyAuditLog(audit: AuditRepository): Promise<VerifyReport> {
  const verifier = new ChainVerifier(await audit.allChainHeads());
  const unchained = await audit.countUnchained();
  for await (const doc of audit.chainedCursor()) {
    const entry = toStoredChainEntry(doc);
    // A chained entry with a field removed no longer verifies: name it.
    const broken: ChainBreak | undefined = entry
      ? verifier.push(entry)
      : { chain: doc.chain ?? doc.key, seq: doc.chainSeq ?? 0, eventId: doc._id, problem: 'its chain fields were removed' };
    if (broken) return { ok: false, entries: verifier.entries, chains: verifier.chains, unchained, broken };
  }
  const broken = verifier.finish();
  return { ok: !broken, entries: verifier.entries, chains: verifier.chains, unchained, ...(broken ? { broken } : {}) };
}

/** The report as people read it. */
export function formatVerifyReport(r: VerifyReport): string {
  if (r.broken) {
    const b = r.broken;
    return `audit log BROKEN: chain ${b.chain}, seq ${b.seq}, event ${b.eventId ?? '(missing)'}: ${b.problem}`;
  }
  const legacy = r.unchained > 0 ? `; ${r.unchained} older entries predate the chains and are not covered` : '';
  return `audit log verified: ${r.entries} entries in ${r.chains} chains, every link intact${legacy}`;
}

/** One line per event for `audit tail`: time, type, room, actor, id, and what happened. */
export function formatEventLine(e: DomainEvent): string {
  const room = eventRoom(e) ?? '-';
  let what = '';
  switch (e.type) {
    case 'message.posted':
    case 'message.edited':
      what = `#${e.data.message.seq} ${JSON.stringify(e.data.message.body.length > 80 ? `${e.data.message.body.slice(0, 79)}…` : e.data.message.body)}`;
      break;
    case 'message.deleted':
    case 'message.hidden':
    case 'message.unhidden':
      what = `#${e.data.message.seq} ${e.data.message.id}`;
      break;
    case 'message.pinned':
    case 'message.unpinned':
      what = `#${e.data.message.seq} ${e.data.message.id} by=${e.data.by}`;
      break;
    case 'moderation.action': {
      const a = e.data.action;
      what = `${a.kind} ${a.target}${a.until ? ` until ${a.until}` : ''} rule=${a.rule ?? '-'} by=${a.by ?? '-'}: ${a.reason}`;
      break;
    }
    case 'user.registered':
    case 'user.renamed':
      what = `${e.data.user.username} (${e.data.user.displayName})`;
      break;
    case 'room.created':
      what = `${e.data.kind} ${JSON.stringify(e.data.name)}`;
      break;
    case 'room.joined':
    case 'room.left':
      what = e.data.user;
      break;
    case 'room.slowModeSet':
      what = `slow mode ${e.data.previousSeconds} s → ${e.data.seconds} s`;
      break;
    case 'room.member_added':
      what = `${e.data.user} as ${e.data.role}`;
      break;
    case 'room.member_removed':
      what = e.data.user;
      break;
    case 'room.renamed':
      what = `${JSON.stringify(e.data.previousName)} → ${JSON.stringify(e.data.name)}`;
      break;
    case 'room.role_changed':
      what = `${e.data.user} ${e.data.previousRole} → ${e.data.role}`;
      break;
    case 'message.reacted':
    case 'message.unreacted':
      what = `${e.data.message} ${e.data.emoji} ${e.data.user}`;
      break;
  }
  return `${e.occurredAt} ${e.type.padEnd(17)} room=${room} actor=${e.actor ?? '-'} id=${e.id} ${what}`.trimEnd();
}

function decodeEvent(r: IncomingRecord) {
  return decodeJsonRecord(r, (json) => {
    const p = DomainEvent.safeParse(json);
    return p.success ? { ok: true as const, value: p.data } : { ok: false as const, reason: formatZodError(p.error) };
  });
}

/**
 * Follows the events topic live in a throwaway consumer group (deleted when it stops), one
 * line per event on `out`; resolves when `signal` aborts.
 */
export async function tailEvents(
  config: Config,
  opts: { room?: string | undefined; fromBeginning?: boolean | undefined },
  out: Writable,
  err: Writable,
  signal: AbortSignal,
): Promise<void> {
  const n = names(config.CONVERSA_NAMESPACE);
  const kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: 'conversa-cli', logger: createLogger('cli', 'error') });
  try {
    const follower = await kafka.follow(
      { topics: [n.eventsTopic], groupPrefix: `${n.auditGroup}-tail`, fromBeginning: opts.fromBeginning ?? false },
      (r) => {
        const d = decodeEvent(r);
        if (!d.ok) {
          err.write(`? ${r.topic}/${r.partition}/${r.offset}: not a domain event: ${d.reason}\n`);
          return;
        }
        if (opts.room !== undefined && eventRoom(d.value) !== opts.room) return;
        out.write(`${formatEventLine(d.value)}\n`);
      },
    );
    err.write(`following ${n.eventsTopic}${opts.room ? ` (room ${opts.room})` : ''}; Ctrl-C stops\n`);
    if (!signal.aborted) await once(signal, 'abort');
    await follower.stop();
  } finally {
    await kafka.close();
  }
}

/** An audit entry as an export line: every stored field, times in ISO-8601. */
export function exportLine(d: AuditDoc): string {
  return JSON.stringify({
    id: d._id,
    type: d.type,
    version: d.version,
    room: d.room,
    actor: d.actor,
    key: d.key,
    at: d.at.toISOString(),
    recordedAt: d.recordedAt.toISOString(),
    data: d.data,
    ...(d.chain !== undefined ? { chain: d.chain, chainSeq: d.chainSeq, prevHash: d.prevHash, hash: d.hash } : {}),
  });
}

/** Writes the entries with since ≤ at < until (either open), oldest first, as NDJSON; returns how many. */
export async function exportAudit(
  audit: Pick<AuditRepository, 'page'>,
  range: { since?: Date | undefined; until?: Date | undefined; room?: string | undefined },
  out: Writable,
): Promise<number> {
  let after: { at: Date; id: string } | undefined;
  let count = 0;
  for (;;) {
    const page = await audit.page({
      limit: 1_000,
      ...(range.since ? { since: range.since } : {}),
      ...(range.until ? { until: range.until } : {}),
      ...(range.room ? { room: range.room } : {}),
      ...(after ? { after } : {}),
    });
    for (const d of page) {
      if (!out.write(`${exportLine(d)}\n`)) await once(out, 'drain');
      count++;
    }
    const last = page.at(-1);
    if (!last || page.length < 1_000) return count;
    after = { at: last.at, id: last._id };
  }
}

/** Opens the export target: a file, or stdout. */
export function exportTarget(file: string | undefined): { out: Writable; done: () => Promise<void> } {
  if (!file) return { out: process.stdout, done: () => Promise.resolve() };
  const out = createWriteStream(file, { encoding: 'utf8' });
  return {
    out,
    done: () =>
      new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      }),
  };
}

export function parseTime(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`${flag}: not an ISO-8601 time: ${JSON.stringify(value)}`);
  return d;
}

export async function withStore<T>(config: Config, task: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  try {
    return await task(store);
  } finally {
    await store.close();
  }
}
