import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain: the format every verifier (the CLI, an outside team) must
 * reproduce, which is why it lives with the contracts.
 *
 * One chain per event key (the Kafka record key: the room id for room and message events, the
 * user id for user events). Each entry stores `chain`, `chainSeq` (1, 2, 3, … within the chain),
 * `prevHash` (the previous entry's `hash`, {@link GENESIS_HASH} for the first) and
 * `hash = sha256(canonicalJson({ ...entry fields, prevHash }))` in lower-case hex.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit entry that its hash covers (everything stored but the hash itself). */
export interface HashedAuditFields {
  /** The domain event's id. */
  id: string;
  type: string;
  version: number;
  room: string | null;
  actor: string | null;
  key: string;
  /** ISO-8601: when the event occurred. */
  at: string;
  data: unknown;
  /** ISO-8601: when the audit log stored it. */
  recordedAt: string;
  chain: string;
  chainSeq: number;
}

/**
 * JSON with object keys sorted at every depth and no whitespace, so the same value always
 * gives the same bytes (the hash input). `undefined` members are left out, as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonicalJson: non-finite number');
    return JSON.stringify(value) ?? 'null';
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The hash of one entry given the previous entry's hash. */
export function auditEntryHash(fields: HashedAuditFields, prevHash: string): string {
  const canonical = canonicalJson({
    id: fields.id,
    type: fields.type,
    version: fields.version,
    room: fields.room,
    actor: fields.actor,
    key: fields.key,
    at: fields.at,
    data: fields.data,
    recordedAt: fields.recordedAt,
    chain: fields.chain,
    chainSeq: fields.chainSeq,
    prevHash,
  });
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** The newest entry of a chain, as far as a writer or a verifier knows it. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** Links entries after `head`, in order: assigns `chainSeq`, `prevHash` and `hash`. Pure. */
export function linkEntries<T extends Omit<HashedAuditFields, 'chainSeq'>>(
  head: ChainHead,
  entries: readonly T[],
): { linked: (T & { chainSeq: number; prevHash: string; hash: string })[]; head: ChainHead } {
  let { seq, hash } = head;
  const linked = entries.map((e) => {
    const chainSeq = seq + 1;
    const prevHash = hash;
    const h = auditEntryHash({ ...e, chainSeq }, prevHash);
    seq = chainSeq;
    hash = h;
    return { ...e, chainSeq, prevHash, hash: h };
  });
  return { linked, head: { seq, hash } };
}

/** A stored entry as a verifier reads it. */
export interface StoredChainEntry extends HashedAuditFields {
  prevHash: string;
  hash: string;
}

/** Where and why a chain does not verify. */
export interface ChainBreak {
  chain: string;
  /** The chainSeq at which the break shows (the expected one when an entry is missing). */
  seq: number;
  /** The event id of the entry at fault, or null when the fault is a missing entry. */
  eventId: string | null;
  problem: string;
}

/**
 * Verifies entries fed chain after chain, each chain in chainSeq order: dense seqs from 1, each
 * `prevHash` equal to the previous `hash`, each `hash` recomputed, and, when the chains' head
 * records are given, the entry at each head's seq carrying the head's hash and no head beyond
 * the last entry (entries cut off the end). Reports the first break.
 */
export class ChainVerifier {
  private chain: string | undefined;
  private tail: ChainHead = EMPTY_HEAD;
  private readonly seen = new Set<string>();
  entries = 0;
  chains = 0;

  /** @param heads the stored head record of each chain, when the writer keeps them. */
  constructor(private readonly heads: ReadonlyMap<string, ChainHead> = new Map()) {}

  /** Feeds the next entry; returns the break it shows, if any. */
  push(e: StoredChainEntry): ChainBreak | undefined {
    if (e.chain !== this.chain) {
      // Grouped by chain is what matters (a database's string order may differ from JavaScript's).
      if (this.seen.has(e.chain)) throw new Error(`ChainVerifier: entries must come grouped by chain (${e.chain} came twice)`);
      const ended = this.endChain();
      if (ended) return ended;
      this.seen.add(e.chain);
      this.chain = e.chain;
      this.tail = EMPTY_HEAD;
      this.chains++;
    }
    this.entries++;
    const at = (problem: string, eventId: string | null = e.id, seq = e.chainSeq): ChainBreak => ({
      chain: e.chain,
      seq,
      eventId,
      problem,
    });
    if (e.chainSeq === this.tail.seq) return at(`two entries with chainSeq ${e.chainSeq}`);
    if (e.chainSeq !== this.tail.seq + 1) {
      return at(`entry ${this.tail.seq + 1} is missing (the next stored one is ${e.chainSeq})`, null, this.tail.seq + 1);
    }
    if (e.prevHash !== this.tail.hash) return at("prevHash does not match the previous entry's hash");
    if (auditEntryHash(e, e.prevHash) !== e.hash) return at("hash does not match the entry's content (altered)");
    const head = this.heads.get(e.chain);
    if (head && head.seq === e.chainSeq && head.hash !== e.hash) return at("hash differs from the chain's head record");
    this.tail = { seq: e.chainSeq, hash: e.hash };
    return undefined;
  }

  /** Call after the last entry: checks the last chain's end and chains that have a head but no entry. */
  finish(): ChainBreak | undefined {
    const ended = this.endChain();
    if (ended) return ended;
    this.chain = undefined;
    for (const [chain, head] of [...this.heads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!this.seen.has(chain) && head.seq > 0) {
        return { chain, seq: 1, eventId: null, problem: `the head record says ${head.seq} entries, none is stored` };
      }
    }
    return undefined;
  }

  private endChain(): ChainBreak | undefined {
    if (this.chain === undefined) return undefined;
    const head = this.heads.get(this.chain);
    // A tail beyond the head is an append in progress (or one interrupted before it moved the
    // head): not a break. A head beyond the tail means entries were cut off the end.
    if (head && head.seq > this.tail.seq) {
      return {
        chain: this.chain,
        seq: this.tail.seq + 1,
        eventId: null,
        problem: `entries ${this.tail.seq + 1}..${head.seq} are missing at the end (the head record says ${head.seq})`,
      };
    }
    return undefined;
  }
}
