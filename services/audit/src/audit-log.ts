import { EMPTY_HEAD, linkEntries, type ChainHead } from '@conversa/contracts';
import { DuplicateKeyError, auditHashFields, type AuditDoc, type AuditRepository } from '@conversa/store';

/**
 * Appends audit entries to their hash chains.
 *
 * One chain per event key: the room id for room and message events, the user id for user
 * events (the Kafka record key). Why per key and not per partition: a room's chain stays the
 * same when partitions are added or consumers rebalance (partition numbers are an artifact of
 * deployment), and one room's history can be exported and verified on its own.
 *
 * No transactions (FerretDB has none), so appends to a chain must be serialized by their
 * writer. Kafka gives that: events are keyed by the same key, so one chain's events all land on
 * one partition, and one consumer of the group owns a partition at a time, handling one batch
 * after another. Within a batch, chains are appended to concurrently but each chain in order.
 *
 * Crash safety: entries go in first (ordered), then the chain's head record moves. A crash in
 * between leaves the head behind; the batch was not committed, so it comes again, and its
 * already stored entries tell where the chain really ends (repair below). A second writer (a
 * consumer that lost the partition mid-batch) meets the unique (chain, chainSeq) index instead
 * of forking the chain, reloads the tail and links after it.
 */
export class AuditLogWriter {
  constructor(
    private readonly audit: AuditRepository,
    private readonly attempts = 3,
  ) {}

  /** Appends entries (in offset order) once each; returns how many were new and how many were already in the log. */
  async append(entries: readonly AuditDoc[]): Promise<{ appended: number; duplicates: number }> {
    if (entries.length === 0) return { appended: 0, duplicates: 0 };
    const unique = new Map<string, AuditDoc>();
    for (const e of entries) if (!unique.has(e._id)) unique.set(e._id, e);
    const stored = await this.audit.entriesByIds([...unique.keys()]);
    const storedIds = new Set(stored.map((s) => s._id));
    const fresh = [...unique.values()].filter((e) => !storedIds.has(e._id));

    const byChain = new Map<string, AuditDoc[]>();
    for (const e of fresh) {
      const chain = e.chain ?? e.key;
      byChain.set(chain, [...(byChain.get(chain) ?? []), { ...e, chain }]);
    }
    const chains = new Set([...byChain.keys(), ...stored.flatMap((s) => (s.chain ? [s.chain] : []))]);
    const heads = await this.audit.chainHeads([...chains]);
    // Entries of this batch already stored beyond a chain's head: a crash hit after they went
    // in and before the head moved. The chain really ends at the highest of them.
    const repaired = new Set<string>();
    for (const s of stored) {
      if (!s.chain || s.chainSeq === undefined || s.hash === undefined) continue;
      if (s.chainSeq > (heads.get(s.chain)?.seq ?? 0)) {
        heads.set(s.chain, { seq: s.chainSeq, hash: s.hash });
        repaired.add(s.chain);
      }
    }
    await Promise.all(
      [...chains].map(async (chain) => {
        const head = heads.get(chain) ?? EMPTY_HEAD;
        const pending = byChain.get(chain);
        if (pending) await this.appendChain(chain, head, pending);
        else if (repaired.has(chain)) await this.audit.setChainHead(chain, head);
      }),
    );
    return { appended: fresh.length, duplicates: entries.length - fresh.length };
  }

  private async appendChain(chain: string, start: ChainHead, entries: AuditDoc[]): Promise<void> {
    let head = start;
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const { linked, head: next } = linkEntries(head, pending.map(auditHashFields));
      try {
        await this.audit.insertChained(linked.map((l, i) => ({ ...pending[i]!, chain, chainSeq: l.chainSeq, prevHash: l.prevHash, hash: l.hash })));
        await this.audit.setChainHead(chain, next);
        return;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError) || attempt >= this.attempts) throw e;
        // Someone else appended to this chain (or a head was left behind): link after the real tail.
        const done = new Set((await this.audit.entriesByIds(pending.map((p) => p._id))).map((s) => s._id));
        pending = pending.filter((p) => !done.has(p._id));
        const tail = await this.audit.chainTail(chain);
        head = tail?.chainSeq !== undefined && tail.hash !== undefined ? { seq: tail.chainSeq, hash: tail.hash } : EMPTY_HEAD;
        if (pending.length === 0) {
          await this.audit.setChainHead(chain, head);
          return;
        }
      }
    }
  }
}

