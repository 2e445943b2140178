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
  /**
   * The head this writer last wrote, per chain: the next batch of a chain links after it
   * without reading the head record. A head cached while another writer appended (a
   * rebalance, and back) is behind; linking after it meets the unique (chain, chainSeq) index,
   * and the retry below links after the real tail. Bounded (oldest chains forgotten first).
   */
  private readonly heads = new Map<string, ChainHead>();

  constructor(
    private readonly audit: AuditRepository,
    private readonly attempts = 3,
    private readonly maxCachedHeads = 100_000,
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
    const unknown = [...chains].filter((c) => !this.heads.has(c));
    const read = unknown.length > 0 ? await this.audit.chainHeads(unknown) : new Map<string, ChainHead>();
    // Chains with a head record (read now, or written by this writer): the others get one created.
    const recorded = new Set([...chains].filter((c) => this.heads.has(c) || read.has(c)));
    const heads = new Map<string, ChainHead>();
    for (const c of chains) {
      const h = this.heads.get(c) ?? read.get(c);
      if (h) heads.set(c, h);
    }
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
        try {
          if (pending) this.remember(chain, await this.appendChain(chain, head, pending, recorded.has(chain)));
          else if (repaired.has(chain)) {
            await this.audit.setChainHead(chain, head, { exists: recorded.has(chain) });
            this.remember(chain, head);
          }
        } catch (e) {
          this.heads.delete(chain); // unknown outcome: read the head record next time
          throw e;
        }
      }),
    );
    return { appended: fresh.length, duplicates: entries.length - fresh.length };
  }

  private remember(chain: string, head: ChainHead): void {
    this.heads.delete(chain); // re-inserted: the most recently written chains stay longest
    this.heads.set(chain, head);
    if (this.heads.size > this.maxCachedHeads) {
      const oldest = this.heads.keys().next();
      if (!oldest.done) this.heads.delete(oldest.value);
    }
  }

  /** Links the entries after `start` and moves the head; returns the chain's new head. */
  private async appendChain(chain: string, start: ChainHead, entries: AuditDoc[], recorded: boolean): Promise<ChainHead> {
    let head = start;
    let pending = entries;
    for (let attempt = 1; ; attempt++) {
      const { linked, head: next } = linkEntries(head, pending.map(auditHashFields));
      try {
        await this.audit.insertChained(linked.map((l, i) => ({ ...pending[i]!, chain, chainSeq: l.chainSeq, prevHash: l.prevHash, hash: l.hash })));
        await this.audit.setChainHead(chain, next, { exists: recorded });
        return next;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError) || attempt >= this.attempts) throw e;
        // Someone else appended to this chain (or a head was left behind): link after the real tail.
        const done = new Set((await this.audit.entriesByIds(pending.map((p) => p._id))).map((s) => s._id));
        pending = pending.filter((p) => !done.has(p._id));
        const tail = await this.audit.chainTail(chain);
        head = tail?.chainSeq !== undefined && tail.hash !== undefined ? { seq: tail.chainSeq, hash: tail.hash } : EMPTY_HEAD;
        recorded = true; // someone wrote this chain: its head record may exist now
        if (pending.length === 0) {
          await this.audit.setChainHead(chain, head);
          return head;
        }
      }
    }
  }
}

