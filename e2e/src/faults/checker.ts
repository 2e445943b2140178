/**
 * Independent of the services' code: reads MongoDB with the plain driver and the clients'
 * own records, and says whether anything was lost, doubled or left behind.
 */
import { MongoClient } from 'mongodb';
import type { Ack, SubscriberRecord } from './load.js';

export interface Verdict {
  acknowledged: number;
  stored: number;
  /** Messages delivered to subscribers / messages they should have received. */
  delivered: number;
  expectedDeliveries: number;
  audited: number;
  duplicates: number;
  gaps: number;
  lostAcked: number;
  pendingOutbox: number;
  /** Stored messages whose `message.posted` event the audit log lacks (see locate.ts for where they are). */
  missingFromAudit: string[];
  problems: string[];
}

export async function check(mongoUrl: string, db: string, rooms: string[], acks: Ack[], subs: SubscriberRecord[]): Promise<Verdict> {
  const client = await MongoClient.connect(mongoUrl);
  try {
    const d = client.db(db);
    const problems: string[] = [];
    const stored = await d
      .collection<{ _id: string; room: string; seq: number; authorId: string; clientMsgId: string }>('messages')
      .find({ room: { $in: rooms } }, { projection: { room: 1, seq: 1, authorId: 1, clientMsgId: 1 } })
      .toArray();
    let duplicates = 0;
    let gaps = 0;
    const lastSeq = new Map<string, number>();
    for (const room of rooms) {
      const seqs = stored.filter((m) => m.room === room).map((m) => m.seq);
      const unique = new Set(seqs);
      const max = Math.max(0, ...seqs);
      lastSeq.set(room, max);
      if (seqs.length > unique.size) {
        duplicates += seqs.length - unique.size;
        problems.push(`${room}: ${seqs.length - unique.size} seqs stored twice`);
      }
      if (max > unique.size) {
        gaps += max - unique.size;
        problems.push(`${room}: ${max - unique.size} seqs missing below ${max}`);
      }
    }
    const byClientId = new Map<string, number>();
    for (const m of stored) {
      const k = `${m.authorId}/${m.clientMsgId}`;
      byClientId.set(k, (byClientId.get(k) ?? 0) + 1);
    }
    const doubledSends = [...byClientId.values()].filter((n) => n > 1).length;
    if (doubledSends > 0) problems.push(`${doubledSends} clientMsgIds stored more than once`);
    duplicates += doubledSends;

    const ids = new Set(stored.map((m) => m._id));
    const lost = acks.filter((a) => !ids.has(a.id));
    for (const a of lost.slice(0, 5)) problems.push(`acknowledged message ${a.id} (${a.room} #${a.seq}) is not stored`);

    let delivered = 0;
    let expectedDeliveries = 0;
    for (const s of subs) {
      const want = lastSeq.get(s.room) ?? 0;
      expectedDeliveries += want;
      const exact = s.seqs.length === want && s.seqs.every((seq, i) => seq === i + 1);
      delivered += exact ? want : new Set(s.seqs).size;
      if (!exact) problems.push(`subscriber of ${s.room}: got ${s.seqs.length} of ${want} (${s.violations.slice(0, 3).join('; ')})`);
      for (const v of s.violations) problems.push(`subscriber of ${s.room}: ${v}`);
    }

    const audit = await d
      .collection<{ _id: string; type: string; data: { message?: { id: string } } }>('audit_log')
      .find({ type: 'message.posted', room: { $in: rooms } }, { projection: { data: 1 } })
      .toArray();
    const auditCount = new Map<string, number>();
    for (const e of audit) {
      const id = e.data.message?.id;
      if (id) auditCount.set(id, (auditCount.get(id) ?? 0) + 1);
    }
    const missingFromAudit = [...ids].filter((id) => !auditCount.has(id));
    const auditedOnce = [...ids].filter((id) => auditCount.get(id) === 1).length;
    const auditDup = [...auditCount.values()].filter((n) => n > 1).length;
    if (auditDup > 0) problems.push(`${auditDup} messages audited more than once`);
    if (auditedOnce < ids.size) problems.push(`${ids.size - auditedOnce} stored messages missing from the audit log`);

    let pendingOutbox = 0;
    for (const c of ['users', 'rooms', 'memberships', 'messages', 'moderation_actions', 'reactions']) pendingOutbox += await d.collection(c).countDocuments({ outboxPending: true });
    // Posted events still pending by their outbox marks (see MessageRepository.insert).
    pendingOutbox += await d.collection('outbox_marks').countDocuments();
    if (pendingOutbox > 0) problems.push(`${pendingOutbox} documents still pending in the outbox`);

    return {
      acknowledged: acks.length,
      stored: stored.length,
      delivered,
      expectedDeliveries,
      audited: auditedOnce,
      duplicates: duplicates + auditDup,
      gaps,
      lostAcked: lost.length,
      pendingOutbox,
      missingFromAudit,
      problems,
    };
  } finally {
    await client.close();
  }
}
